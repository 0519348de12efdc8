import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../authority/src/clock.ts';
import type { Ctx } from '../../authority/src/context.ts';
import { DomainError } from '../../authority/src/errors.ts';
import { Authentications } from '../../authority/src/identity/authentications.ts';
import type { DevicePrincipal } from '../../authority/src/identity/devices.ts';
import { FactorSetup } from '../../authority/src/identity/factor-setup.ts';
import { PIN_MAX_FAILURES, PinFactor } from '../../authority/src/identity/pin.ts';
import type { SecretHasher } from '../../authority/src/identity/secrets.ts';
import type { Store } from '../../authority/src/store/engine.ts';
import type { Data } from '../../authority/src/store/repos/index.ts';
import { openTestData, testEngines } from '../support/store.ts';

/**
 * The factors repository (repos/factors.ts: pins, webauthn_credentials, photos,
 * knowledge_questions and the knowledge lockout of customers) on each engine: what each
 * method finds, changes and refuses; that a lockout hands out at most `max` reservations
 * to ~20 concurrent units; and that a credential id, a counter step and a photo's verdict
 * are each taken once under concurrency.
 */
const PARALLEL = 20;
const HARD_LOCK = Number.MAX_SAFE_INTEGER;

for (const engine of testEngines()) {
  describe(`factors repository on ${engine}`, () => {
    const clock = new FakeClock();
    let h: { data: Data; store: Store; close: () => Promise<void> };
    const T0 = clock.now();
    const race = <T>(fn: (d: Data) => Promise<T>) =>
      Promise.all(Array.from({ length: PARALLEL }, () => fn(h.data)));

    before(async () => {
      h = await openTestData(engine, clock);
      // customers, devices and staff belong to other repositories: seeded with the store's own unit
      await h.store.tx(async (t) => {
        await t
          .insertInto('customers')
          .values([
            { id: 'cu1', display_name: 'Ada', created_at: T0 },
            { id: 'cu2', display_name: 'Bea', created_at: T0 },
          ])
          .execute();
        await t
          .insertInto('devices')
          .values([
            { id: 'd1', customer_id: 'cu1', public_jwk: '{}', label: 'phone', enrolled_at: T0 },
            { id: 'd2', customer_id: 'cu2', public_jwk: '{}', label: 'tablet', enrolled_at: T0 },
          ])
          .execute();
        await t
          .insertInto('staff')
          .values({
            id: 'st1',
            username: 'sam',
            display_name: 'Sam Agent',
            role: 'agent',
            password_hash: 'x',
            created_at: T0,
          })
          .execute();
      });
    });
    after(() => h?.close());

    it('PIN: set and replaced, at most max attempts reserved by 20 concurrent units, locks, cleared', async () => {
      const read = h.data.read.factors;
      assert.equal(await read.hasPin('cu1'), false);
      assert.equal((await read.enrolled('cu1')).pin, false);
      assert.equal(await read.pin('cu1'), undefined);
      assert.equal(
        await h.data.tx((r) => r.factors.reservePinAttempt('cu1', 10, clock.now())),
        undefined,
        'no PIN: nothing to reserve',
      );
      await h.data.tx((r) => r.factors.setPin('cu1', 'hash-1', T0));
      assert.equal(await read.hasPin('cu1'), true);
      assert.equal((await read.enrolled('cu1')).pin, true);
      assert.deepEqual(await read.pin('cu1'), {
        customer_id: 'cu1',
        hash: 'hash-1',
        failures: 0,
        locked_until: null,
        updated_at: T0,
      });

      const got = await race((d) => d.tx((r) => r.factors.reservePinAttempt('cu1', 10, clock.now())));
      const won = got.filter((g) => g !== undefined);
      assert.equal(won.length, 10, 'exactly max reservations of 20 concurrent attempts');
      assert.deepEqual(
        won.map((g) => g.failures).sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        'each reservation counts once',
      );
      assert.ok(won.every((g) => g.hash === 'hash-1'));
      assert.equal((await read.pin('cu1'))?.failures, 10);

      assert.equal(await h.data.tx((r) => r.factors.clearPinFailures('cu1')), true);
      assert.equal(await h.data.tx((r) => r.factors.clearPinFailures('cu2')), false, 'no PIN to clear');
      assert.equal((await read.pin('cu1'))?.failures, 0);

      // a timed lock refuses until it runs out
      await h.data.tx((r) => r.factors.lockPin('cu1', clock.now() + 30_000));
      assert.equal(await read.pinLockedAt('cu1', clock.now()), true);
      assert.equal(await h.data.tx((r) => r.factors.reservePinAttempt('cu1', 10, clock.now())), undefined);
      clock.advance(30_000);
      assert.equal(await read.pinLockedAt('cu1', clock.now()), false);
      assert.deepEqual(await h.data.tx((r) => r.factors.reservePinAttempt('cu1', 10, clock.now())), {
        hash: 'hash-1',
        failures: 1,
      });
      // the admin lock holds until cleared; setting a new PIN starts over
      await h.data.tx((r) => r.factors.lockPin('cu1', HARD_LOCK));
      assert.equal(await h.data.tx((r) => r.factors.reservePinAttempt('cu1', 10, clock.now())), undefined);
      await h.data.tx((r) => r.factors.setPin('cu1', 'hash-2', clock.now()));
      assert.deepEqual(await read.pin('cu1'), {
        customer_id: 'cu1',
        hash: 'hash-2',
        failures: 0,
        locked_until: null,
        updated_at: clock.now(),
      });
      assert.equal(await read.pinLockedAt('cu1', clock.now()), false);
    });

    it('knowledge: questions in the order added, answers per customer, at most max checks reserved, timed lock', async () => {
      const read = h.data.read.factors;
      await h.data.tx(async (r) => {
        for (const [id, prompt] of [
          ['q-c', 'First pet?'],
          ['q-a', 'Birth town?'],
          ['q-b', 'First car?'],
        ] as const)
          await r.factors.addQuestion({ id, customer_id: 'cu1', prompt, answer_hash: `h-${id}` });
      });
      assert.deepEqual(await read.questions('cu1'), [
        { id: 'q-c', prompt: 'First pet?' },
        { id: 'q-a', prompt: 'Birth town?' },
        { id: 'q-b', prompt: 'First car?' },
      ]);
      assert.deepEqual(await read.questions('cu2'), []);
      assert.equal(await read.answerHash('q-a', 'cu1'), 'h-q-a');
      assert.equal(await read.answerHash('q-a', 'cu2'), undefined, "another customer's question");
      assert.equal(await read.answerHash('nope', 'cu1'), undefined);

      assert.equal(await read.knowledgeLock('nope'), undefined, 'no such customer');
      assert.deepEqual(await read.knowledgeLock('cu1'), { failures: 0, lockedUntil: null });
      assert.equal(
        await h.data.tx((r) => r.factors.reserveKnowledgeAttempt('nope', 5, clock.now())),
        undefined,
      );
      const got = await race((d) => d.tx((r) => r.factors.reserveKnowledgeAttempt('cu1', 5, clock.now())));
      assert.deepEqual(
        got.filter((g) => g !== undefined).sort((a, b) => a - b),
        [1, 2, 3, 4, 5],
        'exactly max checks of 20 concurrent ones',
      );

      const until = clock.now() + 15 * 60_000;
      await h.data.tx((r) => r.factors.lockKnowledge('cu1', until));
      assert.deepEqual(await read.knowledgeLock('cu1'), { failures: 5, lockedUntil: until });
      assert.equal(await read.knowledgeLockedAt('cu1', clock.now()), true);
      assert.equal(await read.knowledgeLockedAt('cu2', clock.now()), false);
      assert.equal(
        await h.data.tx((r) => r.factors.resetExpiredKnowledgeLock('cu1', clock.now())),
        false,
        'a lock still running is not reset',
      );
      clock.set(until);
      assert.equal(await read.knowledgeLockedAt('cu1', clock.now()), false);
      const resets = await race((d) => d.tx((r) => r.factors.resetExpiredKnowledgeLock('cu1', clock.now())));
      assert.equal(resets.filter(Boolean).length, 1, 'an expired lock is reset once');
      assert.deepEqual(await read.knowledgeLock('cu1'), { failures: 0, lockedUntil: null });
      assert.equal(await h.data.tx((r) => r.factors.reserveKnowledgeAttempt('cu1', 5, clock.now())), 1);
      await h.data.tx((r) => r.factors.clearKnowledgeFailures('cu1'));
      assert.deepEqual(await read.knowledgeLock('cu1'), { failures: 0, lockedUntil: null });
      assert.equal(await read.holderName('cu1'), 'Ada');
      assert.equal(await read.holderName('nope'), undefined);
    });

    it('WebAuthn: a credential id registered once, found on its device only, counter moved once, anomaly flagged', async () => {
      const read = h.data.read.factors;
      const cred = (id: string, device = 'd1', customer = 'cu1') => ({
        id,
        customer_id: customer,
        device_id: device,
        public_key: Buffer.from([1, 2, 3, 250]),
        counter: 0,
        transports: '["internal"]',
        created_at: clock.now(),
      });
      assert.equal((await read.enrolled('cu1')).biometric, false);
      const wins = await race((d) => d.tx((r) => r.factors.insertCredential(cred('cred-1'))));
      assert.equal(wins.filter(Boolean).length, 1, 'one registration per credential id');
      assert.equal(
        await h.data.tx((r) => r.factors.insertCredential(cred('cred-1', 'd2', 'cu2'))),
        false,
        'an id registered elsewhere is refused',
      );
      await h.data.tx((r) => r.factors.insertCredential(cred('cred-2')));
      assert.equal((await read.enrolled('cu1')).biometric, true);
      assert.equal((await read.enrolled('cu2')).biometric, false);
      assert.deepEqual(
        (await read.credentialsOfDevice('d1')).map((c) => c.id),
        ['cred-1', 'cred-2'],
      );
      assert.deepEqual(await read.credentialsOfDevice('d2'), []);
      const found = await read.credentialOnDevice('cred-1', 'd1');
      assert.deepEqual(found, { ...cred('cred-1'), created_at: found?.created_at, counter_anomaly_at: null });
      assert.ok(Buffer.isBuffer(found?.public_key), 'the public key comes back as bytes');
      assert.equal(await read.credentialOnDevice('cred-1', 'd2'), undefined, 'not on another device');

      const steps = await race((d) => d.tx((r) => r.factors.advanceCounter('cred-1', 0, 7)));
      assert.equal(steps.filter(Boolean).length, 1, 'the counter moves from 0 once');
      assert.equal(await h.data.tx((r) => r.factors.advanceCounter('cred-1', 0, 8)), false, 'stale counter');
      assert.equal((await read.credentialOnDevice('cred-1', 'd1'))?.counter, 7);
      await h.data.tx((r) => r.factors.markCounterAnomaly('cred-1', clock.now()));
      assert.equal((await read.credentialOnDevice('cred-1', 'd1'))?.counter_anomaly_at, clock.now());
    });

    it('photos: enrolment photo on file, verification photos by authentication, the latest with its comparison, one verdict', async () => {
      const read = h.data.read.factors;
      const photo = (id: string, purpose: string, auth: string | null = 'a1') => ({
        id,
        customer_id: 'cu1',
        device_id: 'd1',
        authentication_id: auth,
        purpose,
        media_type: 'image/png',
        bytes: Buffer.from(`png ${id}`),
        created_at: clock.now(),
      });
      assert.equal(await read.hasEnrolmentPhoto('cu1'), false);
      assert.equal((await read.enrolled('cu1')).photo, false);
      assert.equal(await read.latestVerificationPhoto('a1'), undefined);
      await h.data.tx((r) => r.factors.insertPhoto(photo('p-enrol', 'enrolment')));
      assert.equal(await read.hasEnrolmentPhoto('cu1'), true);
      assert.equal(await read.hasEnrolmentPhoto('cu2'), false);
      assert.deepEqual(await read.enrolled('cu1'), { pin: true, biometric: true, photo: true });
      assert.deepEqual(await read.enrolled('cu2'), { pin: false, biometric: false, photo: false });
      clock.advance(1000);
      await h.data.tx((r) => r.factors.insertPhoto(photo('p-v1', 'verification')));
      clock.advance(1000);
      await h.data.tx((r) => r.factors.insertPhoto(photo('p-v2', 'verification')));
      await h.data.tx((r) => r.factors.insertPhoto(photo('p-other', 'verification', 'a2')));

      const v1 = await read.verificationPhoto('p-v1', 'a1');
      assert.equal(v1?.id, 'p-v1');
      assert.equal(v1?.verdict, null);
      assert.ok(v1 && !('bytes' in v1), 'no bytes in the metadata');
      assert.equal(await read.verificationPhoto('p-v1', 'a2'), undefined, 'another authentication');
      assert.equal(await read.verificationPhoto('p-enrol', 'a1'), undefined, 'not a verification photo');

      const latest = await read.latestVerificationPhoto('a1');
      assert.equal(latest?.id, 'p-v2', 'the latest of the authentication');
      assert.equal(latest?.compared_by_name, null);
      assert.equal((await read.latestVerificationPhoto('a2'))?.id, 'p-other');

      const at = clock.now();
      const verdicts = await race((d) => d.tx((r) => r.factors.recordVerdict('p-v2', 'match', 'st1', at)));
      assert.equal(verdicts.filter(Boolean).length, 1, 'one verdict per photo under concurrency');
      assert.equal(
        await h.data.tx((r) => r.factors.recordVerdict('p-v2', 'no_match', 'st1', at)),
        false,
        'a compared photo keeps its verdict',
      );
      const compared = await read.latestVerificationPhoto('a1');
      assert.equal(compared?.id, 'p-v2', 'still the latest once compared');
      assert.equal(compared?.verdict, 'match');
      assert.equal(compared?.compared_by, 'st1');
      assert.equal(compared?.compared_by_name, 'Sam Agent');
      assert.equal(compared?.compared_at, at);
    });

    it('the read handle refuses writes', async () => {
      await assert.rejects(
        h.data.read.factors.setPin('cu2', 'x', clock.now()),
        /for reads/,
        'writes go through data.tx',
      );
    });
  });
}

/**
 * The PIN factor (identity/pin.ts) on each engine: an attempt is reserved in a committed
 * unit before its hash is evaluated, the hash runs outside any unit of work (the read
 * handle, refused inside a unit, works there), and of 20 concurrent wrong PINs held at the
 * hasher at most PIN_MAX_FAILURES ever reach it; each attempt leaves one audit row.
 */
for (const engine of testEngines()) {
  describe(`PIN factor on ${engine}`, () => {
    const clock = new FakeClock();
    let h: { data: Data; store: Store; close: () => Promise<void> };
    let pin: PinFactor;
    let auths: Authentications;
    let p: DevicePrincipal;
    /** While set, every hash waits for it: the attempts pile up at the hasher. */
    let held: Promise<void> | null = null;
    const seenAtHash: number[] = [];
    const hasher = {
      hash: async (secret: string) => `h:${secret}`,
      verify: async (stored: string, secret: string) => {
        // Outside any unit (data.read throws inside one), and the reservation is already committed.
        seenAtHash.push((await h.data.read.factors.pin('cu1'))?.failures ?? -1);
        onHash?.();
        if (held) await held;
        return stored === `h:${secret}`;
      },
    };
    let onHash: (() => void) | null = null;

    before(async () => {
      h = await openTestData(engine, clock);
      const T0 = clock.now();
      const ctx = {
        data: h.data,
        clock,
        hasher: hasher as unknown as SecretHasher,
        config: { authenticationTtlSeconds: 3600 },
        // the legacy handle is not used on these paths
        db: { prepare: () => ({}) },
      } as unknown as Ctx;
      auths = new Authentications(ctx);
      pin = new PinFactor(ctx, auths, new FactorSetup(ctx, auths));
      await h.store.tx(async (t) => {
        await t.insertInto('customers').values({ id: 'cu1', display_name: 'Ada', created_at: T0 }).execute();
        await t
          .insertInto('devices')
          .values({ id: 'd1', customer_id: 'cu1', public_jwk: '{}', label: 'phone', enrolled_at: T0 })
          .execute();
      });
      // the enrolment's own authentication: it may set the PIN within its window
      const a = await h.data.tx((r) => auths.createIn(r, 'cu1', 'd1', 'device', null, T0 + 600_000));
      const device = (await h.data.read.devices.get('d1'))!;
      p = { kind: 'device', device, authentication: a, tokenHash: 'x' };
      await pin.set(p, '735190');
    });
    after(() => h?.close());

    const auditCount = async (action: string, outcome: string) =>
      (
        await h.store.db
          .selectFrom('audit_log')
          .select('seq')
          .where('action', '=', action)
          .where('outcome', '=', outcome)
          .execute()
      ).length;

    it('20 concurrent wrong PINs: each reserved before its hash, at most 10 hashed, the rest refused as locked', async () => {
      assert.equal(await h.data.read.factors.hasPin('cu1'), true);
      assert.equal(await auditCount('pin.set', 'success'), 1);
      let arrived = 0;
      let refused = 0;
      let release = () => {};
      held = new Promise<void>((r) => (release = r));
      // released once every attempt has either reached the hasher or been refused
      const maybeRelease = () => {
        if (arrived + refused === PARALLEL) release();
      };
      onHash = () => {
        arrived++;
        maybeRelease();
      };
      const outcomes = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) =>
          pin.verify(p, String(100000 + i)).then(
            () => 'accepted',
            (e: unknown) => {
              const kind = e instanceof DomainError ? e.kind : String(e);
              if (kind === 'locked') {
                refused++;
                maybeRelease();
              }
              return kind;
            },
          ),
        ),
      );
      held = null;
      onHash = null;
      assert.equal(arrived, PIN_MAX_FAILURES, 'exactly 10 hashes evaluated');
      assert.ok(
        seenAtHash.every((f) => f >= 1),
        `every hash saw its own reservation committed: ${seenAtHash.join(',')}`,
      );
      assert.equal(outcomes.filter((o) => o === 'unauthenticated').length, PIN_MAX_FAILURES);
      assert.equal(outcomes.filter((o) => o === 'locked').length, PARALLEL - PIN_MAX_FAILURES);
      assert.deepEqual(await pin.state('cu1'), { failures: PIN_MAX_FAILURES, lockedUntil: 'admin' });
      assert.equal(await auditCount('auth.pin', 'failure'), PARALLEL, 'one audit row per attempt');
      // the right PIN stays refused, without a hash
      seenAtHash.length = 0;
      await assert.rejects(pin.verify(p, '735190'), (e: DomainError) => e.kind === 'locked');
      assert.deepEqual(seenAtHash, []);
    });

    it('an admin unlock restores the PIN; the right PIN steps up, and its unit writes "authentication.changed" with it', async () => {
      assert.equal(await pin.unlock('cu1', 'staff:admin'), true);
      assert.equal(await pin.unlock('nobody', 'staff:admin'), false);
      assert.equal(await auditCount('pin.unlock', 'success'), 1);
      assert.equal(await auditCount('pin.unlock', 'failure'), 1);
      const head = await h.data.read.outbox.head();
      const a = await pin.verify(p, '735190');
      assert.ok(a.level >= 2, `level ${a.level}`);
      // the event is committed with the step-up: its consumer reads the new level
      const events = await h.data.read.outbox.after(head, ['authentication.changed']);
      assert.deepEqual(
        events.map((e) => JSON.parse(e.payload)),
        [{ authenticationId: p.authentication.id }],
      );
      assert.equal((await h.data.read.authentications.get(p.authentication.id))?.level, a.level);
      assert.deepEqual(await pin.state('cu1'), { failures: 0, lockedUntil: null });
      assert.equal(await auditCount('auth.pin', 'success'), 1);
    });
  });
}
