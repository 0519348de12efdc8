import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { Messager, Registerer, RegistererState, UserAgent, type Message } from 'sip.js';
import { ephemeralCredentials } from '../../authority/src/sip/credentials.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { bearer, call, staffLogin } from '../support/http.ts';

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
  const agents: UserAgent[] = [];

  before(async () => {
    a = await startTestAuthority({ sipSecret: 's'.repeat(40) });
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    agentCreds = (await call(a.url, 'GET', '/v1/sip/credentials', { headers: bearer(agent.token) })).body;
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await call(a.url, 'POST', '/v1/admin/customers/c_bob_okafor_002/enrolment-codes', {
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    deviceCreds = (await d.call('GET', '/v1/sip/credentials')).body;
  });
  after(async () => {
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
});
