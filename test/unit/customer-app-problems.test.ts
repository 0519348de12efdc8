/** Issue 15 (defects 8, 10, weak PINs): what the customer app says when offline, locked out or choosing a weak PIN. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageOf, AppStore } from '../../customer/app/src/state/app-state.ts';
import { newPinProblem, OFFLINE_MESSAGE } from '../../customer/app/src/state/problems.ts';
import { AuthorityError } from '../../customer/sdk/index.ts';

describe('customer app: plain words for offline, PIN waits and weak PINs', () => {
  it('never shows "Failed to fetch": says the phone is offline and that it will try again', () => {
    assert.equal(messageOf(new TypeError('Failed to fetch')), OFFLINE_MESSAGE);
    assert.equal(messageOf(new AuthorityError(0, 'http_error', 'pinFactor: unreachable')), OFFLINE_MESSAGE);
    assert.match(OFFLINE_MESSAGE, /offline/);
    assert.match(OFFLINE_MESSAGE, /try again as soon as you are back online/);
  });

  it('keeps the wait the authority gave with a wrong PIN, for the countdown', async () => {
    const store = new AppStore();
    await store.run('Checking…', () =>
      Promise.reject(
        new AuthorityError(423, 'locked', 'too many PIN failures: try again in 30 s', {
          retryAfterSeconds: 30,
        }),
      ),
    );
    const s = store.getState();
    assert.equal(s.error, 'Too many PIN failures: try again in 30 s');
    assert.ok(s.retryAt !== null && s.retryAt > Date.now() + 28_000 && s.retryAt <= Date.now() + 30_000);
  });

  it('refuses 1234, 1111, 4321 and 1212 while choosing, with the reason', () => {
    assert.match(newPinProblem('1234', '1234') ?? '', /too easy to guess \(a sequence of digits\)/);
    assert.match(newPinProblem('1111', '1111') ?? '', /same digit/);
    assert.match(newPinProblem('4321', '4321') ?? '', /sequence/);
    assert.match(newPinProblem('1212', '1212') ?? '', /repeated/);
    assert.equal(newPinProblem('482913', '482913'), null);
    assert.match(newPinProblem('482913', '482914') ?? '', /different/);
  });
});
