import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { weakPinReason } from '../../protocol/src/index.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';

describe('weak PINs are refused when a PIN is chosen (issue 15)', () => {
  let a: TestAuthority;
  before(async () => {
    a = await startTestAuthority();
  });
  after(() => a.dispose());

  it('refuses 1234, 1111, 123456, 4321 ... with a 400 that says why; nothing is stored; a strong PIN is kept', async () => {
    const d = await new TestDevice(a.url).enrolAndAuthenticate('ALICE-DEMO-2026');
    for (const pin of [
      '1234',
      '1111',
      '123456',
      '4321',
      '987654',
      '0000',
      '7890',
      '121212',
      '2580',
      '1212',
    ]) {
      const r = await d.api('setPin', { json: { pin } });
      assert.equal(r.status, 400, `${pin}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.message, /too easy to guess/);
    }
    assert.equal((await d.api('pinFactor', { json: { pin: '1234' } })).status, 409);
    assert.equal((await d.api('setPin', { json: { pin: '482913' } })).status, 200);
    // Verifying is not choosing: a wrong weak guess is a normal wrong PIN (401), not a 400.
    assert.equal((await d.api('pinFactor', { json: { pin: '1234' } })).status, 401);
    assert.equal((await d.api('pinFactor', { json: { pin: '482913' } })).body.level, 2);
  });

  it('names the reason for each kind of weak PIN', () => {
    assert.match(weakPinReason('1111') ?? '', /same digit/);
    assert.match(weakPinReason('123456') ?? '', /sequence/);
    assert.match(weakPinReason('4321') ?? '', /sequence/);
    assert.match(weakPinReason('121212') ?? '', /repeat/);
    assert.match(weakPinReason('2580') ?? '', /common/);
    assert.equal(weakPinReason('482913'), null);
    assert.equal(weakPinReason('246810'), null);
  });
});
