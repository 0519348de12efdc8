import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { Messager, Registerer, RegistererState, UserAgent, type Message } from 'sip.js';
import { ephemeralCredentials } from '../../authority/src/sip/credentials.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
import {
  checkKamailioConfig,
  RawSipClient,
  rawRegister,
  selfSignedCert,
  startKamailio,
  startKamailioPair,
  type RunningKamailio,
  type SipReply,
} from '../support/kamailio.ts';

/**
 * deploy/kamailio/kamailio.cfg against real clients: sip.js UserAgents (as the console
 * and the customer app use it) registering with credentials the authority issues,
 * MESSAGE proxied between them, wrong and expired credentials refused, WSS, and the
 * anti-flood promise (docs: RELIABILITY row 17) with raw SIP-over-WebSocket clients
 * bound to distinct loopback addresses.
 */

// sip.js's transport uses the browser WebSocket; Node 20 has none, ws is the same API.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const quiet = { logBuiltinEnabled: false, logLevel: 'error' as const };
const SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'kam.verified-desk.test';

interface Creds {
  username: string;
  password: string;
  user: string;
  aor: string;
  wsUrl: string;
  domain: string;
}

async function ua(creds: Creds, onMessage?: (m: Message) => void): Promise<UserAgent> {
  const userAgent = new UserAgent({
    ...quiet,
    uri: UserAgent.makeURI(creds.aor)!,
    authorizationUsername: creds.username,
    authorizationPassword: creds.password,
    transportOptions: { server: creds.wsUrl },
    delegate: onMessage ? { onMessage } : {},
  });
  await userAgent.start();
  return userAgent;
}

/** REGISTER; resolves with the final state and the refusal's status code, if any. */
function register(r: Registerer): Promise<{ state: RegistererState; status?: number; reason?: string }> {
  return new Promise((resolve) => {
    const onState = (s: RegistererState) => {
      if (s === RegistererState.Registered) {
        r.stateChange.removeListener(onState);
        resolve({ state: s });
      }
    };
    r.stateChange.addListener(onState);
    void r.register({
      requestDelegate: {
        onReject: (res) =>
          resolve({
            state: RegistererState.Unregistered,
            status: res.message.statusCode,
            reason: res.message.reasonPhrase,
          }),
      },
    });
  });
}

function unregister(r: Registerer): Promise<void> {
  if (r.state !== RegistererState.Registered) return Promise.resolve();
  return new Promise((resolve) => {
    const onState = (s: RegistererState) => {
      if (s === RegistererState.Unregistered || s === RegistererState.Terminated) {
        r.stateChange.removeListener(onState);
        resolve();
      }
    };
    r.stateChange.addListener(onState);
    r.unregister().catch(() => resolve());
  });
}

const aors = (k: RunningKamailio) => [...k.kamcmd('ul.dump').matchAll(/AoR: (\S+)/g)].map((m) => m[1]);

describe('Kamailio (deploy/kamailio/kamailio.cfg): the same job as the embedded edge', () => {
  let k: RunningKamailio;
  let a: TestAuthority;
  let agentCreds: Creds;
  let deviceCreds: Creds;
  let certDir: string;
  const agents: UserAgent[] = [];
  const registerers: Registerer[] = [];

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'vd-kamailio-cert-'));
    const tls = selfSignedCert(certDir);
    k = await startKamailio({ secret: SECRET, domain: DOMAIN, ...(tls ? { tls } : {}) });
    a = await startTestAuthority({ sipSecret: SECRET, sipDomain: DOMAIN, sipWsUrl: k.wsUrl });
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    agentCreds = (await api(a.url, 'sipCredentials', { headers: bearer(agent.token) })).body;
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    deviceCreds = (await d.api('sipCredentials')).body;
  });

  after(async () => {
    // Stale registrations outlive a closed socket: unregister first.
    for (const r of registerers) await unregister(r);
    for (const u of agents) await u.stop().catch(() => undefined);
    await a?.dispose();
    await k?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('the configuration passes `kamailio -c` (WS only, and WS + WSS with a certificate)', () => {
    const plain = checkKamailioConfig(['LISTEN_IP=127.0.0.1', 'WS_PORT=18080']);
    assert.ok(plain.ok, plain.output);
    assert.match(plain.output, /config file ok/);
    const tls = selfSignedCert(certDir);
    if (tls) {
      const withTls = checkKamailioConfig([
        'LISTEN_IP=127.0.0.1',
        'WS_PORT=18080',
        'WSS_PORT=18443',
        `TLS_CERT=${tls.cert}`,
        `TLS_KEY=${tls.key}`,
      ]);
      assert.ok(withTls.ok, withTls.output);
      assert.match(withTls.output, /tls: 127\.0\.0\.1.*18443/);
    }
  });

  it('the authority hands out Kamailio as the SIP server, with its domain', () => {
    assert.equal(agentCreds.wsUrl, k.wsUrl);
    assert.equal(deviceCreds.wsUrl, k.wsUrl);
    assert.equal(agentCreds.aor, `sip:${agentCreds.user}@${DOMAIN}`);
    assert.match(agentCreds.username, /^\d+:a-/);
  });

  it('registers sip.js clients with the authority-issued credentials (digest MD5, auth_ephemeral)', async () => {
    const agentUa = await ua(agentCreds);
    agents.push(agentUa);
    const r = new Registerer(agentUa, { expires: 300 });
    registerers.push(r);
    assert.deepEqual(await register(r), { state: RegistererState.Registered });
    assert.ok(aors(k).includes(agentCreds.user), k.kamcmd('ul.dump'));
  });

  it('refuses a wrong password and expired credentials (403), and registers neither', async () => {
    const wrongUa = await ua({ ...deviceCreds, password: 'not-the-password' });
    agents.push(wrongUa);
    const wrong = await register(new Registerer(wrongUa, { expires: 300 }));
    assert.equal(wrong.state, RegistererState.Unregistered);
    assert.equal(wrong.status, 403);

    const past = ephemeralCredentials(SECRET, deviceCreds.user, -10, Date.now());
    const expiredUa = await ua({ ...deviceCreds, username: past.username, password: past.password });
    agents.push(expiredUa);
    const expired = await register(new Registerer(expiredUa, { expires: 300 }));
    assert.equal(expired.state, RegistererState.Unregistered);
    assert.deepEqual([expired.status, expired.reason], [403, 'Forbidden (credentials expired)']);

    // Credentials of another user do not register this AOR.
    const raw = await RawSipClient.open(k.wsUrl);
    const other = await rawRegister(raw, {
      username: agentCreds.username,
      password: agentCreds.password,
      user: deviceCreds.user,
      domain: DOMAIN,
    });
    assert.equal(other.reply?.status, 403);
    await raw.close();
    assert.equal(aors(k).includes(deviceCreds.user), false);
  });

  it('proxies a MESSAGE from the agent to the registered device (407 challenge answered), 480 to nobody', async () => {
    let resolveMsg: (m: Message) => void;
    const got = new Promise<Message>((r) => (resolveMsg = r));
    const device = await ua(deviceCreds, (m) => {
      void m.accept();
      resolveMsg(m);
    });
    agents.push(device);
    const r = new Registerer(device, { expires: 300 });
    registerers.push(r);
    assert.equal((await register(r)).state, RegistererState.Registered);

    const accepted = new Promise<number>((resolve) => {
      void new Messager(agents[0]!, UserAgent.makeURI(deviceCreds.aor)!, 'hello through Kamailio').message({
        requestDelegate: {
          onAccept: (res) => resolve(res.message.statusCode ?? 0),
          onReject: (res) => resolve(res.message.statusCode ?? 0),
        },
      });
    });
    const m = await got;
    assert.equal(m.request.body, 'hello through Kamailio');
    assert.equal(m.request.from.uri.user, agentCreds.user);
    assert.equal(await accepted, 200);
    assert.equal(
      m.request.getHeader('proxy-authorization'),
      undefined,
      'credentials consumed, not forwarded',
    );

    const nobody = await new Promise<number>((resolve) => {
      void new Messager(agents[0]!, UserAgent.makeURI(`sip:d-nobody@${DOMAIN}`)!, 'anyone?').message({
        requestDelegate: {
          onAccept: (res) => resolve(res.message.statusCode ?? 0),
          onReject: (res) => resolve(res.message.statusCode ?? 0),
        },
      });
    });
    assert.equal(nobody, 480);
  });

  it('answers malformed requests with 400 (sanity) and OPTIONS keepalives with 200', async () => {
    const raw = await RawSipClient.open(k.wsUrl);
    const callId = randomBytes(6).toString('hex');
    const bad = raw
      .build('OPTIONS', `sip:${DOMAIN}`, { from: `sip:x@${DOMAIN}`, to: `sip:${DOMAIN}`, callId, cseq: 1 })
      .replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE');
    const r1 = await raw.request(bad, callId, '1 INVITE');
    assert.equal(r1?.status, 400, r1?.raw);
    const ok = raw.build('OPTIONS', `sip:${DOMAIN}`, {
      from: `sip:x@${DOMAIN}`,
      to: `sip:${DOMAIN}`,
      callId: `${callId}2`,
      cseq: 1,
    });
    assert.equal((await raw.request(ok, `${callId}2`, '1 OPTIONS'))?.status, 200);
    await raw.close();
  });

  it('registers over WSS (self-signed certificate on loopback)', async (t) => {
    if (!k.wssUrl) return t.skip('openssl missing: no certificate for WSS');
    const raw = await RawSipClient.open(k.wssUrl, { rejectUnauthorized: false });
    const creds = ephemeralCredentials(SECRET, 'a-wss-check', 300, Date.now());
    const r = await rawRegister(raw, { ...creds, user: 'a-wss-check', domain: DOMAIN });
    assert.equal(r.reply?.status, 200, r.reply?.raw);
    assert.ok(aors(k).includes('a-wss-check'));
    const un = await rawRegister(raw, { ...creds, user: 'a-wss-check', domain: DOMAIN }, 0);
    assert.equal(un.reply?.status, 200);
    assert.equal(aors(k).includes('a-wss-check'), false);
    await raw.close();
  });

  it('cuts a flooding source within 2 s (pike + htable) while normal clients keep >= 99% success', async () => {
    // Normal clients: each on its own loopback address, REGISTER refreshes with a
    // precomputed digest at 12.5/s (25 per 2 s unit, under the default density of 64).
    const NORMAL = 5;
    const PER_CLIENT = 50;
    const normals = await Promise.all(
      Array.from({ length: NORMAL }, async (_, i) => {
        const user = `a-normal-${i}`;
        const c = await RawSipClient.open(k.wsUrl, { localAddress: `127.0.0.${11 + i}` });
        const creds = { ...ephemeralCredentials(SECRET, user, 300, Date.now()), user, domain: DOMAIN };
        const first = await rawRegister(c, creds);
        assert.equal(first.reply?.status, 200, first.reply?.raw);
        return { c, creds, authorization: first.authorization!, callId: first.callId, ok: 0, failed: 0 };
      }),
    );
    const refresh = async (n: (typeof normals)[number]) => {
      const cseq = n.c.nextCseq();
      const aor = `sip:${n.creds.user}@${DOMAIN}`;
      const text = n.c.build('REGISTER', `sip:${DOMAIN}`, {
        from: aor,
        to: aor,
        callId: n.callId,
        cseq,
        extra: [
          `Contact: <sip:${n.creds.user}@${n.c.host};transport=ws>;expires=300`,
          `Authorization: ${n.authorization}`,
        ],
      });
      const r = await n.c.request(text, n.callId, `${cseq} REGISTER`, 3000);
      if (r?.status === 200) n.ok++;
      else n.failed++;
    };

    // The flooder: unauthenticated OPTIONS from 127.0.0.2, 40 every 10 ms (4000/s), at most 4 s.
    const flooder = await RawSipClient.open(k.wsUrl, { localAddress: '127.0.0.2' });
    const answered: SipReply[] = [];
    flooder.ws.on('message', (d) => {
      if (String(d).startsWith('SIP/2.0 ')) answered.push({ at: performance.now() } as SipReply);
    });
    const floodStart = performance.now();
    let floodSent = 0;
    let closedAt: number | null = null;
    flooder.ws.once('close', () => (closedAt = performance.now()));
    const flood = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (flooder.closed || performance.now() - floodStart > 4000) {
          clearInterval(timer);
          resolve();
          return;
        }
        for (let i = 0; i < 40; i++) {
          const callId = `flood-${floodSent}`;
          flooder.send(
            flooder.build('OPTIONS', `sip:${DOMAIN}`, {
              from: `sip:flood@${DOMAIN}`,
              to: `sip:${DOMAIN}`,
              callId,
              cseq: 1,
            }),
          );
          floodSent++;
        }
      }, 10);
    });
    const normalRuns = normals.map(
      (n) =>
        new Promise<void>((resolve) => {
          let started = 0;
          const inflight: Promise<void>[] = [];
          const timer = setInterval(() => {
            if (started >= PER_CLIENT) {
              clearInterval(timer);
              void Promise.all(inflight).then(() => resolve());
              return;
            }
            started++;
            inflight.push(refresh(n));
          }, 80);
        }),
    );
    await Promise.all([flood, ...normalRuns]);

    const lastAnswer = answered.length ? answered[answered.length - 1]!.at : floodStart;
    const cutMs = lastAnswer - floodStart;
    const ok = normals.reduce((s, n) => s + n.ok, 0);
    const total = normals.reduce((s, n) => s + n.ok + n.failed, 0);
    // A banned address cannot open a new WebSocket either.
    const reconnect = await RawSipClient.open(k.wsUrl, { localAddress: '127.0.0.2' }).then(
      async (c) => {
        await c.close();
        return 'accepted';
      },
      (e: Error) => e.message,
    );
    console.log(
      `flood: sent ${floodSent} OPTIONS from 127.0.0.2, ${answered.length} answered, last answer ${cutMs.toFixed(0)} ms after the flood began, ` +
        `socket closed ${closedAt === null ? 'never' : `${((closedAt as number) - floodStart).toFixed(0)} ms`} after; reconnect: ${reconnect}`,
    );
    console.log(
      `normal clients: ${ok}/${total} REGISTER refreshes answered 200 (${((100 * ok) / total).toFixed(2)}%) during the flood`,
    );

    assert.ok(answered.length < floodSent, 'the flood was cut');
    assert.ok(cutMs < 2000, `flooding source still answered ${cutMs.toFixed(0)} ms after it began`);
    assert.ok(flooder.closed, 'the flooding WebSocket is closed');
    assert.notEqual(reconnect, 'accepted');
    assert.ok(ok / total >= 0.99, `normal success ${ok}/${total}`);

    for (const n of normals) {
      const un = await rawRegister(n.c, n.creds, 0);
      assert.equal(un.reply?.status, 200);
      await n.c.close();
    }
  });

  it('unregisters: no binding is left behind', async () => {
    for (const r of registerers) await unregister(r);
    assert.deepEqual(aors(k), []);
  });
});

describe('two Kamailio servers (DMQ): a client registered at one is reached through the other', () => {
  let pair: [RunningKamailio, RunningKamailio];
  let a: TestAuthority;
  const agents: UserAgent[] = [];
  const registerers: Registerer[] = [];

  before(async () => {
    pair = await startKamailioPair({ secret: SECRET, domain: DOMAIN });
    a = await startTestAuthority({ sipSecret: SECRET, sipDomain: DOMAIN, sipWsUrl: pair[0].wsUrl });
  });
  after(async () => {
    for (const r of registerers) await unregister(r);
    for (const u of agents) await u.stop().catch(() => undefined);
    await a?.dispose();
    for (const k of pair ?? []) await k.stop();
  });

  it('the device registers at A, the agent at B: the registration reaches B, a MESSAGE goes B -> A -> device', async () => {
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const agentCreds: Creds = {
      ...(await api(a.url, 'sipCredentials', { headers: bearer(agent.token) })).body,
      wsUrl: pair[1].wsUrl,
    };
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_chen_wei_00003' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    const deviceCreds: Creds = (await d.api('sipCredentials')).body;
    assert.equal(deviceCreds.wsUrl, pair[0].wsUrl);

    let resolveMsg: (m: Message) => void;
    const got = new Promise<Message>((r) => (resolveMsg = r));
    const device = await ua(deviceCreds, (m) => {
      void m.accept();
      resolveMsg(m);
    });
    agents.push(device);
    const r = new Registerer(device, { expires: 300 });
    registerers.push(r);
    assert.equal((await register(r)).state, RegistererState.Registered);
    await until('B holds the registration made at A', () => aors(pair[1]).includes(deviceCreds.user));

    const agentUa = await ua(agentCreds);
    agents.push(agentUa);
    const accepted = new Promise<number>((resolve) => {
      void new Messager(agentUa, UserAgent.makeURI(deviceCreds.aor)!, 'hello through two servers').message({
        requestDelegate: {
          onAccept: (res) => resolve(res.message.statusCode ?? 0),
          onReject: (res) => resolve(res.message.statusCode ?? 0),
        },
      });
    });
    const m = await got;
    assert.equal(m.request.body, 'hello through two servers');
    assert.equal(await accepted, 200);
  });

  it("the servers' port answers only the peers: a request from another address gets 403", async () => {
    const port = pair[0].dmqPort!;
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.2', () => r()));
    const local = s.address();
    const reply = new Promise<string>((r) => s.once('message', (b) => r(String(b))));
    const callId = randomBytes(6).toString('hex');
    s.send(
      [
        `OPTIONS sip:${DOMAIN} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.2:${local.port};branch=z9hG4bK${callId};rport`,
        'Max-Forwards: 70',
        `From: <sip:probe@${DOMAIN}>;tag=${callId}`,
        `To: <sip:${DOMAIN}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
      port,
      '127.0.0.1',
    );
    assert.match(await reply, /^SIP\/2\.0 403 Forbidden \(not a peer\)/);
    s.close();
  });
});
