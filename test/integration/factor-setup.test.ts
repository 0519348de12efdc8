/**
 * Adding or replacing a factor (PIN, biometric, enrolment photo) needs at least the level
 * that factor grants, or the enrolment's own authentication (opened with the one-time
 * code) within its setup window. Every attempt is audited, and the customer's other
 * devices are told (security notices on /v1/device/me).
 *
 * The attack this closes: a device key alone (a fresh level-1 authentication) registered
 * a WebAuthn credential with UV set, then asserted it: level 3 "device + biometric".
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FACTOR_SETUP_LEVEL, SETUP_WINDOW_MS } from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_JPEG, TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin, type HttpResult } from '../support/http.ts';
import { SoftwareAuthenticator } from '../support/webauthn-authenticator.ts';

const ORIGIN = 'http://localhost:5173';
const RP_ID = 'localhost';
const ALICE = 'c_alice_martin_01';

interface AuditRow {
  actor: string;
  action: string;
  outcome: string;
  reason: string | null;
}

describe('factor set-up needs the level it grants or the enrolment flow', () => {
  const clock = new FakeClock();
  let a: TestAuthority;
  before(async () => {
    a = await startTestAuthority({ rpId: RP_ID, origins: [ORIGIN] }, { clock });
  });
  after(() => a.dispose());

  /** A fresh one-time code (the fake clock moves past access-token lifetimes, so a fresh login each time). */
  const code = async (customerId = ALICE): Promise<string> => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const r = await api(a.url, 'issueEnrolmentCode', { params: { customerId }, headers: bearer(admin) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.code;
  };
  const enrolled = async (label?: string): Promise<TestDevice> => {
    const d = new TestDevice(a.url, () => clock.now());
    const r = await d.enrol(await code(), label);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return d;
  };
  const audit = (deviceId: string, action: string): Promise<AuditRow[]> =>
    a.sql<AuditRow>`
      SELECT actor, action, outcome, reason FROM audit_log
      WHERE actor = ${`device:${deviceId}`} AND action = ${action} ORDER BY seq`;
  const level = async (d: TestDevice): Promise<number> => {
    const me = await d.api('deviceMe');
    assert.equal(me.status, 200, JSON.stringify(me.body));
    return me.body.authentication.level;
  };
  const register = async (d: TestDevice, authr: SoftwareAuthenticator): Promise<HttpResult> => {
    const options = await d.api('webauthnRegistrationOptions');
    if (options.status !== 200) return options;
    return d.api('webauthnRegister', { json: { response: authr.register(options.body) } });
  };

  it('the protocol states the set-up level of each factor', () => {
    assert.deepEqual(FACTOR_SETUP_LEVEL, { pin: 2, biometric: 3, photo: 2 });
    assert.equal(SETUP_WINDOW_MS, 30 * 60_000);
  });

  it('the device key alone (a fresh level-1 authentication) cannot register a biometric, so never reaches level 3', async () => {
    const d = await enrolled();
    // Minutes after enrolment, whoever holds the key authenticates again: level 1, key only.
    clock.advance(60_000);
    assert.equal((await d.authenticate()).status, 201);
    assert.equal(await level(d), 1);
    const authr = new SoftwareAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const r = await register(d, authr);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.code, 'factor_setup_not_allowed');
    assert.match(r.body.message, /level 3/);
    // No credential stored, nothing to assert with, the level stays 1.
    const [n] = await a.sql<{ n: number }>`
      SELECT count(*) AS n FROM webauthn_credentials WHERE device_id = ${d.deviceId}`;
    assert.equal(n!.n, 0);
    assert.equal((await d.api('webauthnAssertionOptions')).status, 400);
    assert.equal(await level(d), 1);
    const rows = await audit(d.deviceId, 'factor.setup');
    assert.ok(rows.some((x) => x.outcome === 'failure' && /biometric/.test(x.reason ?? '')));
  });

  it('a PIN (level 2) is not enough to add a biometric; the device key alone cannot set or replace a PIN or the enrolment photo', async () => {
    const d = await enrolled();
    assert.equal((await d.api('setPin', { json: { pin: '842913' } })).status, 200);
    clock.advance(60_000);
    assert.equal((await d.authenticate()).status, 201);
    // Key alone: replacing the PIN and the enrolment photo is refused.
    const pin = await d.api('setPin', { json: { pin: '371962' } });
    assert.equal(pin.status, 403, JSON.stringify(pin.body));
    assert.match(pin.body.message, /level 2/);
    const photo = await d.api('photo', {
      query: { purpose: 'enrolment' },
      raw: FAKE_JPEG,
      contentType: 'image/jpeg',
    });
    assert.equal(photo.status, 403, JSON.stringify(photo.body));
    // PIN: level 2. A biometric grants 3: still refused.
    assert.equal((await d.api('pinFactor', { json: { pin: '842913' } })).status, 200);
    assert.equal(await level(d), 2);
    const authr = new SoftwareAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const r = await register(d, authr);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    // Level 2 may change the PIN and the enrolment photo (each grants at most 2).
    assert.equal((await d.api('setPin', { json: { pin: '550021' } })).status, 200);
    const photo2 = await d.api('photo', {
      query: { purpose: 'enrolment' },
      raw: FAKE_JPEG,
      contentType: 'image/jpeg',
    });
    assert.equal(photo2.status, 201, JSON.stringify(photo2.body));
    // The old PIN no longer works; the new one does.
    assert.equal((await d.authenticate()).status, 201);
    assert.equal((await d.api('pinFactor', { json: { pin: '842913' } })).status, 401);
    assert.equal((await d.api('pinFactor', { json: { pin: '550021' } })).status, 200);
  });

  it("the enrolment's own authentication sets every factor within its window, not after", async () => {
    const d = await enrolled();
    assert.equal(d.authentication.level, 1);
    assert.ok(d.setupUntil, 'the enrolment answer says until when factors can be set up');
    assert.equal(Date.parse(d.setupUntil) - clock.now(), SETUP_WINDOW_MS);
    const me = await d.api('deviceMe');
    assert.deepEqual(me.body.setup, { until: d.setupUntil, pin: true, biometric: true, photo: true });
    assert.equal((await d.api('setPin', { json: { pin: '246801' } })).status, 200);
    const authr = new SoftwareAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    assert.equal((await register(d, authr)).status, 201);
    const photo = await d.api('photo', {
      query: { purpose: 'enrolment' },
      raw: FAKE_JPEG,
      contentType: 'image/jpeg',
    });
    assert.equal(photo.status, 201);
    // Options fetched just inside the window, the registration sent just after: refused.
    const second = new SoftwareAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    clock.advance(SETUP_WINDOW_MS - 1_000);
    const options = await d.api('webauthnRegistrationOptions');
    assert.equal(options.status, 200);
    clock.advance(2_000);
    const late = await d.api('webauthnRegister', { json: { response: second.register(options.body) } });
    assert.equal(late.status, 403, JSON.stringify(late.body));
    const afterMe = await d.api('deviceMe');
    assert.deepEqual(afterMe.body.setup, { until: null, pin: false, biometric: false, photo: false });
    // Level 3 (the registered biometric) may add another biometric.
    const up = await d.api('webauthnFactor', {
      json: { response: authr.assert((await d.api('webauthnAssertionOptions')).body) },
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.level, 3);
    assert.equal((await register(d, second)).status, 201);
    const ok = (await audit(d.deviceId, 'factor.setup')).filter((x) => x.outcome === 'success');
    assert.ok(ok.length >= 4, `successful set-ups audited (${ok.length})`);
  });

  it("the customer's other devices are told of a new device and of each factor added, and can acknowledge", async () => {
    const phoneA = await enrolled('Alice phone A');
    assert.equal((await phoneA.api('setPin', { json: { pin: '904172' } })).status, 200);
    const before = (await phoneA.api('deviceMe')).body.notices as { kind: string }[];
    const phoneB = await enrolled('Alice phone B');
    assert.equal((await phoneB.api('setPin', { json: { pin: '123987' } })).status, 200);
    const authr = new SoftwareAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    assert.equal((await register(phoneB, authr)).status, 201);
    const notices = (await phoneA.api('deviceMe')).body.notices as {
      noticeId: string;
      kind: string;
      byDevice: { deviceId: string; label: string | null };
    }[];
    const fresh = notices.slice(before.length);
    assert.deepEqual(
      fresh.map((n) => [n.kind, n.byDevice.label]),
      [
        ['device.enrolled', 'Alice phone B'],
        ['pin.set', 'Alice phone B'],
        ['biometric.added', 'Alice phone B'],
      ],
    );
    // B is not told about its own changes.
    const own = (await phoneB.api('deviceMe')).body.notices as {
      byDevice: { deviceId: string };
    }[];
    assert.ok(own.every((n) => n.byDevice.deviceId !== phoneB.deviceId));
    // Acknowledged notices disappear; another device cannot acknowledge A's notices.
    const foreign = await phoneB.api('acknowledgeNotice', { params: { noticeId: fresh[0]!.noticeId } });
    assert.equal(foreign.status, 404);
    for (const n of fresh)
      assert.equal((await phoneA.api('acknowledgeNotice', { params: { noticeId: n.noticeId } })).status, 200);
    const left = (await phoneA.api('deviceMe')).body.notices as { noticeId: string }[];
    assert.ok(left.every((n) => !fresh.some((f) => f.noticeId === n.noticeId)));
  });
});
