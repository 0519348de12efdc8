import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { Messager, Registerer, RegistererState, UserAgent, type Message } from 'sip.js';
import { ephemeralCredentials } from '../../authority/src/sip/credentials.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { authorization, headerOf, nonceOf, RawSip, registerHeaders, statusOf } from '../support/sip-raw.ts';

// sip.js's transport uses the browser WebSocket; Node 20 has none, ws is the same API.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const quiet = { logBuiltinEnabled: false, logLevel: 'error' as const };

async function ua(
  creds: { username: string; password: string; aor: string; wsUrl: string | null },
  onMessage?: (m: Message) => void,
) {
  const userAgent = new UserAgent({
    ...quiet,
    uri: UserAgent.makeURI(creds.aor)!,
    authorizationUsername: creds.username,
    authorizationPassword: creds.password,
    transportOptions: { server: creds.wsUrl! },
    delegate: onMessage ? { onMessage } : {},
  });
  await userAgent.start();
  return userAgent;
}

/** REGISTER and resolve with the registerer's final state (Registered or Unregistered after a refusal). */
function register(u: UserAgent): Promise<RegistererState> {
  const r = new Registerer(u, { expires: 300 });
  return new Promise((resolve) => {
    r.stateChange.addListener((s) => {
      if (s === RegistererState.Registered) resolve(s);
    });
    void r.register({ requestDelegate: { onReject: () => resolve(RegistererState.Unregistered) } });
  });
}

describe('embedded SIP edge: ephemeral credentials, registrar, proxy (sip.js clients over WebSocket)', () => {
  let a: TestAuthority;
  let agentCreds: any;
  let deviceCreds: any;
  /** Used by one test each over raw SIP or its own sip.js client, so no binding of another test is in the way. */
  let agent2Creds: any;
  let supervisorCreds: any;
  let adminCreds: any;
  const agents: UserAgent[] = [];
  const raws: RawSip[] = [];

  before(async () => {
    a = await startTestAuthority({ sipSecret: 's'.repeat(40), sipDialogGraceSeconds: 0 });
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    agentCreds = (await api(a.url, 'sipCredentials', { headers: bearer(agent.token) })).body;
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    deviceCreds = (await d.api('sipCredentials')).body;
    const credsOf = async (token: string) =>
      (await api(a.url, 'sipCredentials', { headers: bearer(token) })).body;
    agent2Creds = await credsOf((await staffLogin(a.url, 'agent2', 'demo-agent-2')).token);
    supervisorCreds = await credsOf((await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token);
    adminCreds = await credsOf(admin);
  });
  after(async () => {
    for (const r of raws) r.close();
    for (const u of agents) await u.stop().catch(() => undefined);
    await a.dispose();
  });

  it('issues auth_ephemeral credentials: username "expiry:user", password = base64(HMAC-SHA1(secret, username))', () => {
    assert.match(agentCreds.username, /^\d+:a-/);
    assert.match(deviceCreds.user, /^d-[A-Za-z0-9_-]{43}$/);
    const [expiry, user] = [Number(agentCreds.username.split(':')[0]), agentCreds.username.split(':')[1]];
    const again = ephemeralCredentials(
      's'.repeat(40),
      user,
      expiry - Math.floor(Date.now() / 1000),
      Date.now(),
    );
    assert.equal(again.password, agentCreds.password);
    assert.equal(agentCreds.wsUrl, `${a.url.replace('http', 'ws')}/sip`);
  });

  it('registers with digest MD5; a wrong password or expired credentials are refused', async () => {
    const good = await ua(agentCreds);
    agents.push(good);
    assert.equal(await register(good), RegistererState.Registered);
    assert.ok(a.sipEdge.isRegistered(agentCreds.user));
    const wrong = await ua({ ...deviceCreds, password: 'not-the-password' });
    agents.push(wrong);
    assert.equal(await register(wrong), RegistererState.Unregistered);
    const past = ephemeralCredentials('s'.repeat(40), deviceCreds.user, -10, Date.now());
    const expired = await ua({ ...deviceCreds, username: past.username, password: past.password });
    agents.push(expired);
    assert.equal(await register(expired), RegistererState.Unregistered);
    assert.equal(a.sipEdge.isRegistered(deviceCreds.user), false);
  });

  it('proxies a MESSAGE from the agent to the registered device, authenticated with 407', async () => {
    let resolveMsg: (m: Message) => void;
    const got = new Promise<Message>((r) => (resolveMsg = r));
    const device = await ua(deviceCreds, (m) => {
      void m.accept();
      resolveMsg(m);
    });
    agents.push(device);
    assert.equal(await register(device), RegistererState.Registered);
    const messager = new Messager(agents[0]!, UserAgent.makeURI(deviceCreds.aor)!, 'hello from the agent');
    await messager.message();
    const m = await got;
    assert.equal(m.request.body, 'hello from the agent');
    assert.equal(m.request.from.uri.user, agentCreds.user);
    assert.ok(m.request.getHeader('via')?.includes('edge.verified-desk.local'));
  });
  it('a captured REGISTER Authorization cannot be replayed: not from another socket, not with the same nc', async () => {
    const registrar = `sip:${agent2Creds.domain}`;
    const victim = await RawSip.open(agent2Creds.wsUrl);
    const attacker = await RawSip.open(agent2Creds.wsUrl);
    raws.push(victim, attacker);
    const callId = randomBytes(8).toString('hex');
    const challenge = await victim.request(
      'REGISTER',
      registrar,
      registerHeaders(victim, agent2Creds, callId),
    );
    assert.equal(statusOf(challenge), 401);
    const nonce = nonceOf(challenge)!;
    const captured = authorization(agent2Creds, 'REGISTER', registrar, nonce, 1);
    const ok = await victim.request(
      'REGISTER',
      registrar,
      registerHeaders(victim, agent2Creds, callId, captured),
    );
    assert.equal(statusOf(ok), 200);

    // The captured header, replayed from another connection to bind the attacker's contact: a fresh challenge.
    const attackerCall = randomBytes(8).toString('hex');
    const replay = await attacker.request(
      'REGISTER',
      registrar,
      registerHeaders(attacker, agent2Creds, attackerCall, captured),
    );
    assert.equal(statusOf(replay), 401, replay);
    assert.ok(nonceOf(replay) && nonceOf(replay) !== nonce, 'a fresh nonce');
    // Even a correct digest with a higher count is refused on a socket the nonce was not issued on.
    const moved = await attacker.request(
      'REGISTER',
      registrar,
      registerHeaders(
        attacker,
        agent2Creds,
        attackerCall,
        authorization(agent2Creds, 'REGISTER', registrar, nonce, 2),
      ),
    );
    assert.equal(statusOf(moved), 401, moved);
    assert.notEqual(nonceOf(moved), nonce);

    // On its own socket, the same nonce count again is a replay too; a higher count is a new answer.
    const again = await victim.request(
      'REGISTER',
      registrar,
      registerHeaders(victim, agent2Creds, callId, captured),
    );
    assert.equal(statusOf(again), 401, again);
    assert.notEqual(nonceOf(again), nonce);
    const next = await victim.request(
      'REGISTER',
      registrar,
      registerHeaders(
        victim,
        agent2Creds,
        callId,
        authorization(agent2Creds, 'REGISTER', registrar, nonce, 2),
      ),
    );
    assert.equal(statusOf(next), 200, next);

    // The agent's address still reaches the agent: a MESSAGE arrives on the victim's socket, not the attacker's.
    const sender = await RawSip.open(supervisorCreds.wsUrl);
    raws.push(sender);
    const aor = agent2Creds.aor as string;
    const message = (authz?: string) => [
      `To: <${aor}>`,
      `From: <${supervisorCreds.aor}>;tag=replay1`,
      'Call-ID: replay-check-1',
      'Content-Type: text/plain',
      ...(authz ? [`Proxy-Authorization: ${authz}`] : []),
    ];
    const c407 = await sender.request('MESSAGE', aor, message(), 'who gets this?');
    assert.equal(statusOf(c407), 407);
    void sender.request(
      'MESSAGE',
      aor,
      message(authorization(supervisorCreds, 'MESSAGE', aor, nonceOf(c407)!, 1)),
      'who gets this?',
    );
    const delivered = await victim.take((m) => m.startsWith('MESSAGE '));
    assert.match(delivered, /who gets this\?$/);
    assert.deepEqual(
      attacker.inbox.filter((m) => !m.startsWith('SIP/2.0')),
      [],
    );
  });

  it('a registration refresh on the same connection (sip.js re-sends its last Authorization) is challenged afresh and accepted', async () => {
    const u = await ua(supervisorCreds);
    agents.push(u);
    const r = new Registerer(u, { expires: 300 });
    const attempt = () =>
      new Promise<string>((resolve) => {
        void r.register({
          requestDelegate: {
            onAccept: () => resolve('accepted'),
            onReject: (res) => resolve(`rejected ${res.message.statusCode}`),
          },
        });
      });
    for (let i = 0; i < 3; i++) assert.equal(await attempt(), 'accepted', `registration ${i + 1}`);
    assert.ok(a.sipEdge.isRegistered(supervisorCreds.user));
  });

  it('drops P-Asserted-Identity, P-Preferred-Identity and X-VD-Media a client sends: the callee gets the INVITE without them', async () => {
    const callee = await RawSip.open(adminCreds.wsUrl);
    const caller = await RawSip.open(agentCreds.wsUrl);
    raws.push(callee, caller);
    const registrar = `sip:${adminCreds.domain}`;
    const callId = randomBytes(8).toString('hex');
    const ch = await callee.request('REGISTER', registrar, registerHeaders(callee, adminCreds, callId));
    const reg = await callee.request(
      'REGISTER',
      registrar,
      registerHeaders(
        callee,
        adminCreds,
        callId,
        authorization(adminCreds, 'REGISTER', registrar, nonceOf(ch)!, 1),
      ),
    );
    assert.equal(statusOf(reg), 200);
    const aor = adminCreds.aor as string;
    const sdp = [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=audio 9 RTP/AVP 0',
      '',
    ].join('\r\n');
    const invite = (authz?: string) => [
      `To: <${aor}>`,
      `From: <${agentCreds.aor}>;tag=pai1`,
      'Call-ID: pai-check-1',
      `Contact: <sip:caller@${caller.host};transport=ws>`,
      'P-Asserted-Identity: "Bank Security" <sip:security@verified-desk.local>',
      'p-asserted-identity: <tel:+15550100>',
      'P-Preferred-Identity: <sip:security@verified-desk.local>',
      // Only a SIP server that anchors the media may say so (the console shows it).
      'X-VD-Media: anchored',
      'Content-Type: application/sdp',
      ...(authz ? [`Proxy-Authorization: ${authz}`] : []),
    ];
    const c407 = await caller.request('INVITE', aor, invite(), sdp);
    assert.equal(statusOf(c407), 407);
    void caller.request(
      'INVITE',
      aor,
      invite(authorization(agentCreds, 'INVITE', aor, nonceOf(c407)!, 1)),
      sdp,
    );
    const arrived = await callee.take((m) => m.startsWith('INVITE '));
    const head = arrived.split('\r\n\r\n')[0]!;
    assert.doesNotMatch(head, /^P-Asserted-Identity:/im);
    assert.doesNotMatch(head, /^P-Preferred-Identity:/im);
    assert.doesNotMatch(head, /^X-VD-Media:/im);
    assert.match(head, new RegExp(`^From: <${agentCreds.aor}>`, 'm'));
    assert.ok(arrived.endsWith(sdp), 'the body is relayed');
  });

  it('ends the dialogs of a connection that goes away: the other party of each confirmed call gets a BYE', async () => {
    for (const closing of ['caller', 'callee'] as const) {
      const callee = await RawSip.open(supervisorCreds.wsUrl);
      const caller = await RawSip.open(agent2Creds.wsUrl);
      raws.push(callee, caller);
      const registrar = `sip:${supervisorCreds.domain}`;
      const regId = randomBytes(8).toString('hex');
      const ch = await callee.request('REGISTER', registrar, registerHeaders(callee, supervisorCreds, regId));
      const reg = await callee.request(
        'REGISTER',
        registrar,
        registerHeaders(
          callee,
          supervisorCreds,
          regId,
          authorization(supervisorCreds, 'REGISTER', registrar, nonceOf(ch)!, 1),
        ),
      );
      assert.equal(statusOf(reg), 200);
      const aor = supervisorCreds.aor as string;
      const callId = `ghost-${closing}-${randomBytes(4).toString('hex')}`;
      const invite = (authz?: string) => [
        `To: <${aor}>`,
        `From: <${agent2Creds.aor}>;tag=callertag`,
        `Call-ID: ${callId}`,
        `Contact: <sip:caller@${caller.host};transport=ws>`,
        ...(authz ? [`Proxy-Authorization: ${authz}`] : []),
      ];
      const c407 = await caller.request('INVITE', aor, invite());
      const answered = caller.request(
        'INVITE',
        aor,
        invite(authorization(agent2Creds, 'INVITE', aor, nonceOf(c407)!, 1)),
      );
      const arrived = await callee.take((m) => m.startsWith('INVITE '));
      const head = arrived.split('\r\n\r\n')[0]!.split('\r\n');
      const keep = head.filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l));
      callee.ws.send(
        [
          'SIP/2.0 200 OK',
          ...keep,
          `To: <${aor}>;tag=calleetag`,
          `Contact: <sip:callee@${callee.host};transport=ws>`,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
      assert.equal(statusOf(await answered), 200);
      const [gone, other] = closing === 'caller' ? [caller, callee] : [callee, caller];
      gone.close();
      const bye = await other.take((m) => m.startsWith('BYE '));
      assert.equal(headerOf(bye, 'Call-ID'), callId);
      if (closing === 'caller') {
        assert.match(bye, new RegExp(`^BYE sip:callee@${callee.host}`));
        assert.match(headerOf(bye, 'From')!, /tag=callertag/);
        assert.match(headerOf(bye, 'To')!, /tag=calleetag/);
        assert.ok(Number(headerOf(bye, 'CSeq')!.split(' ')[0]) > 1, 'above the INVITE CSeq');
      } else {
        assert.match(bye, new RegExp(`^BYE sip:caller@${caller.host}`));
        assert.match(headerOf(bye, 'From')!, /tag=calleetag/);
        assert.match(headerOf(bye, 'To')!, /tag=callertag/);
      }
      other.close();
    }
  });
});
