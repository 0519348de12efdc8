/**
 * TURN (issue 13, item 1): coturn with deploy/coturn/turnserver.conf and the TURN REST
 * API; the authority mints the credentials with the SIP credentials; Chromium relays
 * through coturn with them, and with nothing else.
 *
 * Two RTCPeerConnections in one Chromium page stand for the agent and the customer
 * behind NATs: with iceTransportPolicy "relay" their only candidates are coturn's relay
 * addresses, so a connection proves the credentials were accepted and media can flow
 * through the TURN server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { IceSettings } from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { launchChromium } from '../support/browser.ts';
import { startCoturn, type RunningCoturn } from '../support/coturn.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

interface RelayOutcome {
  state: string;
  relayCandidates: number;
  otherCandidates: number;
  candidateErrors: { errorCode: number; errorText: string }[];
  selectedLocalType: string | null;
  selectedRemoteType: string | null;
  echoed: string | null;
}

/** Connect two peer connections with `ice` in the page; report what ICE did. */
function relayConnect(page: Page, ice: IceSettings, timeoutMs = 8000): Promise<RelayOutcome> {
  return page.evaluate(
    async ({ ice, timeoutMs }) => {
      const cfg: RTCConfiguration = { iceServers: ice.servers, iceTransportPolicy: ice.transportPolicy };
      const a = new RTCPeerConnection(cfg);
      const b = new RTCPeerConnection(cfg);
      const out = {
        state: 'new',
        relayCandidates: 0,
        otherCandidates: 0,
        candidateErrors: [] as { errorCode: number; errorText: string }[],
        selectedLocalType: null as string | null,
        selectedRemoteType: null as string | null,
        echoed: null as string | null,
      };
      for (const [pc, other] of [
        [a, b],
        [b, a],
      ] as const) {
        pc.onicecandidate = (e) => {
          if (!e.candidate) return;
          if (e.candidate.type === 'relay') out.relayCandidates++;
          else out.otherCandidates++;
          other.addIceCandidate(e.candidate).catch(() => undefined);
        };
        pc.onicecandidateerror = (e) =>
          out.candidateErrors.push({
            errorCode: (e as RTCPeerConnectionIceErrorEvent).errorCode,
            errorText: (e as RTCPeerConnectionIceErrorEvent).errorText,
          });
      }
      const dc = a.createDataChannel('probe');
      const received = new Promise<string>((resolve) => {
        b.ondatachannel = (e) => (e.channel.onmessage = (m) => resolve(String(m.data)));
      });
      await a.setLocalDescription();
      await b.setRemoteDescription(a.localDescription!);
      await b.setLocalDescription();
      await a.setRemoteDescription(b.localDescription!);
      out.state = await new Promise<string>((resolve) => {
        const t = setTimeout(() => resolve(a.connectionState), timeoutMs);
        a.onconnectionstatechange = () => {
          if (a.connectionState === 'connected' || a.connectionState === 'failed') {
            clearTimeout(t);
            resolve(a.connectionState);
          }
        };
      });
      if (out.state === 'connected') {
        if (dc.readyState !== 'open') await new Promise((r) => (dc.onopen = r));
        dc.send('hello through TURN');
        out.echoed = await Promise.race([
          received,
          new Promise<null>((r) => setTimeout(() => r(null), 3000)),
        ]);
        const stats = await a.getStats();
        let pairId: string | undefined;
        stats.forEach((s) => {
          if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        });
        const pair = pairId ? stats.get(pairId) : undefined;
        if (pair) {
          out.selectedLocalType = stats.get(pair.localCandidateId)?.candidateType ?? null;
          out.selectedRemoteType = stats.get(pair.remoteCandidateId)?.candidateType ?? null;
        }
      }
      a.close();
      b.close();
      return out;
    },
    { ice, timeoutMs },
  );
}

describe('TURN: coturn with the TURN REST API, credentials from the authority', () => {
  let turn: RunningCoturn;
  let a: TestAuthority;
  let browser: Browser;
  let page: Page;
  let agentIce: IceSettings;
  let agentStaffId: string;

  before(async () => {
    turn = await startCoturn({ allowLoopbackPeers: true });
    a = await startTestAuthority({
      turnUrls: [turn.turnUrl],
      turnSecret: turn.secret,
      iceTransportPolicy: 'relay',
    });
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    agentStaffId = agent.staffId;
    const creds = await api(a.url, 'sipCredentials', { headers: bearer(agent.token) });
    assert.equal(creds.status, 200);
    agentIce = creds.body.ice;
    browser = await launchChromium();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await a?.dispose();
    await turn?.stop();
  });

  it('an agent gets short-lived TURN credentials for its own SIP user, and the relay policy', () => {
    assert.equal(agentIce.transportPolicy, 'relay');
    assert.equal(agentIce.servers.length, 1);
    const s = agentIce.servers[0]!;
    assert.deepEqual(s.urls, [turn.turnUrl]);
    const [expiry, user] = s.username!.split(':');
    assert.equal(user, `a-${agentStaffId}`);
    // 12 h by default: longer than a call, since coturn checks it at every allocation refresh.
    const lifetime = Number(expiry) * 1000 - Date.now();
    assert.ok(lifetime > 11.9 * 3600_000 && lifetime <= 12 * 3600_000, `lifetime ${lifetime} ms`);
    assert.equal(Date.parse(agentIce.expiresAt!), Number(expiry) * 1000);
    assert.notEqual(s.credential, undefined);
  });

  it('two peers that may only relay connect through coturn with those credentials, and data flows', async () => {
    const r = await relayConnect(page, agentIce);
    assert.equal(r.state, 'connected', JSON.stringify(r));
    assert.ok(r.relayCandidates >= 2, JSON.stringify(r));
    assert.equal(r.otherCandidates, 0, 'the relay policy leaves no host or server-reflexive candidate');
    assert.equal(r.selectedLocalType, 'relay');
    assert.equal(r.selectedRemoteType, 'relay');
    assert.equal(r.echoed, 'hello through TURN');
  });

  it('an authenticated device gets TURN credentials for its own SIP user', async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    const ice: IceSettings = (await d.api('sipCredentials')).body.ice;
    assert.equal(ice.servers[0]!.username!.split(':')[1], `d-${d.deviceId}`);
    const r = await relayConnect(page, ice);
    assert.equal(r.state, 'connected', JSON.stringify(r));
  });

  it('a tampered credential allocates nothing: coturn answers 401 and no relay candidate appears', async () => {
    const s = agentIce.servers[0]!;
    const tampered: IceSettings = {
      ...agentIce,
      servers: [{ ...s, credential: Buffer.from('not the HMAC of this username').toString('base64') }],
    };
    const r = await relayConnect(page, tampered, 4000);
    assert.notEqual(r.state, 'connected');
    assert.equal(r.relayCandidates, 0);
    assert.ok(
      r.candidateErrors.some((e) => e.errorCode === 401),
      `expected a 401 from the TURN server: ${JSON.stringify(r.candidateErrors)}`,
    );
  });

  it('a credential minted for another user cannot be reused with a changed username', async () => {
    const s = agentIce.servers[0]!;
    const [expiry] = s.username!.split(':');
    const r = await relayConnect(
      page,
      { ...agentIce, servers: [{ ...s, username: `${expiry}:a-someone-else` }] },
      4000,
    );
    assert.equal(r.relayCandidates, 0);
    assert.ok(
      r.candidateErrors.some((e) => e.errorCode === 401),
      JSON.stringify(r.candidateErrors),
    );
  });

  it('an expired credential is refused (401) by coturn', async () => {
    // An authority whose clock is 13 h behind mints credentials that expired an hour ago.
    const past = new FakeClock(Date.now() - 13 * 3600_000);
    const old = await startTestAuthority(
      { turnUrls: [turn.turnUrl], turnSecret: turn.secret, iceTransportPolicy: 'relay' },
      { clock: past },
    );
    try {
      const agent = await staffLogin(old.url, 'agent1', 'demo-agent-1');
      const ice: IceSettings = (await api(old.url, 'sipCredentials', { headers: bearer(agent.token) })).body
        .ice;
      assert.ok(Date.parse(ice.expiresAt!) < Date.now());
      const r = await relayConnect(page, ice, 4000);
      assert.equal(r.relayCandidates, 0);
      assert.ok(
        r.candidateErrors.some((e) => e.errorCode === 401),
        JSON.stringify(r.candidateErrors),
      );
    } finally {
      await old.dispose();
    }
  });

  it('without TURN configured, the credentials carry no ICE servers and the policy "all" (peer to peer)', async () => {
    const plain = await startTestAuthority();
    try {
      const agent = await staffLogin(plain.url, 'agent1', 'demo-agent-1');
      const ice: IceSettings = (await api(plain.url, 'sipCredentials', { headers: bearer(agent.token) })).body
        .ice;
      assert.deepEqual(ice, { servers: [], transportPolicy: 'all', expiresAt: null });
    } finally {
      await plain.dispose();
    }
  });
});

describe('TURN: the shipped configuration refuses to relay to this host and private networks', () => {
  let turn: RunningCoturn;
  let a: TestAuthority;
  let browser: Browser;

  before(async () => {
    // deploy/coturn/turnserver.conf as shipped: 127.0.0.0/8 is a denied peer range.
    turn = await startCoturn();
    a = await startTestAuthority({
      turnUrls: [turn.turnUrl],
      turnSecret: turn.secret,
      iceTransportPolicy: 'relay',
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await a?.dispose();
    await turn?.stop();
  });

  it('allocations succeed, but no permission to a loopback peer: the relayed connection never forms', async () => {
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const ice: IceSettings = (await api(a.url, 'sipCredentials', { headers: bearer(agent.token) })).body.ice;
    const page = await browser.newPage();
    const r = await relayConnect(page, ice, 5000);
    assert.ok(r.relayCandidates >= 2, 'the credentials work: relay addresses were allocated');
    // The same peers connect when the test allows loopback peers (the suite above): what
    // differs is the shipped denied-peer-ip ranges, under which coturn refuses the
    // CreatePermission for 127.0.0.1 (403 Forbidden IP).
    assert.notEqual(r.state, 'connected', 'a relay to 127.0.0.1 would let a client reach this host');
    assert.equal(r.echoed, null);
  });
});
