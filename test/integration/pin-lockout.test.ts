import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SecretHasher } from '../../authority/src/identity/secrets.ts';
import { PIN_MAX_FAILURES } from '../../authority/src/identity/pin.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

const WRONG_PINS = Number(process.env.VD_PIN_GUESSES ?? 1000);

describe('PIN guessing is bounded (RELIABILITY row 7)', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.now());
  let d: TestDevice;
  let evaluated = 0;
  before(async () => {
    a = await startTestAuthority({}, { clock });
    d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate('ALICE-DEMO-2026');
    assert.equal((await d.api('setPin', { json: { pin: '735190' } })).status, 200);
    // Count real argon2 evaluations by wrapping the hasher the PIN factor uses.
    const hasher = a.services.ctx.hasher;
    const verify = hasher.verify.bind(hasher);
    hasher.verify = async (stored, secret) => {
      evaluated++;
      return verify(stored, secret);
    };
  });
  after(() => a.dispose());

  it(`${WRONG_PINS} wrong PINs in parallel batches: at most ${PIN_MAX_FAILURES} evaluated before lockout`, async () => {
    const statuses: Record<number, number> = {};
    for (let sent = 0; sent < WRONG_PINS;) {
      const batch = Math.min(50, WRONG_PINS - sent);
      const rs = await Promise.all(
        Array.from({ length: batch }, (_, i) =>
          d.api('pinFactor', { json: { pin: String(100000 + sent + i) } }),
        ),
      );
      for (const r of rs) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      sent += batch;
      // Let every growing delay (at most 8 min) expire so the only bound left is the hard lock,
      // and authenticate again since the authentication itself expires too.
      clock.advance(600_000);
      assert.equal((await d.authenticate()).status, 201);
    }
    console.log(
      `wrong PINs sent: ${WRONG_PINS}, argon2 evaluations: ${evaluated}, statuses: ${JSON.stringify(statuses)}`,
    );
    assert.ok(evaluated <= PIN_MAX_FAILURES, `evaluated ${evaluated}`);
    assert.equal(statuses[200] ?? 0, 0);
    assert.equal(statuses[401], evaluated, 'every evaluated PIN answers 401 wrong PIN');
    assert.equal(statuses[423], WRONG_PINS - evaluated, 'every other attempt answers 423 locked');
  });

  it('the right PIN is refused while locked, without being evaluated; an admin unlock restores it', async () => {
    const before = evaluated;
    const r = await d.api('pinFactor', { json: { pin: '735190' } });
    assert.equal(r.status, 423);
    assert.equal(r.body.code, 'locked');
    assert.match(r.body.message, /contact support/);
    assert.equal(evaluated, before);
    const admin = await staffLogin(a.url, 'admin', 'demo-admin-1');
    assert.equal(
      (
        await api(a.url, 'unlockPin', {
          params: { customerId: 'c_alice_martin_01' },
          headers: bearer(admin.token),
        })
      ).status,
      200,
    );
    const ok = await d.api('pinFactor', { json: { pin: '735190' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.level, 2);
  });

  it('delays grow from the 5th consecutive failure and lift after their time', async () => {
    const fail = () => d.api('pinFactor', { json: { pin: '000001' } });
    for (let i = 0; i < 4; i++) assert.equal((await fail()).status, 401);
    assert.equal((await fail()).status, 401); // 5th failure: 30 s delay starts
    const lockedNow = await d.api('pinFactor', { json: { pin: '735190' } });
    assert.equal(lockedNow.status, 423);
    assert.equal(lockedNow.body.details.retryAfterSeconds, 30);
    assert.equal(lockedNow.headers.get('retry-after'), '30');
    clock.advance(30_000);
    assert.equal((await fail()).status, 401); // 6th: 60 s
    const second = await d.api('pinFactor', { json: { pin: '735190' } });
    assert.equal(second.body.details.retryAfterSeconds, 60);
    clock.advance(60_000);
    const ok = await d.api('pinFactor', { json: { pin: '735190' } });
    assert.equal(ok.status, 200);
  });
});

describe('stored PINs resist offline attack (RELIABILITY row 8)', () => {
  let a: TestAuthority;
  before(async () => {
    a = await startTestAuthority();
  });
  after(() => a.dispose());

  it('argon2id with m >= 19456 KiB, t >= 2; a dump without the pepper verifies 0 PINs', async () => {
    const pins = ['482913', '5820', '99887766'];
    const codes = ['ALICE-DEMO-2026', 'BOB-DEMO-2026', 'CHEN-DEMO-2026'];
    for (let i = 0; i < pins.length; i++) {
      const d = await new TestDevice(a.url).enrolAndAuthenticate(codes[i]!);
      assert.equal((await d.api('setPin', { json: { pin: pins[i] } })).status, 200);
    }
    const dump = await a.sql<{ customer_id: string; hash: string }>`
      SELECT customer_id, hash FROM pins ORDER BY customer_id`;
    assert.equal(dump.length, 3);
    for (const row of dump) {
      const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(row.hash);
      assert.ok(m, row.hash.slice(0, 40));
      assert.ok(Number(m[1]) >= 19456 && Number(m[2]) >= 2);
      assert.ok(!row.hash.includes(pins[0]!));
    }
    const byCustomer = new Map(dump.map((r) => [r.customer_id, r.hash]));
    const truth: [string, string][] = [
      ['c_alice_martin_01', pins[0]!],
      ['c_bob_okafor_002', pins[1]!],
      ['c_chen_wei_00003', pins[2]!],
    ];
    const withPepper = a.services.ctx.hasher;
    const noPepper = new SecretHasher('', 19456, 2);
    const wrongPepper = new SecretHasher('x'.repeat(43), 19456, 2);
    let right = 0;
    let attacker = 0;
    for (const [cid, pin] of truth) {
      if (await withPepper.verify(byCustomer.get(cid)!, pin)) right++;
      if (await noPepper.verify(byCustomer.get(cid)!, pin)) attacker++;
      if (await wrongPepper.verify(byCustomer.get(cid)!, pin)) attacker++;
    }
    console.log(`PINs verified with the pepper: ${right}/3; without or with a wrong pepper: ${attacker}/6`);
    assert.equal(right, 3);
    assert.equal(attacker, 0);
  });
});
