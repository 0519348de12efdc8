import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../authority/src/clock.ts';
import type { Store } from '../../authority/src/store/engine.ts';
import type { Data } from '../../authority/src/store/repos/index.ts';
import { sql } from 'kysely';
import { signedMessages } from '../../protocol/src/index.ts';
import type { Ctx } from '../../authority/src/context.ts';
import { DomainError } from '../../authority/src/errors.ts';
import { sha256b64url } from '../../authority/src/ids.ts';
import { Authentications } from '../../authority/src/identity/authentications.ts';
import { Challenges } from '../../authority/src/identity/challenges.ts';
import { Devices } from '../../authority/src/identity/devices.ts';
import { FactorSetup } from '../../authority/src/identity/factor-setup.ts';
import { verifyStoreAuditChain } from '../../authority/src/store/audit-chain.ts';
import { TestDevice } from '../support/device.ts';
import { until } from '../support/wait.ts';
import { openTestData, testEngines } from '../support/store.ts';

/**
 * The identity repositories (repos/devices.ts, repos/authentications.ts) on each engine:
 * what each method finds, changes and refuses, and that single-use rows (challenges,
 * enrolment codes, device proof ids) are used once by ~20 concurrent units.
 */
const PARALLEL = 20;

for (const engine of testEngines()) {
  describe(`identity repositories on ${engine}`, () => {
    const clock = new FakeClock();
    let h: { data: Data; store: Store; close: () => Promise<void> };
    const T0 = clock.now();
    const race = <T>(fn: (d: Data) => Promise<T>) =>
      Promise.all(Array.from({ length: PARALLEL }, () => fn(h.data)));

    before(async () => {
      h = await openTestData(engine, clock);
      // customers are seeded with the store's own unit: their repository belongs to another area
      await h.store.tx((t) =>
        t
          .insertInto('customers')
          .values([
            { id: 'cu1', display_name: 'Ada', created_at: T0 },
            { id: 'cu2', display_name: 'Gone', created_at: T0, deactivated_at: T0 },
          ])
          .execute(),
      );
    });
    after(() => h?.close());

    it('devices: insert once per key, found by id, the customer’s other active devices', async () => {
      const dev = (id: string, customer = 'cu1') => ({
        id,
        customer_id: customer,
        public_jwk: '{}',
        label: `phone ${id}`,
        enrolled_at: T0,
      });
      const wins = await race((d) => d.tx((r) => r.devices.insert(dev('d1'))));
      assert.equal(wins.filter(Boolean).length, 1, 'one enrolment per key under concurrency');
      await h.data.tx(async (r) => {
        assert.equal(await r.devices.insert(dev('d2')), true);
        assert.equal(await r.devices.insert(dev('d3')), true);
      });
      assert.deepEqual(await h.data.read.devices.get('d1'), { ...dev('d1'), revoked_at: null });
      assert.equal(await h.data.read.devices.get('nope'), undefined);
      assert.deepEqual(await h.data.read.devices.otherActiveDeviceIds('cu1', 'd1'), ['d2', 'd3']);
      assert.equal(await h.data.read.devices.customerName('cu1'), 'Ada');
      assert.equal(await h.data.read.devices.customerName('nope'), undefined);
      assert.equal(await h.data.read.devices.isCustomerActive('cu1'), true);
      assert.equal(await h.data.read.devices.isCustomerActive('cu2'), false);
      assert.equal(await h.data.read.devices.isCustomerActive('nope'), false);
      await assert.rejects(
        h.data.read.devices.insert(dev('d9')),
        /writes go through a unit of work/,
        'the read handle refuses writes',
      );
    });

    it('enrolment codes: used once under concurrency; expired, unknown and deactivated customers refused; re-arm', async () => {
      await h.data.tx(async (r) => {
        await r.devices.putEnrolmentCode('code-a', 'cu1', T0 + 60_000);
        await r.devices.putEnrolmentCode('code-old', 'cu1', T0 - 1);
        await r.devices.putEnrolmentCode('code-gone', 'cu2', T0 + 60_000);
      });
      const used = await race((d) => d.tx((r) => r.devices.consumeEnrolmentCode('code-a')));
      assert.deepEqual(
        used.filter(Boolean),
        ['cu1'],
        'exactly one of the concurrent units enrols with the code',
      );
      const none = await h.data.tx(async (r) => [
        await r.devices.consumeEnrolmentCode('code-a'),
        await r.devices.consumeEnrolmentCode('code-old'),
        await r.devices.consumeEnrolmentCode('code-gone'),
        await r.devices.consumeEnrolmentCode('no-such-code'),
      ]);
      assert.deepEqual(none, [undefined, undefined, undefined, undefined]);
      // re-armed (the demo seed does this at each start): usable once again
      await h.data.tx((r) => r.devices.putEnrolmentCode('code-a', 'cu1', T0 + 120_000));
      const again = await race((d) => d.tx((r) => r.devices.consumeEnrolmentCode('code-a')));
      assert.deepEqual(again.filter(Boolean), ['cu1']);
    });

    it('challenges: consumed once under concurrency, only for their purpose, never when expired; prune', async () => {
      const ch = (id: string, purpose: 'enrol' | 'authenticate', expires_at = T0 + 60_000) => ({
        id,
        purpose,
        nonce: `nonce-${id}`,
        device_id: purpose === 'authenticate' ? 'd1' : null,
        authentication_id: null,
        expires_at,
      });
      await h.data.tx(async (r) => {
        await r.devices.insertChallenge(ch('c1', 'authenticate'));
        await r.devices.insertChallenge(ch('c2', 'enrol'));
        await r.devices.insertChallenge(ch('c-old', 'enrol', T0 - 1));
      });
      const got = await race((d) => d.tx((r) => r.devices.consumeChallenge('c1', 'authenticate')));
      assert.deepEqual(got.filter(Boolean), [ch('c1', 'authenticate')]);
      // another purpose neither gets it nor spends it
      assert.equal(await h.data.tx((r) => r.devices.consumeChallenge('c2', 'authenticate')), undefined);
      assert.deepEqual(await h.data.tx((r) => r.devices.consumeChallenge('c2', 'enrol')), ch('c2', 'enrol'));
      assert.equal(await h.data.tx((r) => r.devices.consumeChallenge('c-old', 'enrol')), undefined);
      assert.equal(await h.data.tx((r) => r.devices.consumeChallenge('unknown', 'enrol')), undefined);
      assert.equal(await h.data.tx((r) => r.devices.pruneChallenges(T0)), 1, 'only the expired one');
      assert.equal(await h.data.tx((r) => r.devices.pruneChallenges(T0 + 60_001)), 2);
    });

    it('proof ids: a jti is remembered once under concurrency; prune forgets the expired', async () => {
      const fresh = await race((d) => d.tx((r) => r.devices.rememberProof('d1:jti-1', T0 + 120_000)));
      assert.equal(fresh.filter(Boolean).length, 1, 'one request per proof id');
      await h.data.tx((r) => r.devices.rememberProof('d1:jti-old', T0 - 1));
      assert.equal(await h.data.tx((r) => r.devices.pruneProofs(T0)), 1);
      assert.equal(await h.data.tx((r) => r.devices.rememberProof('d1:jti-1', T0 + 120_000)), false);
      assert.equal(await h.data.tx((r) => r.devices.rememberProof('d1:jti-old', T0 + 120_000)), true);
    });

    it('authentications and tokens: create, step up (concurrent factors all count), read back', async () => {
      const auth = {
        id: 'a1',
        customer_id: 'cu1',
        device_id: 'd1',
        level: 1,
        created_at: T0,
        expires_at: T0 + 3_600_000,
        setup_until: null,
      };
      await h.data.tx(async (r) => {
        await r.authentications.insert(auth);
        assert.equal(
          await r.authentications.insertFactor('a1', {
            kind: 'device',
            at: T0,
            device_id: 'd1',
            detail: null,
          }),
          true,
        );
        assert.equal(
          await r.authentications.insertFactor('a1', {
            kind: 'device',
            at: T0,
            device_id: 'd1',
            detail: 'again',
          }),
          false,
          'the same factor at the same time is recorded once',
        );
        await r.devices.insertToken({
          token_hash: 'tok1',
          device_id: 'd1',
          authentication_id: 'a1',
          expires_at: T0 + 1,
        });
      });
      assert.deepEqual(await h.data.read.authentications.get('a1'), auth);
      assert.equal(await h.data.read.authentications.get('nope'), undefined);
      assert.deepEqual(await h.data.read.devices.token('tok1'), {
        token_hash: 'tok1',
        device_id: 'd1',
        authentication_id: 'a1',
        expires_at: T0 + 1,
        revoked_at: null,
      });
      assert.equal(await h.data.read.devices.token('nope'), undefined);
      const both = await h.data.read.devices.tokenWithDevice('tok1');
      assert.equal(both?.token.authentication_id, 'a1');
      assert.deepEqual(both?.device, await h.data.read.devices.get('d1'));
      assert.deepEqual(both?.authentication, await h.data.read.authentications.get('a1'));
      assert.equal(await h.data.read.devices.tokenWithDevice('nope'), undefined);
      // two step-ups at once: each locks the row, adds its factor, recomputes from all factors
      const kinds = ['pin', 'biometric', 'photo', 'knowledge'] as const;
      await Promise.all(
        kinds.map((kind, i) =>
          h.data.tx(async (r) => {
            const a = await r.authentications.getForUpdate('a1');
            assert.ok(a);
            await r.authentications.insertFactor('a1', {
              kind,
              at: T0 + 1 + i,
              device_id: 'd1',
              detail: null,
            });
            const all = (await r.authentications.factors('a1')).map((f) => f.kind);
            await r.authentications.setLevel('a1', all.includes('biometric') ? 3 : 2);
          }),
        ),
      );
      const factors = await h.data.read.authentications.factors('a1');
      assert.deepEqual(
        factors.map((f) => f.kind),
        ['device', ...kinds],
      );
      assert.equal((await h.data.read.authentications.get('a1'))!.level, 3, 'no step-up was lost');
      await assert.rejects(h.data.read.authentications.setLevel('a1', 0), /unit of work/);
    });

    it('factors proven within one millisecond come back in the order they were proven', async () => {
      const kinds = ['device', 'pin', 'biometric', 'photo'] as const;
      await h.data.tx(async (r) => {
        await r.authentications.insert({
          id: 'a-same-ms',
          customer_id: 'cu1',
          device_id: 'd1',
          level: 1,
          created_at: T0,
          expires_at: T0 + 3_600_000,
          setup_until: null,
        });
        await r.authentications.insertFactor('a-same-ms', {
          kind: 'device',
          at: T0,
          device_id: 'd1',
          detail: null,
        });
      });
      for (const kind of kinds.slice(1))
        await h.data.tx((r) =>
          r.authentications.insertFactor('a-same-ms', { kind, at: T0, device_id: 'd1', detail: null }),
        );
      assert.deepEqual(
        (await h.data.read.authentications.factors('a-same-ms')).map((f) => f.kind),
        kinds,
      );
    });

    it('security notices: listed per device oldest first, acknowledged once per device', async () => {
      await h.data.tx((r) =>
        r.devices.insertNotices([
          { id: 'n2', customer_id: 'cu1', device_id: 'd2', kind: 'pin.set', by_device_id: 'd1', at: T0 + 5 },
          {
            id: 'n1',
            customer_id: 'cu1',
            device_id: 'd2',
            kind: 'device.enrolled',
            by_device_id: 'd1',
            at: T0,
          },
          { id: 'n3', customer_id: 'cu1', device_id: 'd3', kind: 'pin.set', by_device_id: 'd1', at: T0 + 5 },
        ]),
      );
      await h.data.tx((r) => r.devices.insertNotices([]));
      const open = await h.data.read.devices.openNotices('d2');
      assert.deepEqual(open, [
        { id: 'n1', kind: 'device.enrolled', at: T0, by_device_id: 'd1', label: 'phone d1' },
        { id: 'n2', kind: 'pin.set', at: T0 + 5, by_device_id: 'd1', label: 'phone d1' },
      ]);
      assert.equal(
        await h.data.tx((r) => r.devices.acknowledgeNotice('n3', 'd2', T0 + 9)),
        false,
        'not this device’s',
      );
      assert.equal(await h.data.tx((r) => r.devices.acknowledgeNotice('n1', 'd2', T0 + 9)), true);
      assert.equal(
        await h.data.tx((r) => r.devices.acknowledgeNotice('n1', 'd2', T0 + 10)),
        true,
        'again is fine',
      );
      assert.deepEqual(
        (await h.data.read.devices.openNotices('d2')).map((n) => n.id),
        ['n2'],
      );
      assert.deepEqual(
        (await h.data.read.devices.openNotices('d3')).map((n) => n.id),
        ['n3'],
      );
    });

    it('security notices of one millisecond are listed in the order they were written', async () => {
      const ids = ['nz-device', 'ny-pin', 'nx-biometric'];
      for (const [i, id] of ids.entries())
        await h.data.tx((r) =>
          r.devices.insertNotices([
            {
              id,
              customer_id: 'cu1',
              device_id: 'd3',
              kind: i === 0 ? 'device.enrolled' : 'pin.set',
              by_device_id: 'd1',
              at: T0 + 50,
            },
          ]),
        );
      assert.deepEqual(
        (await h.data.read.devices.openNotices('d3')).map((n) => n.id),
        ['n3', ...ids],
      );
    });
  });
}

/**
 * The identity services themselves on each engine (no legacy handle: ctx has only the
 * store), raced: one enrolment per code, one authentication per challenge, one request
 * per device proof, step-ups that all count; every change with its audit row, the audit
 * chain intact.
 */
for (const engine of testEngines()) {
  describe(`identity services on ${engine}`, () => {
    const clock = new FakeClock();
    let h: { data: Data; store: Store; close: () => Promise<void> };
    let devices: Devices;
    let challenges: Challenges;
    let authentications: Authentications;
    const reasonOf = (r: PromiseSettledResult<unknown>) =>
      r.status === 'rejected' && r.reason instanceof DomainError
        ? `${r.reason.kind}: ${r.reason.message}`
        : r.status;
    const audit = async (action: string) =>
      (
        await h.store.db
          .selectFrom('audit_log')
          .select(['outcome', 'reason'])
          .where('action', '=', action)
          .orderBy('seq')
          .execute()
      ).map((a) => `${a.outcome}${a.reason ? `: ${a.reason}` : ''}`);
    const enrolWith = async (d: TestDevice, code: string) => {
      const ch = await challenges.issue('enrol');
      return devices.enrol({
        code,
        publicKey: d.publicJwk,
        challengeId: ch.id,
        signature: d.signMessage(signedMessages.enrolment(ch.id, ch.nonce, code)),
      });
    };

    before(async () => {
      h = await openTestData(engine, clock);
      const ctx = {
        data: h.data,
        clock,
        config: { authenticationTtlSeconds: 3600 },
        get db(): never {
          throw new Error('the identity services used the legacy handle');
        },
      } as unknown as Ctx;
      challenges = new Challenges(ctx);
      authentications = new Authentications(ctx);
      devices = new Devices(ctx, challenges, authentications, new FactorSetup(ctx, authentications));
      await h.store.tx((t) =>
        t
          .insertInto('customers')
          .values({ id: 'cu1', display_name: 'Ada', created_at: clock.now() })
          .execute(),
      );
    });
    after(() => h?.close());
    /** PostgreSQL backends of this database waiting for a lock. */
    const blockedBackends = async () =>
      Number(
        (
          await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(h.store.db)
        ).rows[0]!.n,
      );

    it(`${PARALLEL} devices enrol with one code at once: one is enrolled (device, authentication, token, audit rows), the others refused and audited`, async () => {
      const { code } = await devices.issueEnrolmentCode('cu1', 'RACE-CODE-0001', { actor: 'staff:s1' });
      const phones = Array.from(
        { length: PARALLEL },
        () => new TestDevice('http://unused', () => clock.now()),
      );
      const results = await Promise.allSettled(phones.map((d) => enrolWith(d, code)));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, results.map(reasonOf).join('\n'));
      assert.deepEqual(
        results.filter((r) => r.status === 'rejected').map(reasonOf),
        Array(PARALLEL - 1).fill('unauthenticated: enrolment code unknown, used or expired'),
      );
      const e = won[0]!.value;
      assert.equal(e.customerName, 'Ada');
      assert.equal(e.authentication.level, 1);
      assert.deepEqual(await h.data.read.devices.get(e.device.id), e.device);
      assert.equal(
        (await h.data.read.devices.token(sha256b64url(e.token)))?.authentication_id,
        e.authentication.id,
      );
      assert.deepEqual(
        (await authentications.view(e.authentication.id)).factors.map((f) => f.kind),
        ['device'],
      );
      assert.deepEqual(await audit('enrolment.code'), ['success']);
      assert.deepEqual((await audit('device.enrol')).sort(), [
        ...Array(PARALLEL - 1).fill('failure: enrolment code unknown, used or expired'),
        'success',
      ]);
      assert.deepEqual(await audit('auth.device'), ['success']);
      assert.equal((await verifyStoreAuditChain(h.store.db)).ok, true);
      // the same key again, with a fresh code: refused, and that code stays usable
      await devices.issueEnrolmentCode('cu1', 'RACE-CODE-0002');
      const winner = phones[results.indexOf(won[0]!)]!;
      await assert.rejects(enrolWith(winner, 'RACE-CODE-0002'), /already enrolled/);
      assert.equal((await enrolWith(new TestDevice('http://unused'), 'RACE-CODE-0002')).customerName, 'Ada');
    });

    it(`one challenge signed once, sent ${PARALLEL} times at once: one authentication, the rest refused`, async () => {
      const d = new TestDevice('http://unused', () => clock.now());
      await devices.issueEnrolmentCode('cu1', 'AUTH-CODE-0001');
      d.deviceId = (await enrolWith(d, 'AUTH-CODE-0001')).device.id;
      const ch = await challenges.issue('authenticate', { deviceId: d.deviceId });
      const signature = d.signMessage(signedMessages.authentication(ch.id, ch.nonce, d.deviceId));
      const results = await Promise.allSettled(
        Array.from({ length: PARALLEL }, () =>
          devices.authenticate({ deviceId: d.deviceId, challengeId: ch.id, signature }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      assert.deepEqual(
        results.filter((r) => r.status === 'rejected').map(reasonOf),
        Array(PARALLEL - 1).fill('unauthenticated: challenge unknown, used or expired'),
      );
    });

    it(`one device proof sent ${PARALLEL} times at once: one request passes, the rest are replays`, async () => {
      const d = new TestDevice('http://unused', () => clock.now());
      await devices.issueEnrolmentCode('cu1', 'PROOF-CODE-001');
      const e = await enrolWith(d, 'PROOF-CODE-001');
      d.token = e.token;
      const proof = await d.proof('GET', '/v1/device/me');
      const results = await Promise.allSettled(
        Array.from({ length: PARALLEL }, () =>
          devices.verifyRequest(`Device ${d.token}`, proof, 'GET', '/v1/device/me'),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      assert.equal(ok.length, 1);
      assert.equal(ok[0]!.value.authentication.id, e.authentication.id);
      assert.deepEqual(
        results.filter((r) => r.status === 'rejected').map(reasonOf),
        Array(PARALLEL - 1).fill('unauthenticated: device proof replayed'),
      );
      // a fresh proof still passes; a proof for another path does not
      await devices.verifyRequest(`Device ${d.token}`, await d.proof('GET', '/x'), 'GET', '/x');
      await assert.rejects(
        devices.verifyRequest(`Device ${d.token}`, await d.proof('GET', '/x'), 'GET', '/y'),
        /another request/,
      );
    });

    it('a step-up that commits while another is between its read and its write is not lost (the row lock)', async () => {
      await devices.issueEnrolmentCode('cu1', 'LOCK-CODE-0001');
      const e = await enrolWith(new TestDevice('http://unused', () => clock.now()), 'LOCK-CODE-0001');
      const id = e.authentication.id;
      let open!: () => void;
      let held!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const aHolds = new Promise<void>((resolve) => (held = resolve));
      // A steps up with the biometric and holds its unit open; B steps up with the PIN meanwhile.
      const a = h.data.tx(async (r) => {
        const row = await authentications.addFactorIn(r, id, 'biometric', e.device.id);
        held();
        await gate;
        return row;
      });
      await aHolds;
      const b = h.data.tx((r) => authentications.addFactorIn(r, id, 'pin', e.device.id));
      // B is queued behind A (SQLite's one writer) or waits for A's row lock (PostgreSQL)
      if (engine === 'postgres') await until('B waits for A', async () => (await blockedBackends()) >= 1);
      open();
      assert.equal((await a).level, 3);
      assert.equal((await b).level, 3, 'B saw the biometric A committed');
      const v = await authentications.view(id);
      assert.equal(v.level, 3);
      assert.deepEqual(v.factors.map((f) => f.kind).sort(), ['biometric', 'device', 'pin']);
    });

    it('step-ups at once (PIN, biometric, photo): every factor counts, the level is the highest they reach', async () => {
      const a = await authentications.create('cu1', null, 'knowledge', 'by staff');
      assert.equal(a.level, 1);
      const d = new TestDevice('http://unused', () => clock.now());
      await devices.issueEnrolmentCode('cu1', 'STEP-CODE-0001');
      const e = await enrolWith(d, 'STEP-CODE-0001');
      const head = await h.data.read.outbox.head();
      await Promise.all(
        (['pin', 'biometric', 'photo'] as const).map((k) =>
          authentications.addFactorAlone(e.authentication.id, k, e.device.id),
        ),
      );
      const v = await authentications.view(e.authentication.id);
      assert.deepEqual(v.factors.map((f) => f.kind).sort(), ['biometric', 'device', 'photo', 'pin']);
      assert.equal(v.level, 3);
      const events = await h.data.read.outbox.after(head, ['authentication.changed']);
      assert.equal(events.length, 3, 'each step-up wrote its event');
      await assert.rejects(authentications.addFactorAlone('no-such-id', 'pin', null), /missing/);
    });
  });
}
