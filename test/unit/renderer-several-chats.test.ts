/**
 * Issue 18, the agent's side: one console holds several chats at once. While chats are held
 * with room left, another chat's offer is shown beside them and accepted or declined without
 * losing them; the held requests form a list the agent switches between (the panel, device
 * actions, transfer and complete follow the one selected); completing or losing one leaves
 * the others open, each owing its own wrap-up, and the desk goes idle only after the last,
 * as the authority keeps the agent busy until then (authority/src/pipeline/pipeline.ts toWrapUp).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BridgeChannel } from '../../protocol/src/bridge.ts';
import type { ChatMessage } from '../../protocol/src/chat.ts';
import type { OfferView, RequestView } from '../../protocol/src/pipeline.ts';
import {
  NoSoftphone,
  type CallAnswer,
  type Softphone,
  type SoftphoneSnapshot,
} from '../../renderer/src/softphone/softphone.ts';
import { CallControlsStore } from '../../renderer/src/state/call.ts';
import { AgentStore } from '../../renderer/src/state/agent.ts';
import { ConsoleApp } from '../../renderer/src/state/console.ts';
import { QueueStore } from '../../renderer/src/state/queue.ts';
import { ITEM_TRANSITIONS, WorkStore, type ItemStep } from '../../renderer/src/state/work.ts';
import { WrapUpStore } from '../../renderer/src/state/wrap-up.ts';
import { DEFAULT_DISPOSITIONS } from '../../protocol/src/pipeline.ts';
import { agentView, FakeBridge, request, type Handler } from '../support/fake-bridge.ts';
import { until, whenState } from '../support/wait.ts';

/** Every chat request made here, by id (the fake authority answers with them). */
const known = new Map<string, RequestView>();
const chat = (over: Partial<RequestView> = {}): RequestView => {
  const r: RequestView = {
    ...request({ state: 'assigned', agentId: 'stf_dana', fence: 1, ...over }),
    channel: 'chat',
  };
  known.set(r.requestId, r);
  return r;
};
const offerOf = (r: RequestView, fence = 1): OfferView => ({
  requestId: r.requestId,
  fence,
  expiresAt: new Date(Date.now() + 15_000).toISOString(),
  request: { ...r, state: 'offered', fence, agentId: 'stf_dana' },
});

function setup(handlers: Partial<Record<BridgeChannel, Handler>> = {}) {
  const bridge = new FakeBridge({
    'agent.me': () => agentView(),
    'offer.accept': ({ requestId, fence }) => ({ ...known.get(requestId)!, fence, state: 'assigned' }),
    'offer.reject': () => ({}),
    'request.complete': ({ requestId, fence }) => ({ ...known.get(requestId)!, fence, state: 'completed' }),
    'crm.screenPop': () => ({ url: null }),
    ...handlers,
  });
  const agent = new AgentStore(bridge);
  agent.start('stf_dana');
  const queue = new QueueStore(bridge);
  const wrapUp = new WrapUpStore(bridge, null);
  const work = new WorkStore(bridge, agent, queue, wrapUp);
  return { bridge, agent, queue, wrapUp, work };
}

const heldIds = (work: WorkStore) => {
  const s = work.getState();
  return s.phase === 'active' ? s.held.map((h) => h.request.customerName) : [];
};

/** The whole console app's bridge for Dana holding `held` (several chats), with `extra` handlers. */
function appBridge(held: readonly RequestView[], extra: Partial<Record<BridgeChannel, Handler>> = {}) {
  return new FakeBridge({
    'session.current': () => ({
      staffId: 'stf_dana',
      username: 'agent1',
      displayName: 'Dana Reyes',
      role: 'agent',
    }),
    'agent.me': () =>
      agentView({
        presence: 'busy',
        currentRequestId: held.at(-1)!.requestId,
        heldRequestIds: held.map((r) => r.requestId),
      }),
    'queue.snapshot': () => ({ queues: [], requests: [...held] }),
    'wrapUp.dispositions': () => ({ dispositions: DEFAULT_DISPOSITIONS }),
    'outbox.status': () => ({ pending: 0, sent: 0, lastError: null, nextAttemptAt: null }),
    'transfer.mine': () => ({ incoming: [], outgoing: [] }),
    'panel.get': ({ requestId }: { requestId: string }) => ({
      request: known.get(requestId),
      verification: { level: 2 },
      secure: [],
      photos: { enrolment: null, latest: null, comparison: null },
    }),
    'command.list': ({ requestId }: { requestId: string }) => ({ requestId, commands: [] }),
    ...extra,
  });
}

/** A softphone whose calls the test drives: answered at once, hung up by the far end on demand. */
class ScriptedSoftphone implements Softphone {
  private readonly none = new NoSoftphone();
  private readonly listeners = new Set<() => void>();
  private snap: SoftphoneSnapshot = {
    ...this.none.getSnapshot(),
    present: true,
    line: 'ready',
    reason: null,
  };
  getSnapshot = () => this.snap;
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  };
  private set(line: SoftphoneSnapshot['line'], requestId: string | null): void {
    this.snap = { ...this.snap, line, requestId };
    for (const l of this.listeners) l();
  }
  call = async (o: { requestId: string }): Promise<CallAnswer> => {
    this.set('calling', o.requestId);
    this.set('connected', o.requestId);
    return { proof: 'proof-from-the-device', callId: 'call-1' };
  };
  /** The customer hangs up (their BYE): the line is ready again. */
  farEndHangsUp(): void {
    this.set('ending', this.snap.requestId);
    this.set('ready', null);
  }
  connect = () => this.none.connect();
  dial = () => this.none.dial();
  consult = () => this.none.consult();
  endConsult = () => this.none.endConsult();
  answer = () => this.none.answer();
  hangUp = () => Promise.resolve(this.farEndHangsUp());
  hold = () => this.none.hold();
  mute = () => this.none.mute();
  sendDtmf = () => this.none.sendDtmf();
  setDevices = () => this.none.setDevices();
  disconnect = () => this.none.disconnect();
}

describe('renderer: several chats on one desk', () => {
  it("a call from one chat: its end (the customer's hang-up too) is told to the authority, and the other chats go on", async () => {
    const [alice, chen] = ['Alice', 'Chen'].map((customerName) => chat({ customerName }));
    const { bridge, work, wrapUp } = setup({
      'call.ticket': () => ({ ticket: 'ticket-for-alice', expiresAt: new Date().toISOString(), claims: {} }),
      'call.answered': () => ({ verified: true, at: new Date().toISOString() }),
      'call.ended': () => ({ ended: true, at: new Date().toISOString() }),
    });
    const phone = new ScriptedSoftphone();
    const calls = new CallControlsStore(bridge, phone, work);
    work.adopt(alice!);
    work.adopt(chen!);
    work.select(alice!.requestId);
    await calls.callCustomer();
    assert.equal(calls.getState().voice?.status, 'verified');
    assert.equal(bridge.count('call.ended'), 0, 'nothing ended while the call is up');
    phone.farEndHangsUp();
    assert.deepEqual(bridge.last('call.ended'), {
      requestId: alice!.requestId,
      fence: 1,
      ticket: 'ticket-for-alice',
    });
    phone.farEndHangsUp();
    assert.equal(bridge.count('call.ended'), 1, 'told once');
    // The chats go on: both still held, the other one selected and completed as before.
    assert.deepEqual(heldIds(work), ['Alice', 'Chen']);
    work.select(chen!.requestId);
    await work.complete();
    assert.deepEqual(bridge.last('request.complete'), { requestId: chen!.requestId, fence: 1 });
    assert.deepEqual(heldIds(work), ['Alice']);
    assert.equal(wrapUp.getState().item?.customerName, 'Chen');
  });

  it('an offer while chats are held is shown beside them; accept adds it, reject keeps them', async () => {
    const [alice, bob, chen, dora] = ['Alice', 'Bob', 'Chen', 'Dora'].map((customerName) =>
      chat({ customerName }),
    );
    const { bridge, work } = setup();
    bridge.emit('offer', offerOf(alice!));
    await work.accept();
    bridge.emit('offer', offerOf(bob!));
    let s = work.getState();
    assert.equal(s.phase, 'active', 'the held chat stays on the desk');
    assert.equal(s.phase === 'active' && s.offer?.offer.requestId, bob!.requestId, 'the offer beside it');
    assert.equal(work.focusRequestId, alice!.requestId, 'the panel stays on the chat in hand');
    await work.accept();
    bridge.emit('offer', offerOf(chen!));
    await work.accept();
    assert.deepEqual(heldIds(work), ['Alice', 'Bob', 'Chen']);
    s = work.getState();
    assert.equal(
      s.phase === 'active' && s.request.customerName,
      'Chen',
      'the chat just accepted is selected',
    );
    assert.equal(s.phase === 'active' && s.offer, null);

    bridge.emit('offer', offerOf(dora!));
    await work.reject();
    s = work.getState();
    assert.deepEqual(heldIds(work), ['Alice', 'Bob', 'Chen'], 'passing on an offer loses no chat');
    assert.match(s.phase === 'active' ? (s.notice ?? '') : '', /You passed on Dora/);
    assert.deepEqual(bridge.last('offer.reject'), { requestId: dora!.requestId, fence: 1 });

    // The offer lapses while chats are held: the notice says so, the chats stay.
    bridge.emit('offer', offerOf(dora!, 2));
    bridge.emit(
      'agent.state',
      agentView({
        presence: 'missed',
        currentRequestId: chen!.requestId,
        heldRequestIds: [alice!.requestId, bob!.requestId, chen!.requestId],
      }),
    );
    s = work.getState();
    assert.equal(s.phase === 'active' && s.offer, null);
    assert.match(s.phase === 'active' ? (s.notice ?? '') : '', /offer for Dora timed out/);
    assert.deepEqual(heldIds(work), ['Alice', 'Bob', 'Chen']);
  });

  it('selecting a held chat moves complete to it; the others stay open, each owing a wrap-up; idle after the last', async () => {
    const [alice, bob, chen] = ['Alice', 'Bob', 'Chen'].map((customerName) => chat({ customerName }));
    const { bridge, work, wrapUp } = setup();
    for (const r of [alice!, bob!, chen!]) work.adopt(r);
    work.select(bob!.requestId);
    assert.equal(work.focusRequestId, bob!.requestId);
    await work.complete();
    assert.deepEqual(bridge.last('request.complete'), { requestId: bob!.requestId, fence: 1 });
    let s = work.getState();
    assert.equal(s.phase, 'active', 'two chats are still open');
    assert.deepEqual(heldIds(work), ['Alice', 'Chen']);
    assert.equal(wrapUp.getState().item?.customerName, 'Bob', "Bob's wrap-up is owed at once");
    assert.notEqual(work.focusRequestId, bob!.requestId);

    // The customer of Alice's chat leaves: the authority still says I hold Chen's.
    bridge.handlers['request.get'] = ({ requestId }: { requestId: string }) => ({
      ...alice!,
      requestId,
      state: 'abandoned',
    });
    bridge.emit(
      'agent.state',
      agentView({ presence: 'busy', currentRequestId: chen!.requestId, heldRequestIds: [chen!.requestId] }),
    );
    await until('Alice has left the desk', () => heldIds(work).length === 1);
    s = work.getState();
    assert.equal(s.phase === 'active' && s.request.customerName, 'Chen');
    assert.match(s.phase === 'active' ? (s.notice ?? '') : '', /Alice ended the request/);
    assert.deepEqual(
      [wrapUp.getState().item?.customerName, ...wrapUp.getState().queued.map((q) => q.customerName)],
      ['Bob', 'Alice'],
      'one wrap-up per conversation, none lost',
    );

    await work.complete();
    assert.equal(work.getState().phase, 'idle', 'the desk goes idle after the last chat');
    assert.deepEqual(
      wrapUp.getState().queued.map((q) => q.customerName),
      ['Alice', 'Chen'],
    );
  });

  it('a chat transferred away (handed over) leaves the others open and owes no wrap-up', () => {
    const [alice, bob] = ['Alice', 'Bob'].map((customerName) => chat({ customerName }));
    const { work, wrapUp } = setup();
    work.adopt(alice!);
    work.adopt(bob!);
    work.handedOver(bob!.requestId, 'Bob is now with Sam Patel.');
    const s = work.getState();
    assert.equal(s.phase, 'active');
    assert.deepEqual(heldIds(work), ['Alice']);
    assert.equal(s.phase === 'active' && s.notice, 'Bob is now with Sam Patel.');
    assert.equal(wrapUp.getState().item, null, 'no wrap-up for a request handed over');
    work.handedOver(alice!.requestId, 'Alice is now with Sam Patel.');
    assert.deepEqual(work.getState(), { phase: 'idle', notice: 'Alice is now with Sam Patel.' });
  });

  it('a reload while holding three chats: every one comes back from agent.state', async () => {
    const rs = ['Alice', 'Bob', 'Chen'].map((customerName) => chat({ customerName }));
    const { bridge, agent, work } = setup({
      'agent.me': () =>
        agentView({
          presence: 'busy',
          currentRequestId: rs[2]!.requestId,
          heldRequestIds: rs.map((r) => r.requestId),
        }),
      'panel.get': ({ requestId }: { requestId: string }) => ({
        request: rs.find((r) => r.requestId === requestId),
      }),
    });
    await agent.refresh();
    await whenState('three chats held', work, () => heldIds(work).length === 3);
    assert.deepEqual([...heldIds(work)].sort(), ['Alice', 'Bob', 'Chen']);
    assert.equal(bridge.count('request.get'), 0, 'nothing asked about requests still mine');
  });

  it('each request follows ITEM_TRANSITIONS: offered, held, completing, gone', () => {
    const reach = new Set<ItemStep>(['new']);
    for (let grew = true; grew;) {
      grew = false;
      for (const from of reach)
        for (const to of ITEM_TRANSITIONS[from])
          if (!reach.has(to)) {
            reach.add(to);
            grew = true;
          }
    }
    assert.deepEqual([...reach].sort(), Object.keys(ITEM_TRANSITIONS).sort(), 'every step is reachable');
    assert.deepEqual(ITEM_TRANSITIONS.gone, [], 'a request that left the desk is forgotten');
    assert.ok(!ITEM_TRANSITIONS.new.includes('completing'), 'only a held request is completed');
  });

  it('wrap-ups owed for several chats are written one after the other, queue kept in the draft', async () => {
    const storage = new Map<string, string>();
    const store = {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => void storage.set(k, v),
      removeItem: (k: string) => void storage.delete(k),
    };
    const bridge = new FakeBridge({
      'wrapUp.dispositions': () => ({ dispositions: DEFAULT_DISPOSITIONS }),
      'outbox.status': () => ({ pending: 0, sent: 0, lastError: null, nextAttemptAt: null }),
      'wrapUp.save': () => ({ idempotencyKey: 'k'.repeat(22), state: 'pending' }),
      'history.list': () => [],
    });
    const w = new WrapUpStore(bridge, store);
    await w.start('stf_dana');
    const [a, b] = [chat({ customerName: 'Alice' }), chat({ customerName: 'Bob' })];
    w.begin(a);
    w.begin(b);
    w.begin(a);
    assert.equal(w.getState().item?.customerName, 'Alice');
    assert.deepEqual(
      w.getState().queued.map((q) => q.customerName),
      ['Bob'],
    );
    const again = new WrapUpStore(bridge, store);
    await again.start('stf_dana');
    assert.deepEqual(
      again.getState().queued.map((q) => q.customerName),
      ['Bob'],
      'a reload keeps the queue',
    );
    w.choose(0, 'resolved');
    w.choose(1, 'card-blocked');
    assert.equal(await w.save(), true);
    assert.equal(w.getState().item?.customerName, 'Bob', "Bob's comes next");
    assert.deepEqual(w.getState().path, []);
    w.choose(0, 'resolved');
    w.choose(1, 'card-blocked');
    assert.equal(await w.save(), true);
    assert.equal(w.getState().item, null);
    assert.equal(storage.size, 0, 'no draft left');
  });
});

describe('renderer: several chats in the console app', () => {
  const message = (requestId: string, seq: number, text: string): ChatMessage => ({
    requestId,
    seq,
    clientMsgId: `cus_${requestId.slice(4, 12)}${String(seq).padStart(8, '0')}`,
    sender: 'customer',
    text,
    at: '2026-12-05T12:00:00.000Z',
  });

  it('the conversation list selects the request: panel and remote control follow; messages reach their own conversation', async () => {
    const rs = ['Alice Martin', 'Bob Okafor', 'Chen Wei'].map((customerName, i) =>
      chat({ customerName, fence: i + 2 }),
    );
    const bridge = appBridge(rs, {
      'chat.frame': () => ({ sent: true }),
      'request.complete': ({ requestId, fence }) => ({
        ...rs.find((r) => r.requestId === requestId)!,
        fence,
        state: 'completed',
      }),
    });
    const app = new ConsoleApp(bridge, new NoSoftphone(), { storage: null, media: null });
    await app.start();
    await until('three conversations', () => app.chats.getState().conversations.length === 3);
    assert.equal(heldIds(app.work).length, 3);

    const [alice, bob, chen] = rs.map((r) => r.requestId) as [string, string, string];
    app.chats.select(bob);
    assert.equal(app.work.focusRequestId, bob, 'the list selects the request');
    await until('the panel on Bob', () => app.panel.getState().requestId === bob);
    assert.equal(app.remoteControl.getState().target?.requestId, bob, 'device actions follow');

    bridge.emit('chat.frame', { type: 'chat.message', message: message(alice, 1, 'for Dana from Alice') });
    bridge.emit('chat.frame', { type: 'chat.message', message: message(chen, 1, 'Chen here') });
    bridge.emit('chat.frame', { type: 'chat.message', message: message(chen, 2, 'still here') });
    const byId = () => Object.fromEntries(app.chats.getState().conversations.map((c) => [c.requestId, c]));
    assert.deepEqual(
      byId()[alice]!.entries.map((e) => e.text),
      ['for Dana from Alice'],
    );
    assert.deepEqual([byId()[alice]!.unread, byId()[bob]!.unread, byId()[chen]!.unread], [1, 0, 2]);

    await app.work.complete();
    assert.equal(bridge.last('request.complete').requestId, bob, 'complete follows the selection');
    assert.equal(app.work.getState().phase, 'active');
    assert.deepEqual(
      app.chats
        .getState()
        .conversations.filter((c) => !c.closed)
        .map((c) => c.customerName),
      ['Alice Martin', 'Chen Wei'],
      'the two other chats stay open',
    );
    assert.match(byId()[bob]!.closed ?? '', /read-only/);
    assert.equal(app.wrapUp.getState().item?.customerName, 'Bob Okafor');
    app.chats.select(chen);
    assert.equal(app.work.focusRequestId, chen);
  });

  it('a chat offered beside the chats held shows its own verification panel; the held chat keeps the main one', async () => {
    const alice = chat({ customerName: 'Alice Martin', fence: 2 });
    const bob = chat({ customerName: 'Bob Okafor' });
    const bridge = appBridge([alice], {
      'panel.get': ({ requestId }: { requestId: string }) => ({
        request: known.get(requestId),
        verification: { level: requestId === bob.requestId ? 3 : 2 },
        secure: [],
        photos: { enrolment: null, latest: null, comparison: null },
      }),
      'offer.accept': ({ requestId, fence }) => ({ ...known.get(requestId)!, fence, state: 'assigned' }),
      'crm.screenPop': () => ({ url: null }),
    });
    const app = new ConsoleApp(bridge, new NoSoftphone(), { storage: null, media: null });
    await app.start();
    await until(
      'the panel on Alice',
      () => app.panel.getState().panel?.request.requestId === alice.requestId,
    );
    assert.equal(app.offerPanel.getState().requestId, null, 'no offer, no second panel');

    bridge.emit('offer', offerOf(bob));
    await until(
      "Bob's panel beside the offer",
      () => app.offerPanel.getState().panel?.request.requestId === bob.requestId,
    );
    assert.equal(app.offerPanel.getState().panel?.verification.level, 3);
    assert.equal(app.panel.getState().requestId, alice.requestId, 'the chat in hand keeps the main panel');

    await app.work.accept();
    assert.equal(app.offerPanel.getState().requestId, null, 'accepted: the offer panel goes');
    await until(
      'the main panel follows the accepted chat',
      () => app.panel.getState().requestId === bob.requestId,
    );
  });
});
