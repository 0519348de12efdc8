/**
 * The panel's voice line for a caller from the phone network (issue 14 items 2 and 3): the
 * voice channel stated honestly ("voice: phone network, caller ID matches"), the number as
 * people write it internationally (libphonenumber-js), and "not verified" always: a caller
 * ID recognises, it never verifies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PhoneCallView } from '../../protocol/src/pipeline.ts';
import { internationalNumber, phonedInAdvice, phoneVoiceLine } from '../../renderer/src/format.ts';

const call = (over: Partial<PhoneCallView>): PhoneCallView => ({
  caller: '+447911123456',
  dialled: '+442079460000',
  recognition: 'Phoned in from +44 7911 123456 — number registered to Alice Martin (not verified)',
  callerIdVerified: false,
  unknownCaller: false,
  identifiedByAgent: false,
  endedAt: null,
  ...over,
});
const WEAKER = ' Weaker than a call bound to the verified device: a caller ID can be forged.';

describe('renderer: the voice line of a phone caller', () => {
  it('numbers written internationally, whatever the country', () => {
    assert.equal(internationalNumber('+447911123456'), '+44 7911 123456');
    assert.equal(internationalNumber('+442079460000'), '+44 20 7946 0000');
    assert.equal(internationalNumber('+33612345678'), '+33 6 12 34 56 78');
    assert.equal(internationalNumber('+12025550123'), '+1 202 555 0123');
    assert.equal(internationalNumber('not a number'), 'not a number', 'kept as given when unreadable');
  });

  it('a number registered to the customer: the caller ID matches, not verified', () => {
    assert.equal(
      phoneVoiceLine(call({}), 'Alice Martin'),
      'Voice: phone network, caller ID matches. Phoned in from +44 7911 123456 — number registered to Alice Martin (not verified).' +
        WEAKER,
    );
  });

  it('a caller the agent identified: the number calling is not theirs', () => {
    assert.equal(
      phoneVoiceLine(call({ caller: '+447911123999', identifiedByAgent: true }), 'Bob Okafor'),
      'Voice: phone network, caller ID does not match. Phoned in from +44 7911 123999 — not a number registered to Bob Okafor; the caller says they are Bob Okafor (not verified).' +
        WEAKER,
    );
    assert.equal(
      phoneVoiceLine(call({ caller: null, identifiedByAgent: true }), 'Bob Okafor'),
      'Voice: phone network, caller ID withheld. Phoned in from a withheld number — the caller says they are Bob Okafor (not verified).' +
        WEAKER,
    );
  });

  it('unknown and withheld callers', () => {
    assert.equal(
      phoneVoiceLine(call({ caller: '+447911123999', unknownCaller: true }), 'Unknown caller'),
      'Voice: phone network, caller ID matches no customer. Phoned in from +44 7911 123999 — unknown caller (not verified).' +
        WEAKER,
    );
    assert.equal(
      phoneVoiceLine(call({ caller: null, unknownCaller: true }), 'Unknown caller'),
      'Voice: phone network, caller ID withheld. Phoned in from a withheld number — unknown caller (not verified).' +
        WEAKER,
    );
  });

  it('"not verified" in every case', () => {
    for (const c of [
      call({}),
      call({ identifiedByAgent: true }),
      call({ unknownCaller: true }),
      call({ caller: null, unknownCaller: true }),
    ])
      assert.match(phoneVoiceLine(c, 'Alice Martin'), /\(not verified\)\./);
  });

  it('the advice under "Phoned in": questions while unverified; the level reached once verified, never the caller ID', () => {
    assert.equal(
      phonedInAdvice(0),
      'A caller ID can be forged: verify the caller with the security questions before anything secure.',
    );
    // Verified on the phone by the texted link (or by the questions): the line must not send
    // the agent back to the questions, nor call the caller ID proof.
    const verified = phonedInAdvice(3);
    assert.equal(
      verified,
      'Verified at level 3 since the call came in (the verification below), not by the caller ID. The voice is still the phone network’s.',
    );
    assert.doesNotMatch(verified, /security questions/);
  });
});
