/**
 * The console's confirm composer reads amounts as agents type them (issue 15, small list:
 * "the amount field refuses 1,500.00"): group separators of the locale, either decimal mark,
 * never floating-point rounding; anything ambiguous or malformed is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confirmCommand, minorUnits } from '../../renderer/src/state/command-drafts.ts';

describe('amount field of the confirm composer', () => {
  it('accepts grouped amounts in the agent’s locale', () => {
    assert.equal(minorUnits('1,500.00', 'GBP', 'en-GB'), 150_000);
    assert.equal(minorUnits('1,500', 'GBP', 'en-GB'), 150_000);
    assert.equal(minorUnits('12,345,678.9', 'GBP', 'en-GB'), 1_234_567_890);
    assert.equal(minorUnits('1.500,00', 'EUR', 'de-DE'), 150_000);
    assert.equal(minorUnits('1 500,00', 'EUR', 'fr-FR'), 150_000);
    assert.equal(minorUnits('1\u202f500,00', 'EUR', 'fr-FR'), 150_000);
    assert.equal(minorUnits('12,50', 'EUR', 'de-DE'), 1250);
    assert.equal(minorUnits('12.5', 'GBP', 'en-GB'), 1250);
    assert.equal(minorUnits('1,000', 'JPY', 'ja-JP'), 1000);
  });
  it('refuses misplaced separators, too many decimals and signs', () => {
    for (const bad of [
      '1,50,0.00',
      '1,500.00.00',
      '1.500,00,00',
      ',5',
      '1,5000.00',
      '-3',
      '1.234',
      '12a',
      '',
    ])
      assert.equal(minorUnits(bad, 'GBP', 'en-GB'), null, bad);
  });
  it('a confirm command built from "1,500.00" carries 150000 minor units', () => {
    const d = confirmCommand(
      { amount: '1,500.00', currency: 'GBP', payee: 'Northwind', reference: 'INV-1', terms: 'I agree' },
      'en-GB',
    );
    assert.ok(d.ok, JSON.stringify(d));
    assert.equal(d.ok && d.value.kind === 'confirm' && d.value.payload.transaction.amount, 150_000);
  });
});
