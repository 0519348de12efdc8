import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { historyWrapUp, statusBarLink, timeOfDay } from '../../renderer/src/format.ts';

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
});
