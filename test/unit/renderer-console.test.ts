/**
 * The console's logic without React or a browser: stores and state machines driven
 * through a fake bridge, the WebSocket bridge over a fake socket, the windowing maths
 * of the queue list, the shortcuts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BridgeChannel } from '../../protocol/src/bridge.ts';
import type { OfferView, RequestView } from '../../protocol/src/pipeline.ts';
import { BridgeCallError } from '../../renderer/src/bridge/types.ts';
import { takeLaunchToken, WsBridge, type WsBridgeEnvironment } from '../../renderer/src/bridge/ws-bridge.ts';
import { visibleRange } from '../../renderer/src/components/virtual-range.ts';
import { SHORTCUTS } from '../../renderer/src/shortcuts.ts';
import {
  NoSoftphone,
  assertLineTransition,
  SoftphoneUnavailableError,
} from '../../renderer/src/softphone/softphone.ts';
import { AgentStore } from '../../renderer/src/state/agent.ts';
import { PanelStore } from '../../renderer/src/state/panel.ts';
import { QueueStore } from '../../renderer/src/state/queue.ts';
import { WorkStore } from '../../renderer/src/state/work.ts';
import { dispositionLevels, isCompletePath, WrapUpStore } from '../../renderer/src/state/wrap-up.ts';
import { DEFAULT_DISPOSITIONS } from '../../protocol/src/pipeline.ts';
import { agentView, FakeBridge, ManualFrames, request, type Handler } from '../support/fake-bridge.ts';
import { until, whenState } from '../support/wait.ts';

describe('renderer: queue store', () => {
  it('applies snapshots and deltas, drops ended requests, orders offers then priority then age, filters', async () => {
    const bridge = new FakeBridge();
    const q = new QueueStore(bridge);
    const old = request({ customerName: 'Old' });
    const vip = request({ customerName: 'Vip', priority: 20 });
    const other = request({ customerName: 'Payments', queueId: 'payments', optionId: 'payment-failed' });
    bridge.emit('queue.snapshot', { queues: [], requests: [old, vip, other] });
    assert.deepEqual(
      q.rows().map((r) => r.customerName),
      ['Vip', 'Old', 'Payments'],
    );
    const offered = { ...old, state: 'offered' as const, agentId: 'stf_dana', fence: 1 };
    bridge.emit('queue.delta', { queues: [], upserts: [offered, { ...vip, state: 'abandoned' }] });
    assert.deepEqual(
      q.rows().map((r) => `${r.customerName}:${r.state}`),
      ['Old:offered', 'Payments:waiting'],
    );
    q.setFilter({ queueId: 'payments' });
    assert.deepEqual(
      q.rows().map((r) => r.customerName),
      ['Payments'],
    );
    q.setFilter({ queueId: null, optionId: 'lost-card' });
    assert.deepEqual(
      q.rows().map((r) => r.customerName),
      ['Old'],
    );
    assert.equal(q.rows(), q.rows(), 'the same state gives the same array (memoised)');
    assert.deepEqual(
      q.options().map((o) => o.id),
      ['payment-failed', 'lost-card'].sort((a, b) => (a === 'lost-card' ? -1 : b === 'lost-card' ? 1 : 0)),
    );
  });

  it('replays deltas that arrive while a snapshot is being fetched', async () => {
    const late = request({ customerName: 'Arrived during the fetch' });
    let release!: () => void;
    const bridge = new FakeBridge({
      'queue.snapshot': () => new Promise((r) => (release = () => r({ queues: [], requests: [] }))),
    });
    const q = new QueueStore(bridge);
    const refreshing = q.refresh();
    await until('the snapshot fetch under way', () => typeof release === 'function');
    bridge.emit('queue.delta', { queues: [], upserts: [late] });
    release();
    await refreshing;
    assert.deepEqual(
      q.rows().map((r) => r.customerName),
      ['Arrived during the fetch'],
    );
  });

  it('holds 10,000 requests and 100 deltas with one notification per frame', async () => {
    const frames = new ManualFrames();
    try {
      const bridge = new FakeBridge();
      const q = new QueueStore(bridge);
      let notified = 0;
      q.subscribe(() => notified++);
      const many = Array.from({ length: 10_000 }, () => request());
      bridge.emit('queue.snapshot', { queues: [], requests: many });
      for (let i = 0; i < 100; i++)
        bridge.emit('queue.delta', { queues: [], upserts: [{ ...many[i * 50]!, priority: i }] });
      assert.equal(notified, 0, 'nothing rendered before the frame');
      assert.equal(frames.pending, 1, 'the burst asked for one frame');
      frames.run();
      assert.equal(notified, 1, 'a burst costs one render');
      assert.equal(frames.pending, 0);
      assert.equal(q.rows().length, 10_000);
      assert.equal(q.rows()[0]!.priority, 99);
      bridge.emit('queue.delta', { queues: [], upserts: [{ ...many[0]!, priority: 100 }] });
      frames.run();
      assert.equal(notified, 2, 'the next change, the next frame');
    } finally {
      frames.uninstall();
    }
  });
});

describe('renderer: queue list windowing', () => {
  it('renders only the rows in view plus the overscan, whatever the length', () => {
    assert.deepEqual(visibleRange(0, 60, 0, 600), { start: 0, end: 0 });
    assert.deepEqual(visibleRange(10_000, 60, 0, 600, 6), { start: 0, end: 17 });
    const mid = visibleRange(10_000, 60, 300_000, 600, 6);
    assert.deepEqual(mid, { start: 4994, end: 5017 });
    const end = visibleRange(10_000, 60, 10_000 * 60, 600, 6);
    assert.equal(end.end, 10_000);
    assert.ok(end.end - end.start <= 23);
  });
});

describe('renderer: work state machine', () => {
  const setup = (handlers: Partial<Record<BridgeChannel, Handler>> = {}) => {
    const bridge = new FakeBridge({ 'agent.me': () => agentView(), ...handlers });
    const agent = new AgentStore(bridge);
    agent.start('stf_dana');
    const queue = new QueueStore(bridge);
    const wrapUp = new WrapUpStore(bridge, null);
    const work = new WorkStore(bridge, agent, queue, wrapUp);
    return { bridge, agent, queue, wrapUp, work };
  };
  const offerOf = (r: RequestView): OfferView => ({
    requestId: r.requestId,
    fence: 1,
    expiresAt: new Date(Date.now() + 15_000).toISOString(),
    request: { ...r, state: 'offered', fence: 1, agentId: 'stf_dana' },
  });

  it('offer -> accept -> active -> complete -> wrap-up owed', async () => {
    const r = request();
    const { bridge, work, wrapUp } = setup({
      'offer.accept': ({ requestId, fence }) => ({ ...r, requestId, fence, state: 'assigned' }),
      'request.complete': ({ requestId, fence }) => ({ ...r, requestId, fence, state: 'completed' }),
    });
    bridge.emit('offer', offerOf(r));
    assert.equal(work.getState().phase, 'offered');
    assert.equal(work.focusRequestId, r.requestId);
    bridge.emit('shortcut.accept', {});
    const s = await whenState(
      'the offer accepted (offer.accept answered)',
      work,
      (st) => st.phase !== 'offered',
    );
    assert.equal(s.phase, 'active');
    assert.deepEqual(bridge.calls.find((c) => c.channel === 'offer.accept')!.args, {
      requestId: r.requestId,
      fence: 1,
    });
    await work.complete();
    assert.equal(work.getState().phase, 'idle');
    assert.equal(wrapUp.getState().item?.requestId, r.requestId);
    assert.equal(wrapUp.getState().item?.fence, 1);
  });

  it('an offer that times out goes back to idle with a notice; only my agent.state counts', async () => {
    const r = request({ customerName: 'Bob' });
    const { bridge, work } = setup();
    bridge.emit('offer', offerOf(r));
    bridge.emit('agent.state', agentView({ staffId: 'stf_someone_else', presence: 'missed' }));
    assert.equal(work.getState().phase, 'offered', "another agent's state changes nothing");
    bridge.emit('agent.state', agentView({ presence: 'missed' }));
    const s = work.getState();
    assert.equal(s.phase, 'idle');
    // Not "went to the next agent": there may be none; the request is back in the queue.
    assert.match(
      s.phase === 'idle' ? (s.notice ?? '') : '',
      /offer for Bob timed out: Bob is back in the queue/,
    );
    assert.doesNotMatch(s.phase === 'idle' ? (s.notice ?? '') : '', /next agent/);
  });

  it('a customer leaving mid-request owes a wrap-up too', async () => {
    const r = request({ customerName: 'Chen' });
    const { bridge, work, wrapUp } = setup({
      'offer.accept': ({ requestId, fence }) => ({ ...r, requestId, fence, state: 'assigned' }),
    });
    bridge.emit('offer', offerOf(r));
    await work.accept();
    bridge.emit('agent.state', agentView({ presence: 'wrap_up', currentRequestId: null }));
    assert.equal(work.getState().phase, 'idle');
    assert.equal(wrapUp.getState().item?.customerName, 'Chen');
  });

  it('completing after the customer left (the authority answers "abandoned") owes the wrap-up and says they left', async () => {
    const r = request({ customerName: 'Chen' });
    const { bridge, work, wrapUp } = setup({
      'offer.accept': ({ requestId, fence }) => ({ ...r, requestId, fence, state: 'assigned' }),
      'request.complete': ({ requestId, fence }) => ({ ...r, requestId, fence, state: 'abandoned' }),
    });
    bridge.emit('offer', offerOf(r));
    await work.accept();
    await work.complete();
    const s = work.getState();
    assert.equal(s.phase, 'idle');
    assert.match(s.phase === 'idle' ? (s.notice ?? '') : '', /Chen had already left/);
    assert.equal(wrapUp.getState().item?.requestId, r.requestId);
  });
});

describe('renderer: verified-customer panel', () => {
  it('loads on focus and again, without polling, when the request level changes in a queue.delta', async () => {
    const r = request();
    let level = 2;
    const bridge = new FakeBridge({
      'panel.get': () => ({
        request: { ...r, level },
        secure: [
          {
            field: 'accountNumber',
            label: 'Account number',
            level: 3,
            locked: level < 3,
            ...(level >= 3 ? { value: 'GB29' } : {}),
          },
        ],
        photos: { enrolment: null, latest: null, comparison: null },
      }),
    });
    const panel = new PanelStore(bridge);
    panel.focus(r.requestId);
    await whenState('the panel loaded', panel, (st) => !st.loading);
    assert.equal(bridge.count('panel.get'), 1);
    assert.equal(panel.getState().panel?.secure[0]?.locked, true);
    bridge.emit('queue.delta', { queues: [], upserts: [request()] });
    bridge.emit('queue.delta', { queues: [], upserts: [{ ...r, level: 2 }] });
    // A refetch would be asked for synchronously, while the delta is handled.
    assert.equal(bridge.count('panel.get'), 1, 'unrelated or unchanged upserts fetch nothing');
    level = 3;
    bridge.emit('queue.delta', { queues: [], upserts: [{ ...r, level: 3 }] });
    assert.equal(bridge.count('panel.get'), 2);
    await whenState('the panel at level 3', panel, (st) => st.panel?.request.level === 3);
    assert.equal(panel.getState().panel?.secure[0]?.locked, false);
    assert.deepEqual(panel.getState().unlocked, ['accountNumber'], 'the field is marked as just unlocked');
  });
});

describe('renderer: wrap-up', () => {
  it('walks the disposition tree and needs a leaf', async () => {
    assert.equal(dispositionLevels(DEFAULT_DISPOSITIONS, []).length, 1);
    assert.equal(dispositionLevels(DEFAULT_DISPOSITIONS, ['resolved']).length, 2);
    assert.equal(isCompletePath(DEFAULT_DISPOSITIONS, ['resolved']), false);
    assert.equal(isCompletePath(DEFAULT_DISPOSITIONS, ['resolved', 'card-blocked']), true);
    assert.equal(isCompletePath(DEFAULT_DISPOSITIONS, ['resolved', 'nope']), false);
    const storage = new Map<string, string>();
    const bridge = new FakeBridge({
      'wrapUp.dispositions': () => ({ dispositions: DEFAULT_DISPOSITIONS }),
      'outbox.status': () => ({ pending: 0, sent: 0, lastError: null, nextAttemptAt: null }),
      'wrapUp.save': () => ({ idempotencyKey: 'k'.repeat(22), state: 'pending' }),
      'history.list': () => [{ requestId: r.requestId, wrapUpState: 'sent' }],
    });
    const store = {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => void storage.set(k, v),
      removeItem: (k: string) => void storage.delete(k),
    };
    const w = new WrapUpStore(bridge, store);
    await w.start('stf_dana');
    const r = request({ fence: 3 });
    w.begin(r);
    w.choose(0, 'resolved');
    w.setNotes('Blocked the card.');
    assert.ok(storage.has('vd.wrapUpDraft.stf_dana'), 'the draft survives a reload');
    const again = new WrapUpStore(bridge, store);
    await again.start('stf_dana');
    assert.equal(again.getState().notes, 'Blocked the card.');
    assert.equal(await w.save(), false, 'not without a leaf');
    w.choose(1, 'card-blocked');
    assert.equal(await w.save(), true);
    assert.deepEqual(bridge.calls.find((c) => c.channel === 'wrapUp.save')!.args, {
      requestId: r.requestId,
      fence: 3,
      disposition: ['resolved', 'card-blocked'],
      notes: 'Blocked the card.',
    });
    assert.equal(w.getState().last?.state, 'pending');
    assert.equal(storage.has('vd.wrapUpDraft.stf_dana'), false);
    bridge.emit('outbox.status', { pending: 0, sent: 1, lastError: null, nextAttemptAt: null });
    // pending turns sent when the outbox reports it (history.list says so)
    await whenState('the last wrap-up sent', w, (st) => st.last?.state === 'sent');
  });
});

class FakeSocket {
  static last: FakeSocket | null = null;
  readonly OPEN = 1;
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: ((ev?: { code?: number }) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeSocket.last = this;
  }
  send(text: string) {
    this.sent.push(text);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.();
  }
}

describe('renderer: browser-mode bridge', () => {
  const env = (hash: string) => {
    const storage = new Map<string, string>();
    const timers: (() => void)[] = [];
    const replaced: string[] = [];
    const e: WsBridgeEnvironment = {
      location: { hash, host: '127.0.0.1:5000', protocol: 'http:', pathname: '/', search: '' },
      history: { state: null, replaceState: (_s, _t, url) => void replaced.push(String(url)) },
      storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
      createSocket: (url, protocols) => new FakeSocket(url, protocols) as unknown as WebSocket,
      setTimeout: (fn) => timers.push(fn),
      clearTimeout: () => undefined,
    };
    return { e, storage, timers, replaced };
  };

  it('takes the token from the fragment, removes it from the URL, keeps it for reloads', () => {
    const first = env('#token=abc_DEF-123');
    assert.equal(takeLaunchToken(first.e), 'abc_DEF-123');
    assert.deepEqual(first.replaced, ['/']);
    const reload = env('');
    reload.storage.set('vd.bridgeToken', 'abc_DEF-123');
    assert.equal(takeLaunchToken(reload.e), 'abc_DEF-123');
    assert.equal(takeLaunchToken(env('').e), null);
  });

  it('opens with the token subprotocol, queues calls until open, answers and events, reconnects', async () => {
    const { e, timers } = env('');
    const bridge = new WsBridge(e, 'tok123');
    const ws = FakeSocket.last!;
    assert.equal(ws.url, 'ws://127.0.0.1:5000/bridge');
    assert.deepEqual(ws.protocols.slice(0, 2), ['vd-bridge', 'token.tok123']);
    assert.match(ws.protocols[2]!, /^page\.[0-9a-f]{48}$/, "and this page's secret");
    const links: string[] = [];
    bridge.onLink((s) => links.push(s));
    const me = bridge.invoke('agent.me', {});
    assert.equal(ws.sent.length, 0, 'waits for the socket');
    ws.open();
    const frame = JSON.parse(ws.sent[0]!);
    assert.deepEqual({ channel: frame.channel, args: frame.args }, { channel: 'agent.me', args: {} });
    ws.receive({ id: frame.id, ok: true, result: agentView() });
    assert.equal((await me).displayName, 'Dana Reyes');

    const refused = bridge.invoke('offer.accept', { requestId: 'r', fence: 1 });
    const id = JSON.parse(ws.sent[1]!).id;
    ws.receive({ id, ok: false, error: { code: 'conflict', message: 'the offer has expired' } });
    await assert.rejects(
      refused,
      (err: unknown) => err instanceof BridgeCallError && err.code === 'conflict',
    );

    const seen: unknown[] = [];
    const off = bridge.on('connection.state', (p) => seen.push(p.state));
    ws.receive({
      event: 'connection.state',
      payload: { state: 'reconnecting', since: new Date().toISOString() },
    });
    off();
    ws.receive({
      event: 'connection.state',
      payload: { state: 'connected', since: new Date().toISOString() },
    });
    assert.deepEqual(seen, ['reconnecting'], 'unsubscribe works');

    const lost = bridge.invoke('queue.snapshot', {});
    const timersBefore = timers.length;
    ws.drop();
    await assert.rejects(lost, (err: unknown) => err instanceof BridgeCallError && err.code === 'link_lost');
    assert.deepEqual(links, ['open', 'reconnecting']);
    assert.equal(timers.length, timersBefore + 1, 'a reconnect is scheduled');
    timers.at(-1)!();
    assert.notEqual(FakeSocket.last, ws);
    FakeSocket.last!.open();
    assert.deepEqual(links, ['open', 'reconnecting', 'open']);
  });

  it('keeps its page secret across a reload; a link used by another page stops with a clear error', async () => {
    const { e, storage, timers } = env('');
    const bridge = new WsBridge(e, 'tok123');
    const ws = FakeSocket.last!;
    const secret = ws.protocols[2];
    new WsBridge(e, 'tok123'); // the same tab reloaded: same sessionStorage
    assert.equal(FakeSocket.last!.protocols[2], secret);
    assert.ok(storage.get('vd.pageSecret'));
    const links: string[] = [];
    bridge.onLink((s) => links.push(s));
    const call = bridge.invoke('session.current', {});
    const timersBefore = timers.length;
    ws.readyState = 3;
    ws.onclose?.({ code: 4403 } as never);
    await assert.rejects(call, (err: unknown) => err instanceof BridgeCallError && err.code === 'link_used');
    assert.deepEqual(links, ['link_used']);
    assert.equal(timers.length, timersBefore, 'no reconnect');
    await assert.rejects(bridge.invoke('agent.me', {}), /already used by another page/);
  });

  it('without a token it says how to open the console', async () => {
    const bridge = new WsBridge(env('').e, null);
    assert.equal(bridge.link, 'no_token');
    await assert.rejects(bridge.invoke('session.current', {}), /link the launcher printed/);
  });
});

describe('renderer: shortcuts and softphone', () => {
  const key = (over: Partial<KeyboardEvent>) =>
    ({
      key: '',
      code: '',
      ctrlKey: false,
      altKey: false,
      shiftKey: false,
      metaKey: false,
      ...over,
    }) as KeyboardEvent;
  const action = (e: KeyboardEvent) => SHORTCUTS.find((s) => s.matches(e))?.action ?? null;

  it('maps accept, reject, hang up, hold and mute', () => {
    assert.equal(action(key({ key: 'Enter', ctrlKey: true })), 'accept');
    assert.equal(action(key({ code: 'KeyA', altKey: true })), 'accept');
    assert.equal(action(key({ code: 'KeyR', altKey: true })), 'reject');
    assert.equal(action(key({ code: 'KeyH', altKey: true })), 'hangUp');
    assert.equal(action(key({ code: 'KeyO', altKey: true })), 'hold');
    assert.equal(action(key({ code: 'KeyM', altKey: true })), 'mute');
    assert.equal(action(key({ key: 'Enter' })), null);
    assert.equal(action(key({ code: 'KeyA' })), null);
  });

  it('the stand-in softphone says it is not connected; line transitions are enforced', async () => {
    const sp = new NoSoftphone();
    assert.equal(sp.getSnapshot().present, false);
    assert.equal(sp.getSnapshot().reason, 'No softphone connected');
    await assert.rejects(sp.hangUp(), SoftphoneUnavailableError);
    assertLineTransition('ready', 'calling');
    assert.throws(() => assertLineTransition('disconnected', 'connected'), /no transition/);
  });
});

describe("renderer: Electron's preload bridge", () => {
  it("turns the preload's plain { code, message } rejections into BridgeCallErrors", async () => {
    const { connectBridge } = await import('../../renderer/src/bridge/connect.ts');
    const preload = {
      mode: 'electron' as const,
      invoke: () => Promise.reject({ code: 'conflict', message: 'record the wrap-up first' }),
      on: () => () => undefined,
    };
    const bridge = connectBridge({ agentDesk: preload } as any);
    assert.equal(bridge.link, 'open');
    await assert.rejects(
      bridge.invoke('agent.setPresence', { state: 'available' }),
      (e: unknown) =>
        e instanceof BridgeCallError && e.code === 'conflict' && e.message === 'record the wrap-up first',
    );
  });
});
