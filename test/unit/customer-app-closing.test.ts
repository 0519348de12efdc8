/** Issue 15 (customer app): a closing message when the request ends, naming what it was and who closed it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppStore } from '../../customer/app/src/state/app-state.ts';
import { HelpStore } from '../../customer/app/src/state/help.ts';
import { request } from '../support/fake-bridge.ts';

describe('customer app: the closing message', () => {
  it('after a call, the completed request says what it was, who closed it and thanks the customer', () => {
    const app = new AppStore();
    app.set({ company: 'Northwind Bank' });
    const help = new HelpStore(app);
    const r = request({ optionLabel: 'Lost or stolen card', agentName: 'Dana Reyes', state: 'assigned' });
    help.onRequest(r);
    app.go({ name: 'call-ended', call: {} as never, seconds: 42 });
    help.onRequest({ ...r, state: 'completed' });
    assert.equal(app.getState().screen.name, 'home');
    assert.equal(
      app.getState().notice,
      'Your request “Lost or stolen card” is complete: Dana Reyes has closed it. Thank you for contacting Northwind Bank.',
    );
  });

  it('an abandoned request says it ended and how to get help again', () => {
    const app = new AppStore();
    const help = new HelpStore(app);
    const r = request({ optionLabel: 'Card limit', state: 'waiting' });
    help.onRequest(r);
    app.go({ name: 'waiting' });
    help.onRequest({ ...r, state: 'abandoned' });
    assert.match(
      app.getState().notice ?? '',
      /“Card limit” has ended\. If you still need help, choose “Get help” again\./,
    );
  });
});
