/**
 * Issue 15 (the console): a customer who asked to be verified on the call (their phone could
 * not reach the option's level) is said plainly on the panel, next to the security
 * questions: what to do and the level it needs; once the level is reached, that it is done.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { CustomerPanel } from '../../protocol/src/agent-desk.ts';
import { VerifyOnCallNote, verifyOnCallText } from '../../renderer/src/screens/KnowledgeQuestions.tsx';
import { request } from '../support/fake-bridge.ts';

const panel = (verifyOnCall: boolean, level: 0 | 1 | 2 | 3, requiredLevel: 0 | 1 | 2 | 3): CustomerPanel =>
  ({
    request: request({ level, verifyOnCall, state: 'assigned' }),
    verification: { state: 'partially_verified', level, requiredLevel, factors: [] },
  }) as unknown as CustomerPanel;

describe('renderer: a request to be verified on the call', () => {
  it('says to ask the security questions and the level needed, then that it is done', () => {
    const html = (p: CustomerPanel) => renderToStaticMarkup(createElement(VerifyOnCallNote, { panel: p }));
    assert.match(
      html(panel(true, 1, 2)),
      /Asked to be verified on the call: ask the security questions \(needs level 2\)\./,
    );
    assert.match(html(panel(true, 2, 2)), /Asked to be verified on the call: done \(level 2 reached\)\./);
    assert.equal(html(panel(false, 1, 2)), '', 'nothing for a request that did not ask');
    assert.equal(verifyOnCallText(panel(false, 2, 2)), null);
  });
});
