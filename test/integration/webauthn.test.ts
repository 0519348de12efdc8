/**
 * docs/reliability.md rows 4-6, against a real authority over loopback HTTP with a software
 * authenticator:
 *   4. WebAuthn assertions cannot be replayed (1,000 replays; 50 parallel uses of one
 *      challenge; a challenge older than its timeout),
 *   5. "fingerprint" means user verification (options say 'required'; UV=0 refused),
 *   6. origin and RP ID are bound (origin variants + wrong rpIdHash).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin, type HttpResult } from '../support/http.ts';
import { SoftwareAuthenticator, sha256, type CeremonyKnobs } from '../support/webauthn-authenticator.ts';

const ORIGIN = 'http://localhost:5173';
const RP_ID = 'localhost';
const CEREMONY_TIMEOUT_MS = 120_000;

interface CredentialRow {
  counter: number;
  counter_anomaly_at: number | null;
}

/** Run `fn` over `items` with at most `width` requests in flight. */
async function inBatches<T, R>(
  items: T[],
  width: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map((x, j) => fn(x, i + j)))));
  }
  return out;
}

const ok = (r: HttpResult) => r.status >= 200 && r.status < 300;

class Harness {
  private adminToken = '';
  constructor(
    readonly a: TestAuthority,
    readonly now: () => number = Date.now,
  ) {}

  async init(): Promise<this> {
    this.adminToken = (await staffLogin(this.a.url, 'admin', 'demo-admin-1')).token;
    return this;
  }

  /** A fresh enrolment code for Alice (demo codes are single use). */
  async code(): Promise<string> {
    const r = await api(this.a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(this.adminToken),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.code;
  }

  /** An enrolled, authenticated device (level 1) with a registered software biometric. */
  async biometricDevice(code?: string): Promise<{ device: TestDevice; authr: SoftwareAuthenticator }> {
    const device = await new TestDevice(this.a.url, this.now).enrolAndAuthenticate(
      code ?? (await this.code()),
    );
    const authr = new SoftwareAuthenticator({ origin: ORIGIN, rpId: RP_ID });
    const options = await device.api('webauthnRegistrationOptions');
    assert.equal(options.status, 200, JSON.stringify(options.body));
    const r = await device.api('webauthnRegister', { json: { response: authr.register(options.body) } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.credentialId, authr.id);
    return { device, authr };
  }

  async assertionOptions(device: TestDevice): Promise<any> {
    const r = await device.api('webauthnAssertionOptions');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  }

  /** Fresh options, one assertion with `knobs`, submitted. */
  async stepUp(
    device: TestDevice,
    authr: SoftwareAuthenticator,
    knobs: CeremonyKnobs = {},
  ): Promise<HttpResult> {
    const options = await this.assertionOptions(device);
    return device.api('webauthnFactor', { json: { response: authr.assert(options, knobs) } });
  }

  async authentication(device: TestDevice): Promise<{ level: number; factors: { kind: string }[] }> {
    const me = await device.api('deviceMe');
    assert.equal(me.status, 200, JSON.stringify(me.body));
    return me.body.authentication;
  }

  async credential(id: string): Promise<CredentialRow> {
    const [row] = await this.a.sql<CredentialRow>`
      SELECT counter, counter_anomaly_at FROM webauthn_credentials WHERE id = ${id}`;
    assert.ok(row, `credential ${id} is stored`);
    return row;
  }

  async credentialsOfDevice(deviceId: string): Promise<number> {
    const [r] = await this.a.sql<{ n: number }>`
      SELECT count(*) AS n FROM webauthn_credentials WHERE device_id = ${deviceId}`;
    return r!.n;
  }

  async credentialCount(): Promise<number> {
    const [r] = await this.a.sql<{ n: number }>`SELECT count(*) AS n FROM webauthn_credentials`;
    return r!.n;
  }
}

describe('WebAuthn biometric factor (real HTTP, real SQLite, software authenticator)', () => {
  let a: TestAuthority;
  let h: Harness;
  before(async () => {
    a = await startTestAuthority({ rpId: RP_ID, origins: [ORIGIN] });
    h = await new Harness(a).init();
  });
  after(() => a.dispose());

  it('registers a biometric and steps the authentication up from level 1 to level 3', async () => {
    const { device, authr } = await h.biometricDevice('ALICE-DEMO-2026');
    assert.equal((await h.authentication(device)).level, 1);
    const r = await h.stepUp(device, authr);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.level, 3);
    assert.deepEqual(
      r.body.factors.map((f: any) => [f.kind, f.deviceId]),
      [
        ['device', device.deviceId],
        ['biometric', device.deviceId],
      ],
    );
    assert.equal(r.body.expiresAt, device.authentication.expiresAt, 'the step-up does not move the expiry');
    const me = await device.api('deviceMe');
    assert.equal(me.body.enrolled.biometric, true);
    assert.equal(
      (await h.credential(authr.id)).counter,
      authr.counter,
      'the stored counter moved to the asserted one',
    );
  });

  it('row 5: registration and assertion options say userVerification "required" (and bind rp, timeout, credential)', async () => {
    const device = await new TestDevice(a.url).enrolAndAuthenticate(await h.code());
    const reg = await device.api('webauthnRegistrationOptions');
    assert.equal(reg.status, 200);
    assert.equal(reg.body.authenticatorSelection.userVerification, 'required');
    assert.equal(reg.body.rp.id, RP_ID);
    assert.equal(reg.body.timeout, CEREMONY_TIMEOUT_MS);
    assert.equal(reg.body.attestation, 'none');
    assert.ok(
      reg.body.pubKeyCredParams.some((p: any) => p.alg === -7),
      'ES256 offered',
    );
    // Assertion options before any credential: refused, there is nothing to verify.
    assert.equal((await device.api('webauthnAssertionOptions')).status, 400);
    const authr = new SoftwareAuthenticator({ origin: ORIGIN });
    assert.equal(
      (await device.api('webauthnRegister', { json: { response: authr.register(reg.body) } })).status,
      201,
    );
    const asr = await device.api('webauthnAssertionOptions');
    assert.equal(asr.status, 200);
    assert.equal(asr.body.userVerification, 'required');
    assert.equal(asr.body.rpId, RP_ID);
    assert.equal(asr.body.timeout, CEREMONY_TIMEOUT_MS);
    assert.deepEqual(
      asr.body.allowCredentials.map((c: any) => c.id),
      [authr.id],
    );
    assert.notEqual(asr.body.challenge, reg.body.challenge);
    console.log(
      `options userVerification: registration '${reg.body.authenticatorSelection.userVerification}', assertion '${asr.body.userVerification}'`,
    );
  });

  it('row 5: a registration without user verification is refused and stores nothing', async () => {
    const device = await new TestDevice(a.url).enrolAndAuthenticate(await h.code());
    const before = await h.credentialCount();
    const authr = new SoftwareAuthenticator({ origin: ORIGIN });
    const noUv = await device.api('webauthnRegister', {
      json: {
        response: authr.register((await device.api('webauthnRegistrationOptions')).body, {
          userVerified: false,
        }),
      },
    });
    assert.equal(noUv.status, 401, JSON.stringify(noUv.body));
    assert.match(noUv.body.message, /user verification|could not be verified/i);
    assert.equal(await h.credentialCount(), before);
    assert.equal(await h.credentialsOfDevice(device.deviceId), 0);
    // The same authenticator with UV registers: the refusal was about UV.
    const withUv = await device.api('webauthnRegister', {
      json: { response: authr.register((await device.api('webauthnRegistrationOptions')).body) },
    });
    assert.equal(withUv.status, 201, JSON.stringify(withUv.body));
  });

  it('row 5: 100 assertions with UV=0 (each on a fresh challenge) are 100% refused; the level stays 2', async () => {
    const { device, authr } = await h.biometricDevice();
    // Level 2 with the PIN (set within the enrolment's set-up window).
    assert.equal((await device.api('setPin', { json: { pin: '482913' } })).status, 200);
    const pin = await device.api('pinFactor', { json: { pin: '482913' } });
    assert.equal(pin.status, 200, JSON.stringify(pin.body));
    assert.equal(pin.body.level, 2);
    const N = 100;
    const results = await inBatches(Array.from({ length: N }), 10, () =>
      h.stepUp(device, authr, { userVerified: false }),
    );
    const accepted = results.filter(ok).length;
    console.log(
      `UV=0 assertions accepted as biometric: ${accepted}/${N} (rejected ${(((N - accepted) / N) * 100).toFixed(0)}%)`,
    );
    assert.equal(accepted, 0);
    for (const r of results) {
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.match(r.body.message, /user verification|could not be verified/i);
    }
    // UP=0 (no presence at all) is no better.
    const noUp = await h.stepUp(device, authr, { userPresent: false, userVerified: false });
    assert.equal(noUp.status, 401);
    const auth = await h.authentication(device);
    assert.equal(auth.level, 2);
    assert.ok(!auth.factors.some((f) => f.kind === 'biometric'), 'no biometric factor recorded');
    // Control: the same authenticator with UV=1 on the same authentication reaches level 3.
    const withUv = await h.stepUp(device, authr);
    assert.equal(withUv.status, 200, JSON.stringify(withUv.body));
    assert.equal(withUv.body.level, 3);
  });

  it('row 4: the same assertion replayed 1,000 times is accepted 0 times', async () => {
    const { device, authr } = await h.biometricDevice();
    const options = await h.assertionOptions(device);
    const assertion = authr.assert(options);
    const first = await device.api('webauthnFactor', { json: { response: assertion } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.level, 3);
    const counterAfterFirst = (await h.credential(authr.id)).counter;
    // Replays from the same authentication and from a fresh authentication of the same device.
    const fresh: TestDevice = Object.assign(Object.create(TestDevice.prototype), device);
    assert.equal((await fresh.authenticate()).status, 201);
    assert.notEqual(fresh.token, device.token);
    assert.equal(fresh.authentication.level, 1);
    const N = 1000;
    const results = await inBatches(Array.from({ length: N }), 25, (_, i) =>
      (i % 2 ? fresh : device).api('webauthnFactor', { json: { response: assertion } }),
    );
    const accepted = results.filter(ok).length;
    console.log(`replays accepted: ${accepted}/${N}`);
    assert.equal(accepted, 0);
    for (const r of results) {
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.match(r.body.message, /challenge/);
    }
    assert.equal((await h.credential(authr.id)).counter, counterAfterFirst, 'no replay moved the counter');
    assert.equal((await h.authentication(fresh)).level, 1, 'the fresh authentication gained nothing');
  });

  it('row 4: 50 parallel uses of one challenge give exactly 1 success', async () => {
    const { device, authr } = await h.biometricDevice();
    const options = await h.assertionOptions(device);
    // 50 distinct, validly signed assertions over the same challenge (counters 1..50), all in flight together.
    const assertions = Array.from({ length: 50 }, () => authr.assert(options));
    const results = await Promise.all(
      assertions.map((response) => device.api('webauthnFactor', { json: { response } })),
    );
    const successes = results.filter(ok);
    console.log(`parallel uses of one challenge: ${successes.length} success(es) of ${results.length}`);
    assert.equal(successes.length, 1);
    assert.equal(successes[0]!.body.level, 3);
    for (const r of results.filter((x) => !ok(x))) {
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.match(r.body.message, /challenge/);
    }
    const auth = await h.authentication(device);
    assert.equal(auth.factors.filter((f) => f.kind === 'biometric').length, 1);
  });

  it('row 6: origin variants and a wrong rpIdHash are accepted 0 times (the honest one is accepted)', async () => {
    const { device, authr } = await h.biometricDevice();
    const origins: [string, string][] = [
      ['look-alike host (Greek omicron)', 'http://l\u03bfcalhost:5173'],
      ['look-alike suffix domain', 'http://localhost.evil.example:5173'],
      ['other port', 'http://localhost:5174'],
      ['https instead of http', 'https://localhost:5173'],
      ['trailing dot', 'http://localhost.:5173'],
      ['subdomain', 'http://app.localhost:5173'],
      ['null origin', 'null'],
      ['uppercase host', 'http://LOCALHOST:5173'],
      ['trailing slash', 'http://localhost:5173/'],
      ['IP literal for the same host', 'http://127.0.0.1:5173'],
      ['no port', 'http://localhost'],
      ['empty origin', ''],
    ];
    const rpIds: [string, CeremonyKnobs][] = [
      ['rpIdHash of evil.example', { rpId: 'evil.example' }],
      ['rpIdHash of localhost.', { rpId: 'localhost.' }],
      ['rpIdHash of the origin instead of the RP ID', { rpIdHash: sha256(ORIGIN) }],
      ['all-zero rpIdHash', { rpIdHash: new Uint8Array(32) }],
    ];
    const others: [string, CeremonyKnobs][] = [
      [
        'framed by another site (crossOrigin + topOrigin)',
        { crossOrigin: true, topOrigin: 'https://evil.example' },
      ],
      ['framed by another site (crossOrigin, no topOrigin)', { crossOrigin: true }],
      ['clientData type webauthn.create', { type: 'webauthn.create' }],
      [
        'signed by another key',
        { signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
      ],
    ];
    const tally = async (cases: [string, CeremonyKnobs][]) => {
      const accepted: string[] = [];
      for (const [name, knobs] of cases) {
        const r = await h.stepUp(device, authr, knobs);
        if (ok(r)) accepted.push(name);
        else assert.equal(r.status, 401, `${name}: ${JSON.stringify(r.body)}`);
      }
      return accepted;
    };
    const acceptedOrigins = await tally(origins.map(([name, origin]) => [name, { origin }]));
    const acceptedRpIds = await tally(rpIds);
    const acceptedOthers = await tally(others);
    console.log(
      `origin variants accepted: ${acceptedOrigins.length}/${origins.length}${acceptedOrigins.length ? ` (${acceptedOrigins.join('; ')})` : ''}`,
    );
    console.log(`wrong rpIdHash accepted: ${acceptedRpIds.length}/${rpIds.length}`);
    console.log(`other binding variants accepted: ${acceptedOthers.length}/${others.length}`);
    assert.deepEqual(acceptedOrigins, []);
    assert.deepEqual(acceptedRpIds, []);
    assert.deepEqual(acceptedOthers, []);
    assert.equal((await h.authentication(device)).level, 1);
    // Control: the honest origin and RP ID are accepted, so every refusal above was about the binding.
    const honest = await h.stepUp(device, authr);
    assert.equal(honest.status, 200, JSON.stringify(honest.body));
    assert.equal(honest.body.level, 3);
  });

  it('row 6: a registration from another origin or for another RP ID is refused', async () => {
    const device = await new TestDevice(a.url).enrolAndAuthenticate(await h.code());
    const before = await h.credentialCount();
    for (const knobs of [
      { origin: 'http://localhost.evil.example:5173' },
      { rpId: 'evil.example' },
      { origin: 'https://localhost:5173' },
    ]) {
      const authr = new SoftwareAuthenticator({ origin: ORIGIN });
      const r = await device.api('webauthnRegister', {
        json: { response: authr.register((await device.api('webauthnRegistrationOptions')).body, knobs) },
      });
      assert.equal(r.status, 401, `${JSON.stringify(knobs)}: ${JSON.stringify(r.body)}`);
    }
    assert.equal(await h.credentialCount(), before);
  });

  it('a counter that goes backwards (or stands still) is refused and the credential is flagged', async () => {
    const { device, authr } = await h.biometricDevice();
    const t0 = Date.now();
    const up = await h.stepUp(device, authr, { counter: 50 });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal((await h.credential(authr.id)).counter, 50);
    assert.equal((await h.credential(authr.id)).counter_anomaly_at, null);
    // A fresh authentication, so a wrongly accepted assertion would show as level 3.
    assert.equal((await device.authenticate()).status, 201);
    // A lower counter under a signature the authenticator did not make: refused, but no
    // clone signal (anyone holding the device could forge that).
    const forged = await h.stepUp(device, authr, {
      counter: 10,
      signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    });
    assert.equal(forged.status, 401, JSON.stringify(forged.body));
    assert.equal(
      (await h.credential(authr.id)).counter_anomaly_at,
      null,
      'an unsigned low counter does not flag the credential',
    );
    // The authenticator itself signs a lower counter: a cloned authenticator.
    const back = await h.stepUp(device, authr, { counter: 49 });
    assert.equal(back.status, 401, JSON.stringify(back.body));
    assert.match(back.body.message, /counter/);
    const row = await h.credential(authr.id);
    assert.equal(row.counter, 50, 'the stored counter did not move back');
    assert.equal(typeof row.counter_anomaly_at, 'number', 'counter_anomaly_at is set');
    assert.ok(
      row.counter_anomaly_at! >= t0 && row.counter_anomaly_at! <= Date.now(),
      'counter_anomaly_at is the time of the refusal',
    );
    const same = await h.stepUp(device, authr, { counter: 50 });
    assert.equal(same.status, 401, JSON.stringify(same.body));
    assert.match(same.body.message, /counter/);
    const auth = await h.authentication(device);
    assert.equal(auth.level, 1);
    console.log(
      `backwards counter: refused (${back.status}), counter_anomaly_at set: ${row.counter_anomaly_at !== null}`,
    );
  });
});

describe('WebAuthn challenge timeout (fake clock)', () => {
  let a: TestAuthority;
  let h: Harness;
  const clock = new FakeClock();
  before(async () => {
    a = await startTestAuthority({ rpId: RP_ID, origins: [ORIGIN] }, { clock });
    h = await new Harness(a, () => clock.now()).init();
  });
  after(() => a.dispose());

  it('row 4: an assertion challenge older than its 120 s timeout is refused; one at 119 s is accepted', async () => {
    const { device, authr } = await h.biometricDevice('ALICE-DEMO-2026');
    const stale = await h.assertionOptions(device);
    assert.equal(stale.timeout, CEREMONY_TIMEOUT_MS);
    clock.advance(CEREMONY_TIMEOUT_MS + 1);
    const late = await device.api('webauthnFactor', { json: { response: authr.assert(stale) } });
    assert.equal(late.status, 401, JSON.stringify(late.body));
    assert.match(late.body.message, /challenge/);
    assert.equal((await h.authentication(device)).level, 1);
    // Control: inside the timeout the same device and authenticator succeed.
    const fresh = await h.assertionOptions(device);
    clock.advance(CEREMONY_TIMEOUT_MS - 1000);
    const inTime = await device.api('webauthnFactor', { json: { response: authr.assert(fresh) } });
    assert.equal(inTime.status, 200, JSON.stringify(inTime.body));
    assert.equal(inTime.body.level, 3);
    console.log(
      `assertion challenge after ${(CEREMONY_TIMEOUT_MS + 1) / 1000} s: refused (${late.status}); after 119 s: accepted`,
    );
  });

  it('a registration challenge older than its timeout is refused', async () => {
    const device = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate('BOB-DEMO-2026');
    const authr = new SoftwareAuthenticator({ origin: ORIGIN });
    const options = await device.api('webauthnRegistrationOptions');
    assert.equal(options.status, 200);
    clock.advance(CEREMONY_TIMEOUT_MS + 1);
    const r = await device.api('webauthnRegister', { json: { response: authr.register(options.body) } });
    assert.equal(r.status, 401, JSON.stringify(r.body));
    assert.match(r.body.message, /challenge/);
    assert.equal(await h.credentialsOfDevice(device.deviceId), 0);
    const me = await device.api('deviceMe');
    assert.equal(me.body.enrolled.biometric, false);
  });
});
