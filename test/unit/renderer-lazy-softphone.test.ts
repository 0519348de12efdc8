import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LazySoftphone } from '../../renderer/src/softphone/lazy-softphone.ts';
import type { Softphone, SoftphoneSnapshot } from '../../renderer/src/softphone/softphone.ts';

/** sip.js is loaded after sign-in: the console shows the softphone unregistered until then. */
describe('renderer: the softphone loads on first use', () => {
  it('loads nothing until connect; listeners subscribed before follow the real softphone', async () => {
    let loads = 0;
    let snapshot: SoftphoneSnapshot | null = null;
    const listeners = new Set<() => void>();
    const real = {
      getSnapshot: () => snapshot!,
      subscribe: (l: () => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      connect: async () => {
        snapshot = { ...snapshot!, registration: 'registered' } as SoftphoneSnapshot;
        for (const l of listeners) l();
      },
      disconnect: async () => undefined,
    } as unknown as Softphone;
    const phone = new LazySoftphone(async () => {
      loads++;
      return real;
    });
    const before = phone.getSnapshot();
    assert.equal(before.registration, 'unregistered');
    assert.equal(phone.getSnapshot(), before, 'a stable snapshot before the load');
    let seen = 0;
    const off = phone.subscribe(() => seen++);
    await phone.disconnect();
    assert.equal(loads, 0, 'signing out before sign-in loads nothing');
    snapshot = { ...before };
    await phone.connect();
    assert.equal(loads, 1);
    assert.equal(phone.getSnapshot().registration, 'registered');
    assert.ok(seen >= 2, 'told of the load and of the registration');
    off();
    assert.equal(listeners.size, 0, 'unsubscribing reaches the real softphone');
    await phone.connect();
    assert.equal(loads, 1, 'loaded once');
  });
});
