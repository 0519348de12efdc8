/**
 * Staff password guessing is bounded (OWASP ASVS V6 / NIST SP 800-63B throttling):
 * per account, growing delays then a hard lock until an admin unlocks (423, even for the
 * right password, which is then not evaluated); per source address, a sliding window of
 * failed logins across accounts (429 with Retry-After); unknown usernames answer exactly
 * like known ones. Time moves with a fake clock; other sources come from 127.0.0.x.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  STAFF_LOGIN_DELAY_FROM,
  STAFF_LOGIN_MAX_FAILURES,
} from '../../authority/src/staff/login-throttle.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, routePath, staffLogin, type HttpResult } from '../support/http.ts';

const WRONG = 'not-the-password';

/** POST JSON from a chosen local address (127.0.0.x all reach the loopback listener). */
function postFrom(
  source: string,
  base: string,
  route: 'login' | 'refresh',
  json: unknown,
): Promise<HttpResult> {
  const u = new URL(base + routePath(route));
  const body = JSON.stringify(json);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        localAddress: source,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
          resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined, headers });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface AuditRow {
  actor: string;
  action: string;
  subject: string | null;
  outcome: string;
  reason: string | null;
  data: string;
}
/** Audit rows matching `where` (`?` placeholders take `args`, on either engine). */
const auditRows = (a: TestAuthority, where: string, ...args: unknown[]): Promise<AuditRow[]> => {
  const parts =
    `SELECT actor, action, subject, outcome, reason, data FROM audit_log WHERE ${where} ORDER BY seq`.split(
      '?',
    );
  return a.sql<AuditRow>(Object.assign(parts, { raw: parts }) as unknown as TemplateStringsArray, ...args);
};

/** Count argon2 evaluations (the hasher every password check goes through). */
function countEvaluations(a: TestAuthority): { n: number } {
  const counter = { n: 0 };
  const hasher = a.services.ctx.hasher;
  const verify = hasher.verify.bind(hasher);
  hasher.verify = async (stored, secret) => {
    counter.n++;
    return verify(stored, secret);
  };
  return counter;
}

async function createStaff(a: TestAuthority, adminToken: string, username: string, password: string) {
  const r = await api(a.url, 'createStaff', {
    headers: bearer(adminToken),
    json: { username, displayName: username, role: 'agent', password },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.staffId as string;
}

describe('staff login: per-account delays and lock', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.now());
  let evaluated: { n: number };
  const login = (username: string, password: string) => api(a.url, 'login', { json: { username, password } });
  /** Status and Retry-After of an answer, compactly. */
  const summary = (r: HttpResult) =>
    r.status === 423 ? `423/${r.headers.get('retry-after') ?? '-'}` : String(r.status);

  before(async () => {
    // A large per-source bound: these tests are about the per-account counter.
    a = await startTestAuthority({ accessTokenSeconds: 3600, loginSourceMaxFailures: 10_000 }, { clock });
    evaluated = countEvaluations(a);
  });
  after(() => a.dispose());

  let agent1Id = '';
  let agent1Refresh = '';

  it('30 wrong passwords then the right one: refused (423); delays 30 s, 60 s, 120 s, 240 s, 480 s, then a hard lock; nothing evaluated once locked', async () => {
    const s = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    agent1Id = s.staffId;
    agent1Refresh = s.refreshToken;
    const before = evaluated.n;
    const seen: string[] = [];
    let last: HttpResult | undefined;
    for (let i = 0; i < 30; i++) {
      last = await login('agent1', WRONG);
      seen.push(summary(last));
      const wait = last.status === 423 ? last.body.details.retryAfterSeconds : null;
      if (wait) clock.advance(wait * 1000); // sit out every delay, so only the hard lock is left
    }
    assert.deepEqual(seen, [
      ...['401', '401', '401', '401', '401'],
      ...['423/30', '401', '423/60', '401', '423/120', '401', '423/240', '401', '423/480', '401'],
      ...Array<string>(15).fill('423/-'),
    ]);
    assert.equal(evaluated.n - before, STAFF_LOGIN_MAX_FAILURES);
    assert.equal(last!.body.code, 'locked');
    assert.match(last!.body.message, /administrator/);
    assert.equal(last!.body.details.retryAfterSeconds, null);

    const right = await login('agent1', 'demo-agent-1');
    assert.equal(right.status, 423);
    assert.deepEqual(right.body, last!.body, 'the right password gets exactly the answer a wrong one gets');
    assert.equal(evaluated.n - before, STAFF_LOGIN_MAX_FAILURES, 'the right password was not evaluated');

    // The refresh token issued before the lock is no way around it (and is not used up).
    const refresh = await api(a.url, 'refresh', { json: { refreshToken: agent1Refresh } });
    assert.equal(refresh.status, 401);
    assert.match(refresh.body.message, /locked/);

    const failures = await auditRows(
      a,
      "action = 'staff.login' AND outcome = 'failure' AND subject = 'username:agent1'",
    );
    assert.equal(failures.length, 31, 'every failed or refused attempt is audited');
    assert.equal(failures.filter((r) => r.reason === 'wrong password').length, 10);
    assert.equal(failures.filter((r) => /^locked/.test(r.reason ?? '')).length, 21);
    assert.ok(failures.every((r) => r.actor === `staff:${agent1Id}`));
    const locks = await auditRows(a, "action = 'staff.lock' AND subject = ?", `staff:${agent1Id}`);
    assert.equal(locks.length, 1);
    assert.deepEqual(JSON.parse(locks[0]!.data), { failures: STAFF_LOGIN_MAX_FAILURES });
    const refused = await auditRows(
      a,
      "action = 'staff.refresh' AND outcome = 'failure' AND actor = ?",
      `staff:${agent1Id}`,
    );
    assert.equal(refused.at(-1)!.reason, 'account locked');
  });

  it('an admin unlock lifts the lock: the right password works again, the old refresh token too; audited', async () => {
    const admin = await staffLogin(a.url, 'admin', 'demo-admin-1');
    const agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const byAgent = await api(a.url, 'unlockStaff', {
      params: { staffId: agent1Id },
      headers: bearer(agent.token),
    });
    assert.equal(byAgent.status, 403);
    const none = await api(a.url, 'unlockStaff', {
      params: { staffId: 'no_such_staff_member_1' },
      headers: bearer(admin.token),
    });
    assert.equal(none.status, 404);
    const u = await api(a.url, 'unlockStaff', {
      params: { staffId: agent1Id },
      headers: bearer(admin.token),
    });
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.deepEqual(u.body, { staffId: agent1Id, wasLocked: true, failures: STAFF_LOGIN_MAX_FAILURES });
    assert.equal((await login('agent1', 'demo-agent-1')).status, 200);
    assert.equal((await api(a.url, 'refresh', { json: { refreshToken: agent1Refresh } })).status, 200);
    const rows = await auditRows(a, "action = 'staff.unlock' AND subject = ?", `staff:${agent1Id}`);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.actor, `staff:${admin.staffId}`);
    assert.equal(rows[0]!.outcome, 'success');
    assert.deepEqual(JSON.parse(rows[0]!.data), { wasLocked: true, failures: STAFF_LOGIN_MAX_FAILURES });
  });

  it('during a delay the right password gets exactly the answer a wrong one gets; a success resets the count', async () => {
    for (let i = 0; i < STAFF_LOGIN_DELAY_FROM - 1; i++)
      assert.equal((await login('agent2', WRONG)).status, 401);
    assert.equal((await login('agent2', 'demo-agent-2')).status, 200);
    for (let i = 0; i < STAFF_LOGIN_DELAY_FROM - 1; i++)
      assert.equal((await login('agent2', WRONG)).status, 401);
    assert.equal((await login('agent2', WRONG)).status, 401); // the 5th in a row starts a 30 s delay
    const before = evaluated.n;
    const right = await login('agent2', 'demo-agent-2');
    const wrong = await login('agent2', WRONG);
    assert.equal(right.status, 423);
    assert.deepEqual(right.body, wrong.body);
    assert.equal(right.headers.get('retry-after'), '30');
    assert.equal(wrong.headers.get('retry-after'), '30');
    assert.equal(right.body.details.retryAfterSeconds, 30);
    assert.equal(evaluated.n, before, 'nothing evaluated during the delay');
    clock.advance(29_000);
    assert.equal((await login('agent2', 'demo-agent-2')).headers.get('retry-after'), '1');
    clock.advance(1_000);
    assert.equal((await login('agent2', 'demo-agent-2')).status, 200);
    assert.equal((await login('agent2', WRONG)).status, 401, 'the count starts again from 0');
  });

  it('an unknown username answers exactly like a known one (status, body, Retry-After, one hash each)', async () => {
    const admin = await staffLogin(a.url, 'admin', 'demo-admin-1');
    await createStaff(a, admin.token, 'known.person', 'the-right-password');
    const run = async (username: string) => {
      const out: unknown[] = [];
      const start = evaluated.n;
      for (let i = 0; i < 16; i++) {
        const r = await login(username, WRONG);
        out.push([r.status, r.headers.get('retry-after'), r.headers.get('content-type'), r.body]);
        const wait = r.status === 423 ? r.body.details.retryAfterSeconds : null;
        if (wait) clock.advance(wait * 1000);
      }
      return { out, hashes: evaluated.n - start };
    };
    const known = await run('known.person');
    const unknown = await run('nobody.here');
    assert.deepEqual(unknown.out, known.out);
    assert.equal(unknown.hashes, known.hashes, 'the unknown name costs the same argon2 evaluations');
    assert.equal(known.hashes, STAFF_LOGIN_MAX_FAILURES);
    const rows = await auditRows(a, "action = 'staff.login' AND subject = 'username:nobody.here'");
    assert.equal(rows.length, 16);
    assert.ok(rows.every((r) => r.actor === 'anonymous'));
    assert.equal(rows.filter((r) => r.reason === 'unknown username').length, STAFF_LOGIN_MAX_FAILURES);
  });

  it(`50 wrong passwords in parallel evaluate at most ${STAFF_LOGIN_DELAY_FROM}; rounds after each delay, at most ${STAFF_LOGIN_MAX_FAILURES} in all`, async () => {
    const admin = await staffLogin(a.url, 'admin', 'demo-admin-1');
    await createStaff(a, admin.token, 'parallel.person', 'the-right-password');
    const statuses: Record<number, number> = {};
    let total = 0;
    for (let round = 0; round < 8; round++) {
      const start = evaluated.n;
      const rs = await Promise.all(Array.from({ length: 50 }, () => login('parallel.person', WRONG)));
      for (const r of rs) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      const n = evaluated.n - start;
      if (round === 0) assert.equal(n, STAFF_LOGIN_DELAY_FROM, `first round evaluated ${n}`);
      else assert.ok(n <= 1, `round ${round} evaluated ${n}`);
      total += n;
      clock.advance(600_000); // longer than any delay: only the hard lock remains
    }
    console.log(
      `parallel wrong passwords: 400 sent, ${total} evaluated, statuses ${JSON.stringify(statuses)}`,
    );
    assert.equal(total, STAFF_LOGIN_MAX_FAILURES);
    assert.equal(statuses[401], total);
    assert.equal(statuses[423], 400 - total);
    assert.equal(statuses[200] ?? 0, 0);
    assert.equal((await login('parallel.person', 'the-right-password')).status, 423);
  });
});

describe('staff login: per-source bound across accounts', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.now());
  let evaluated: { n: number };
  const SPRAY = '127.0.0.2';

  before(async () => {
    // The defaults: 20 failed logins per source in any 10 minutes.
    a = await startTestAuthority({ accessTokenSeconds: 3600 }, { clock });
    evaluated = countEvaluations(a);
  });
  after(() => a.dispose());

  it('spraying one password over 40 accounts from one source: 429 with Retry-After after 20; other sources unaffected; audited in summary', async () => {
    const admin = await staffLogin(a.url, 'admin', 'demo-admin-1');
    const names = Array.from({ length: 40 }, (_, i) => `spray.${String(i).padStart(2, '0')}`);
    for (const n of names) await createStaff(a, admin.token, n, `password-of-${n}`);
    const before = evaluated.n;
    const seen: HttpResult[] = [];
    for (const n of names)
      seen.push(await postFrom(SPRAY, a.url, 'login', { username: n, password: 'Summer2026!' }));
    assert.deepEqual(
      seen.map((r) => r.status),
      [...Array<number>(20).fill(401), ...Array<number>(20).fill(429)],
    );
    assert.equal(evaluated.n - before, 20, 'refused attempts are not evaluated');
    for (const r of seen.slice(20)) {
      assert.equal(r.body.code, 'rate_limited');
      assert.equal(r.headers.get('retry-after'), '600');
      assert.equal(r.body.details.retryAfterSeconds, 600);
    }
    // Even the right password of an account is refused from that source, without evaluation...
    const right = await postFrom(SPRAY, a.url, 'login', {
      username: 'spray.30',
      password: 'password-of-spray.30',
    });
    assert.equal(right.status, 429);
    assert.deepEqual(right.body, seen[39]!.body);
    assert.equal(evaluated.n - before, 20);
    // ...while the same account logs in from another source.
    const elsewhere = await postFrom('127.0.0.3', a.url, 'login', {
      username: 'spray.30',
      password: 'password-of-spray.30',
    });
    assert.equal(elsewhere.status, 200);
    // The window slides: 9 minutes on, still refused (1 minute left); 10 minutes on, a try is evaluated again.
    clock.advance(540_000);
    const later = await postFrom(SPRAY, a.url, 'login', {
      username: 'spray.31',
      password: 'x-123456',
    });
    assert.equal(later.status, 429);
    assert.equal(later.headers.get('retry-after'), '60');
    clock.advance(60_000);
    assert.equal(
      (await postFrom(SPRAY, a.url, 'login', { username: 'spray.31', password: 'x-123456' })).status,
      401,
    );
    // Audited without one row per refusal: the first refusal at once, then the rest summed up
    // when the source is next let through.
    const throttled = await auditRows(
      a,
      "action = 'staff.login.throttled' AND subject = ?",
      `source:${SPRAY}`,
    );
    assert.deepEqual(
      throttled.map((r) => JSON.parse(r.data).refused),
      [1, 21],
      'every one of the 22 refusals is counted',
    );
    const failures = await auditRows(
      a,
      "action = 'staff.login' AND outcome = 'failure' AND reason = 'wrong password'",
    );
    assert.equal(failures.length, 21);
  });

  it('50 wrong logins in parallel over 50 names from one source evaluate at most 20', async () => {
    const before = evaluated.n;
    const rs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        postFrom('127.0.0.4', a.url, 'login', { username: `someone.${i}`, password: WRONG }),
      ),
    );
    const statuses: Record<number, number> = {};
    for (const r of rs) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    assert.equal(evaluated.n - before, 20);
    assert.deepEqual(statuses, { 401: 20, 429: 30 });
  });

  it('unknown refresh tokens count toward the same bound; a valid refresh token still works from that source', async () => {
    const src = '127.0.0.5';
    const s = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const bogus = (i: number) =>
      postFrom(src, a.url, 'refresh', {
        refreshToken: `bogus_refresh_token_${String(i).padStart(4, '0')}`,
      });
    for (let i = 0; i < 20; i++) assert.equal((await bogus(i)).status, 401);
    const r = await bogus(20);
    assert.equal(r.status, 429);
    assert.equal(r.body.code, 'rate_limited');
    assert.equal(
      (await postFrom(src, a.url, 'login', { username: 'agent1', password: 'demo-agent-1' })).status,
      429,
    );
    assert.equal((await postFrom(src, a.url, 'refresh', { refreshToken: s.refreshToken })).status, 200);
  });
});
