import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  historyWrapUp,
  levelLine,
  missedLine,
  statusBarLink,
  timeOfDay,
  verifiedWith,
} from '../../renderer/src/format.ts';
import { verifiedText } from '../../customer/app/src/format.ts';

/** Issue 15's smaller console items: the words the console shows. */
describe('renderer: honest words in the console', () => {
  it('times of day without seconds', () => {
    const t = timeOfDay('2026-12-04T05:07:42Z');
    assert.doesNotMatch(t, /:42/);
    assert.match(t, /\d{1,2}[:.]07/);
  });

  it('the footer names the console host, not the authority, when the local link is down', () => {
    assert.deepEqual(statusBarLink('reconnecting', 'connected'), {
      label: 'Console host',
      text: 'unreachable',
    });
    assert.deepEqual(statusBarLink('open', 'connected'), { label: 'Authority', text: 'connected' });
    assert.deepEqual(statusBarLink('open', 'reconnecting'), { label: 'Authority', text: 'reconnecting' });
    assert.deepEqual(statusBarLink('open', null), { label: 'Authority', text: '…' });
  });

  it('History: a hand-off owed no wrap-up; a completed request without one is flagged', () => {
    const entry = { completedAt: null, wrapUpState: 'none' } as const;
    assert.deepEqual(historyWrapUp(entry), { text: 'Not owed', tone: 'muted' });
    assert.deepEqual(historyWrapUp({ completedAt: '2026-12-04T05:07:00Z', wrapUpState: 'none' }), {
      text: 'Not recorded',
      tone: 'warn',
    });
    assert.deepEqual(historyWrapUp({ completedAt: '2026-12-04T05:07:00Z', wrapUpState: 'sent' }), {
      text: 'Sent',
      tone: 'good',
    });
  });

  it('the level line never reads "Level 3 of 2 required"', () => {
    assert.equal(levelLine(3, 2), 'Level 3 · this request needs 2');
    assert.equal(levelLine(1, 2), 'Level 1 · this request needs 2');
  });

  it('"how they were verified" names the factors used, each once, not "PIN or photo"', () => {
    assert.equal(verifiedWith([{ kind: 'device' as const }, { kind: 'pin' as const }]), 'Device key + PIN');
    assert.equal(
      verifiedWith([
        { kind: 'device' as const },
        { kind: 'biometric' as const },
        { kind: 'biometric' as const },
      ]),
      'Device key + Fingerprint or face',
    );
    assert.equal(verifiedWith([]), 'No verification');
  });

  it('after Reject the idle card says the agent passed on the offer, not that they missed one', () => {
    assert.match(missedLine(true), /^You passed on an offer/);
    assert.match(missedLine(false), /^You missed an offer/);
  });
});

/** Issue 15: the customer app says how this phone is verified from the factors really used. */
describe('customer app: honest words about the verification', () => {
  it('"Verified: this phone and your PIN" when only the PIN was used, never "PIN or photo"', () => {
    const pinOnly = {
      level: 2,
      factors: [{ kind: 'device' }, { kind: 'pin' }],
    };
    assert.equal(verifiedText(pinOnly), 'Verified: this phone and your PIN');
    assert.doesNotMatch(verifiedText(pinOnly), /or photo/);
    assert.equal(
      verifiedText({
        level: 2,
        factors: [{ kind: 'device' }, { kind: 'photo' }],
      }),
      'Verified: this phone and your photo',
    );
    assert.equal(
      verifiedText({
        level: 3,
        factors: [{ kind: 'device' }, { kind: 'pin' }, { kind: 'biometric' }, { kind: 'biometric' }],
      }),
      'Verified: this phone, your PIN and your fingerprint',
    );
    assert.equal(verifiedText({ level: 1, factors: [{ kind: 'device' }] }), 'Verified: this phone');
    assert.equal(verifiedText(null), 'Not verified');
    assert.equal(
      verifiedText({ level: 2 }),
      'Verified: this phone and your PIN or photo',
      'no factors known',
    );
  });
});
