/**
 * Caller recognition (issue 14 item 2): a phone call's caller ID, as a trunk delivers it,
 * is normalised (libphonenumber, default region GB) and looked up in the customers' active
 * numbers. It recognises, it never verifies: "number registered to Alice Martin (not
 * verified)", or "unknown caller" for numbers nobody has, withheld ones and garbage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../authority/src/clock.ts';
import { parseConfig } from '../../authority/src/config.ts';
import { CallerRecognition } from '../../authority/src/customers/caller-recognition.ts';
import type { Services } from '../../authority/src/services.ts';
import type { Db } from '../../authority/src/store/db.ts';
import { TEST_PEPPER } from '../support/authority.ts';
import { openTestServices, type TestServices } from '../support/services.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');

describe('caller recognition by phone number (never proof)', () => {
  let t: TestServices;
  let svc: Services;
  let db: Db;
  let recognition: CallerRecognition;

  before(async () => {
    const config = parseConfig({ pinPepper: TEST_PEPPER, logLevel: 'silent', defaultPhoneRegion: 'GB' });
    t = await openTestServices({ ...config, pinPepper: TEST_PEPPER }, new FakeClock(T0));
    ({ svc, db } = t);
    const customer = (id: string, name: string, phones: [string, number][]) => {
      db.prepare(
        "INSERT INTO customers (id, display_name, attributes, account, created_at) VALUES (?, ?, '{}', '{}', ?)",
      ).run(id, name, T0);
      for (const [e164, active] of phones)
        db.prepare(
          'INSERT INTO customer_phones (customer_id, e164, label, active) VALUES (?, ?, NULL, ?)',
        ).run(id, e164, active);
    };
    customer('c_alice', 'Alice Martin', [['+447911123456', 1]]);
    customer('c_bob', 'Bob Okafor', [['+442079460000', 1]]);
    customer('c_gone', 'Gone Customer', [['+447911123000', 0]]);
    db.prepare(
      "INSERT INTO devices (id, customer_id, public_jwk, enrolled_at) VALUES ('dev_alice', 'c_alice', '{}', ?)",
    ).run(T0);
    recognition = new CallerRecognition(svc.ctx);
  });
  after(() => t?.close());

  it('a registered number, however the trunk writes it, names the customer and says "not verified"', async () => {
    for (const callerId of ['+447911123456', '447911123456', '07911 123456', '+44 7911 123456'])
      assert.deepEqual(
        await recognition.recognise(callerId),
        {
          number: '+447911123456',
          customerId: 'c_alice',
          customerName: 'Alice Martin',
          hasDevice: true,
          verified: false,
          text: 'Phoned in from +44 7911 123456 — number registered to Alice Martin (not verified)',
        },
        callerId,
      );
    const bob = await recognition.recognise('02079460000');
    assert.equal(bob.customerName, 'Bob Okafor');
    assert.equal(bob.hasDevice, false, 'Bob has no enrolled device: no link can be sent, questions instead');
    assert.equal(
      bob.text,
      'Phoned in from +44 20 7946 0000 — number registered to Bob Okafor (not verified)',
    );
  });

  it('unknown, released (deactivated customer), withheld and malformed caller IDs: unknown caller', async () => {
    const unknown = await recognition.recognise('+447911123999');
    assert.deepEqual(unknown, {
      number: '+447911123999',
      customerId: null,
      customerName: null,
      hasDevice: false,
      verified: false,
      text: 'Phoned in from +44 7911 123999 — unknown caller',
    });
    assert.equal(
      (await recognition.recognise('+447911123000')).customerId,
      null,
      'an inactive number recognises nobody',
    );
    for (const withheld of [null, '', 'anonymous', 'Restricted'])
      assert.equal(
        (await recognition.recognise(withheld)).text,
        'Phoned in from a withheld number — unknown caller',
        String(withheld),
      );
    for (const garbage of ['x;drop table', '12', '+44 7911 123456 ext. 5'])
      assert.equal(
        (await recognition.recognise(garbage)).text,
        'Phoned in from an unreadable number — unknown caller',
        garbage,
      );
  });
});
