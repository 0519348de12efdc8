import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { routes, type RouteDef } from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, call, staffLogin } from '../support/http.ts';

describe('staff accounts, tokens and roles', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.now());
  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 300 }, { clock });
  });
  after(() => a.dispose());

  it('login gives a short access token and a refresh token; wrong passwords and unknown users get the same 401', async () => {
    const ok = await api(a.url, 'login', { json: { username: 'agent1', password: 'demo-agent-1' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.staff.role, 'agent');
    assert.equal(Date.parse(ok.body.accessExpiresAt) - clock.now(), 300_000);
    const wrong = await api(a.url, 'login', { json: { username: 'agent1', password: 'not-the-password' } });
    const unknown = await api(a.url, 'login', { json: { username: 'nobody', password: 'not-the-password' } });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
    const me = await api(a.url, 'staffMe', { headers: bearer(ok.body.accessToken) });
    assert.equal(me.body.username, 'agent1');
  });

  it('access tokens expire; refresh rotates; a reused refresh token revokes the whole family', async () => {
    const first = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    clock.advance(301_000);
    assert.equal((await api(a.url, 'staffMe', { headers: bearer(first.token) })).status, 401);
    const second = await api(a.url, 'refresh', { json: { refreshToken: first.refreshToken } });
    assert.equal(second.status, 200);
    assert.notEqual(second.body.refreshToken, first.refreshToken);
    assert.equal((await api(a.url, 'staffMe', { headers: bearer(second.body.accessToken) })).status, 200);
    // The stolen old token is presented again: refused, and the family (including the new token) is revoked.
    const reuse = await api(a.url, 'refresh', { json: { refreshToken: first.refreshToken } });
    assert.equal(reuse.status, 401);
    assert.match(reuse.body.message, /reused/);
    const afterReuse = await api(a.url, 'refresh', { json: { refreshToken: second.body.refreshToken } });
    assert.equal(afterReuse.status, 401);
  });

  it('one refresh token sent 20 times at once: exactly one new pair, the others refused as a reuse; the family ends revoked', async () => {
    const s = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const all = await Promise.all(
      Array.from({ length: 20 }, () => api(a.url, 'refresh', { json: { refreshToken: s.refreshToken } })),
    );
    assert.deepEqual(all.map((r) => r.status).sort(), [200, ...Array<number>(19).fill(401)]);
    // The first loser is a reuse and revokes the family; the ones after it find it revoked.
    const refused = all.filter((x) => x.status === 401).map((r) => String(r.body.message));
    for (const m of refused) assert.match(m, /reused|revoked/);
    assert.ok(refused.some((m) => /reused/.test(m)));
    const won = all.find((r) => r.status === 200)!;
    assert.equal(
      (await api(a.url, 'refresh', { json: { refreshToken: won.body.refreshToken } })).status,
      401,
    );
  });

  it('logout revokes the refresh token family', async () => {
    const s = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    assert.equal((await api(a.url, 'logout', { json: { refreshToken: s.refreshToken } })).status, 200);
    assert.equal((await api(a.url, 'refresh', { json: { refreshToken: s.refreshToken } })).status, 401);
  });

  it('an access token verified before (its verification cached) is refused at once after logout, and once expired', async () => {
    const s = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    for (let i = 0; i < 3; i++)
      assert.equal((await api(a.url, 'staffMe', { headers: bearer(s.token) })).status, 200);
    assert.equal((await api(a.url, 'logout', { json: { refreshToken: s.refreshToken } })).status, 200);
    assert.equal((await api(a.url, 'staffMe', { headers: bearer(s.token) })).status, 401);
    const t = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    assert.equal((await api(a.url, 'staffMe', { headers: bearer(t.token) })).status, 200);
    clock.advance(299_000);
    assert.equal((await api(a.url, 'staffMe', { headers: bearer(t.token) })).status, 200);
    clock.advance(1_000);
    assert.equal((await api(a.url, 'staffMe', { headers: bearer(t.token) })).status, 401);
  });

  it('roles are checked on every staff route: agents get 403 on every admin route, no token gets 401 everywhere', async () => {
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const fill = (path: string) =>
      path
        .replace(':customerId', 'c_alice_martin_01')
        .replace(':staffId', 'xxxxxxxxxxxxxxxxxx')
        .replace(':sessionId', 'A'.repeat(43))
        .replace(':authenticationId', 'B'.repeat(22));
    let checked = 0;
    for (const [id, r] of Object.entries(routes) as [string, RouteDef][]) {
      if (r.auth === 'public') continue;
      const anon = await call(a.url, r.method, fill(r.path), {});
      assert.equal(anon.status, 401, `${id} without credentials: ${anon.status}`);
      if (r.auth === 'staff' && r.roles && !(r.roles as readonly string[]).includes('agent')) {
        const body = 'body' in r && r.body ? validBodies[id] : undefined;
        const res = await call(a.url, r.method, fill(r.path), {
          headers: bearer(agent.token),
          ...(body ? { json: body } : {}),
        });
        assert.equal(res.status, 403, `${id} as agent: ${res.status} ${JSON.stringify(res.body)}`);
        checked++;
      }
    }
    assert.ok(checked >= 6, `admin routes checked: ${checked}`);
  });

  it('an admin creates staff and changes roles; the change applies at once and is audited', async () => {
    const admin = await staffLogin(a.url, 'admin', 'demo-admin-1');
    const created = await api(a.url, 'createStaff', {
      headers: bearer(admin.token),
      json: { username: 'new.agent', displayName: 'New Agent', role: 'agent', password: 'a-long-password' },
    });
    assert.equal(created.status, 201);
    const n = await staffLogin(a.url, 'new.agent', 'a-long-password');
    assert.equal((await api(a.url, 'auditVerify', { headers: bearer(n.token) })).status, 403);
    const promoted = await api(a.url, 'setRole', {
      params: { staffId: created.body.staffId },
      headers: bearer(admin.token),
      json: { role: 'admin' },
    });
    assert.equal(promoted.body.role, 'admin');
    // Same access token, new role: roles are read from the account on each request.
    const verify = await api(a.url, 'auditVerify', { headers: bearer(n.token) });
    assert.equal(verify.status, 200);
    assert.equal(verify.body.ok, true);
    const [row] = await a.sql<{ data: string }>`
      SELECT data FROM audit_log WHERE action = 'staff.role' AND subject = ${`staff:${created.body.staffId}`}`;
    assert.deepEqual(JSON.parse(row!.data), { from: 'agent', to: 'admin' });
    const dup = await api(a.url, 'createStaff', {
      headers: bearer(admin.token),
      json: { username: 'new.agent', displayName: 'Again', role: 'agent', password: 'a-long-password' },
    });
    assert.equal(dup.status, 409);
  });

  it('knowledge questions: the agent sees prompts only; right answers (any case/spacing) authenticate at level 1; failures lock', async () => {
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const qs = await api(a.url, 'knowledgeQuestions', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(agent.token),
    });
    assert.equal(qs.status, 200);
    assert.equal(qs.body.questions.length, 2);
    assert.ok(!JSON.stringify(qs.body).includes('Leeds'));
    const [q1, q2] = qs.body.questions;
    const right = await api(a.url, 'knowledgeCheck', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(agent.token),
      json: {
        answers: [
          { questionId: q1.questionId, answer: '  riverside   PRIMARY ' },
          { questionId: q2.questionId, answer: 'leeds' },
        ],
      },
    });
    assert.equal(right.status, 200);
    assert.equal(right.body.passed, true);
    assert.equal(right.body.authentication.level, 1);
    assert.equal(right.body.authentication.deviceId, null);
    const wrongOnce = () =>
      api(a.url, 'knowledgeCheck', {
        params: { customerId: 'c_alice_martin_01' },
        headers: bearer(agent.token),
        json: { answers: [{ questionId: q2.questionId, answer: 'York' }] },
      });
    for (let i = 0; i < 5; i++) assert.equal((await wrongOnce()).body.passed, false);
    const lockedOut = await wrongOnce();
    assert.equal(lockedOut.status, 423);
    clock.advance(16 * 60_000);
    const againAgent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const after = await api(a.url, 'knowledgeCheck', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(againAgent.token),
      json: { answers: [{ questionId: q2.questionId, answer: 'Leeds' }] },
    });
    assert.equal(after.body.passed, true);
  });
});

const validBodies: Record<string, unknown> = {
  createStaff: { username: 'x.y', displayName: 'X', role: 'agent', password: 'password-123' },
  setRole: { role: 'admin' },
  adminEndSession: {},
};
