/**
 * CRM screen pop in the console's work state machine: on accept, browser mode opens the
 * CRM record in a new tab, the desktop app hands it to shell.openExternal; a refusal (the
 * authority's 409 for an origin not allow-listed, or the desktop's own host list) is a
 * notice on the active request, never an error in the agent's way.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { BridgeChannel } from '../../protocol/src/bridge.ts';
import type { OfferView, RequestView } from '../../protocol/src/pipeline.ts';
import { BridgeCallError } from '../../renderer/src/bridge/types.ts';
import { AgentStore } from '../../renderer/src/state/agent.ts';
import { QueueStore } from '../../renderer/src/state/queue.ts';
import { WorkStore } from '../../renderer/src/state/work.ts';
import { WrapUpStore } from '../../renderer/src/state/wrap-up.ts';
import { agentView, FakeBridge, request, type Handler } from '../support/fake-bridge.ts';
import { until, whenState } from '../support/wait.ts';

const URL_OF = (id: string) => `https://crm.example/customers/CRM-1?request=${id}`;

function setup(mode: 'browser' | 'electron', handlers: Partial<Record<BridgeChannel, Handler>>) {
  const bridge = new FakeBridge({ 'agent.me': () => agentView(), ...handlers });
  Object.defineProperty(bridge, 'mode', { value: mode });
  const agent = new AgentStore(bridge);
  agent.start('stf_dana');
  const work = new WorkStore(bridge, agent, new QueueStore(bridge), new WrapUpStore(bridge, null));
  return { bridge, work };
}
const offerOf = (r: RequestView): OfferView => ({
  requestId: r.requestId,
  fence: 1,
  expiresAt: new Date(Date.now() + 15_000).toISOString(),
  request: { ...r, state: 'offered', fence: 1, agentId: 'stf_dana' },
});
const accepted = (r: RequestView) => ({
  'offer.accept': ({ requestId, fence }: { requestId: string; fence: number }) => ({
    ...r,
    requestId,
    fence,
    state: 'assigned',
  }),
});

describe('renderer: CRM screen pop on accept', () => {
  const realOpen = (globalThis as { open?: unknown }).open;
  afterEach(() => {
    (globalThis as { open?: unknown }).open = realOpen;
  });

  it('browser mode: a new tab with the URL the authority filled, noopener', async () => {
    const r = request();
    const opened: unknown[][] = [];
    (globalThis as { open?: unknown }).open = (...a: unknown[]) => void opened.push(a);
    const { bridge, work } = setup('browser', {
      ...accepted(r),
      'crm.screenPop': ({ requestId }) => ({ url: URL_OF(requestId) }),
    });
    bridge.emit('offer', offerOf(r));
    await work.accept();
    await until('the tab opened', () => opened.length === 1);
    assert.deepEqual(opened[0], [URL_OF(r.requestId), '_blank', 'noopener,noreferrer']);
    assert.equal(bridge.count('shell.openExternal'), 0);
  });

  it('desktop: shell.openExternal; a host the desktop does not allow is a notice', async () => {
    const r = request();
    const { bridge, work } = setup('electron', {
      ...accepted(r),
      'crm.screenPop': ({ requestId }) => ({ url: URL_OF(requestId) }),
      'shell.openExternal': () => ({ opened: false }),
    });
    bridge.emit('offer', offerOf(r));
    await work.accept();
    const s = await whenState('the notice', work, (st) => st.phase === 'active' && !!st.notice);
    assert.deepEqual(bridge.last('shell.openExternal'), { url: URL_OF(r.requestId) });
    assert.match(s.phase === 'active' ? (s.notice ?? '') : '', /crm\.example is not allowed here/);
  });

  it("the authority's refusal (origin not allow-listed) is a notice; no URL means nothing opens", async () => {
    const r = request();
    const { bridge, work } = setup('electron', {
      ...accepted(r),
      'crm.screenPop': () => {
        throw new BridgeCallError(
          'conflict',
          'the screen pop origin https://evil.example is not allow-listed',
        );
      },
    });
    bridge.emit('offer', offerOf(r));
    await work.accept();
    const s = await whenState('the notice', work, (st) => st.phase === 'active' && !!st.notice);
    assert.match(s.phase === 'active' ? (s.notice ?? '') : '', /evil\.example is not allow-listed/);
    assert.equal(bridge.count('shell.openExternal'), 0);

    const quiet = setup('electron', { ...accepted(r), 'crm.screenPop': () => ({ url: null }) });
    quiet.bridge.emit('offer', offerOf(r));
    await quiet.work.accept();
    await until('asked for the screen pop', () => quiet.bridge.count('crm.screenPop') === 1);
    assert.equal(quiet.bridge.count('shell.openExternal'), 0);
  });

  it('a phone caller nobody recognised: nothing opens on accept; their record opens once the agent identified them', async () => {
    const phone = {
      caller: null,
      dialled: '+442079460000',
      recognition: 'Phoned in from a withheld number — unknown caller',
      callerIdVerified: false as const,
      unknownCaller: true,
      identifiedByAgent: false,
    };
    const r = request({ customerName: 'Unknown caller', phone });
    const opened: unknown[][] = [];
    (globalThis as { open?: unknown }).open = (...a: unknown[]) => void opened.push(a);
    let identified = false;
    const { bridge, work } = setup('browser', {
      ...accepted(r),
      'crm.screenPop': ({ requestId }) =>
        identified ? { url: URL_OF(requestId) } : { url: null, unknownCaller: true as const },
    });
    bridge.emit('offer', offerOf(r));
    await work.accept();
    await until('asked for the screen pop', () => bridge.count('crm.screenPop') === 1);
    assert.equal(opened.length, 0, 'no record for the placeholder');

    // The agent identifies the caller: the request view names the customer.
    identified = true;
    const now = { ...r, state: 'assigned' as const, fence: 1, agentId: 'stf_dana' };
    bridge.emit('queue.delta', {
      queues: [],
      upserts: [
        {
          ...now,
          customerName: 'Bob Okafor',
          phone: { ...phone, unknownCaller: false, identifiedByAgent: true },
        },
      ],
    });
    await until('the tab opened', () => opened.length === 1);
    assert.deepEqual(opened[0], [URL_OF(r.requestId), '_blank', 'noopener,noreferrer']);
    // Once: a later change of the request opens nothing more.
    bridge.emit('queue.delta', {
      queues: [],
      upserts: [{ ...now, customerName: 'Bob Okafor', level: 1, phone: { ...phone, unknownCaller: false } }],
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(bridge.count('crm.screenPop'), 2);
    assert.equal(opened.length, 1);
  });

  for (const mode of ['browser', 'electron'] as const)
    it(`${mode}: a queue set to the side panel shows the record there (no tab, no system browser); the agent closes it`, async () => {
      const r = request();
      const opened: unknown[][] = [];
      (globalThis as { open?: unknown }).open = (...a: unknown[]) => void opened.push(a);
      const { bridge, work } = setup(mode, {
        ...accepted(r),
        'crm.screenPop': ({ requestId }) => ({ url: URL_OF(requestId), opensIn: 'sidePanel' as const }),
      });
      assert.deepEqual(work.crmPanel.getState(), { open: null });
      bridge.emit('offer', offerOf(r));
      await work.accept();
      await until('the side panel opened', () => work.crmPanel.getState().open !== null);
      assert.deepEqual(work.crmPanel.getState().open, { requestId: r.requestId, url: URL_OF(r.requestId) });
      assert.equal(opened.length, 0);
      assert.equal(bridge.count('shell.openExternal'), 0);
      work.crmPanel.close();
      assert.deepEqual(work.crmPanel.getState(), { open: null });
    });

  it("the console's own refusal of a side-panel origin is a notice; the panel stays closed", async () => {
    const r = request();
    const { bridge, work } = setup('browser', {
      ...accepted(r),
      'crm.screenPop': () => {
        throw new BridgeCallError(
          'not_allowed',
          "https://other.example is not allowed in the side panel (the console's managed screenPopOrigins)",
        );
      },
    });
    bridge.emit('offer', offerOf(r));
    await work.accept();
    const s = await whenState('the notice', work, (st) => st.phase === 'active' && !!st.notice);
    assert.match(
      s.phase === 'active' ? (s.notice ?? '') : '',
      /other\.example is not allowed in the side panel/,
    );
    assert.deepEqual(work.crmPanel.getState(), { open: null });
  });

  it('a new screen pop replaces the record in the panel', async () => {
    const r1 = request();
    const r2 = request();
    const { bridge, work } = setup('browser', {
      'offer.accept': ({ requestId, fence }: { requestId: string; fence: number }) => ({
        ...(requestId === r1.requestId ? r1 : r2),
        fence,
        state: 'assigned',
      }),
      'crm.screenPop': ({ requestId }) => ({ url: URL_OF(requestId), opensIn: 'sidePanel' as const }),
    });
    bridge.emit('offer', offerOf(r1));
    await work.accept();
    await until('r1 in the panel', () => work.crmPanel.getState().open?.requestId === r1.requestId);
    bridge.emit('offer', offerOf(r2));
    await work.accept();
    await until('r2 in the panel', () => work.crmPanel.getState().open?.requestId === r2.requestId);
    assert.equal(work.crmPanel.getState().open?.url, URL_OF(r2.requestId));
  });
});
