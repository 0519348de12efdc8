/**
 * Issue 15 (defects 10 and 12): the agent's open panel follows wrong PINs and the
 * verification's expiry live: a panel.changed event fetches it again, and it fetches
 * itself again when the verification expires (the authority then locks the fields).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PanelStore } from '../../renderer/src/state/panel.ts';
import { FakeBridge, request } from '../support/fake-bridge.ts';
import { whenState } from '../support/wait.ts';

describe('renderer: the panel follows PIN failures and expiry live', () => {
  it('a panel.changed for the open request fetches the risk again; one for another request does not', async () => {
    const r = request();
    let pinFailures = 0;
    const bridge = new FakeBridge({
      'panel.get': () => ({
        request: r,
        verification: { level: 2, expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
        risk: {
          newDevice: false,
          recentFailures: pinFailures,
          pinFailures,
          pinLockedUntil: null,
          counterAnomaly: false,
        },
        secure: [],
        photos: { enrolment: null, latest: null, comparison: null },
      }),
    });
    const panel = new PanelStore(bridge);
    panel.focus(r.requestId);
    await whenState('the panel loaded', panel, (st) => !st.loading);
    pinFailures = 3;
    bridge.emit('panel.changed', {
      requestId: 'req_other_000000000000',
      reason: 'pin.failed',
      at: new Date().toISOString(),
    });
    assert.equal(bridge.count('panel.get'), 1);
    bridge.emit('panel.changed', {
      requestId: r.requestId,
      reason: 'pin.failed',
      at: new Date().toISOString(),
    });
    await whenState('3 wrong PINs shown', panel, (st) => st.panel?.risk.pinFailures === 3);
    panel.focus(null);
  });

  it('fetches the panel again when the verification expires, without any event', async () => {
    const r = request();
    let expired = false;
    const expiresAt = new Date(Date.now() + 50).toISOString();
    const bridge = new FakeBridge({
      'panel.get': () => {
        const e = expired || Date.parse(expiresAt) <= Date.now();
        expired = e;
        return {
          request: r,
          verification: { level: e ? 0 : 2, expiresAt },
          risk: {
            newDevice: false,
            recentFailures: 0,
            pinFailures: 0,
            pinLockedUntil: null,
            counterAnomaly: false,
          },
          secure: [
            { field: 'balance', label: 'Balance', level: 2, locked: e, ...(e ? {} : { value: '10' }) },
          ],
          photos: { enrolment: null, latest: null, comparison: null },
        };
      },
    });
    const panel = new PanelStore(bridge);
    panel.focus(r.requestId);
    await whenState('the panel loaded unlocked', panel, (st) => st.panel?.secure[0]?.locked === false);
    await whenState('locked at expiry', panel, (st) => st.panel?.secure[0]?.locked === true);
    assert.equal(bridge.count('panel.get'), 2);
    panel.focus(null);
  });
});
