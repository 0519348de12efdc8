/**
 * The console's remote-control, transfer and supervisor logic without React or a
 * browser: RemoteControlStore, the command composers' drafts, TransferStore and its hand-over
 * to WorkStore, BoardStore's supervisor actions, driven through a fake bridge.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandView, DeviceCommand } from '../../protocol/src/device-control.ts';
import type { RequestView } from '../../protocol/src/pipeline.ts';
import type { TransferView } from '../../protocol/src/transfers.ts';
import { BridgeCallError } from '../../renderer/src/bridge/types.ts';
import {
  NoSoftphone,
  type Softphone,
  type SoftphoneSnapshot,
} from '../../renderer/src/softphone/softphone.ts';
import {
  RemoteControlStore,
  commandSummary,
  money,
  refusalText,
} from '../../renderer/src/state/remote-control.ts';
import { AgentStore } from '../../renderer/src/state/agent.ts';
import { BoardStore } from '../../renderer/src/state/board.ts';
import { ConsoleApp } from '../../renderer/src/state/console.ts';
import {
  confirmCommand,
  formFields,
  itemIds,
  menuItems,
  minorUnits,
  textCommand,
} from '../../renderer/src/state/command-drafts.ts';
import { QueueStore } from '../../renderer/src/state/queue.ts';
import { handoverText, TransferStore } from '../../renderer/src/state/transfer.ts';
import { WorkStore } from '../../renderer/src/state/work.ts';
import { WrapUpStore } from '../../renderer/src/state/wrap-up.ts';
import { agentView, FakeBridge, request, type Handler } from '../support/fake-bridge.ts';
import { until, whenState } from '../support/wait.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

function commandView(over: Partial<CommandView> & { command?: DeviceCommand } = {}): CommandView {
  return {
    commandId: 'cmd_0000000000000001',
    requestId: 'req_00000000000000000001',
    agentId: 'stf_dana',
    fence: 1,
    seq: 1,
    revision: 1,
    command: { kind: 'navigate', payload: { screen: 'account' } },
    state: 'pending',
    createdAt: iso(0),
    expiresAt: iso(120),
    shownAt: null,
    finishedAt: null,
    result: null,
    reason: null,
    ...over,
  };
}

const target = (over: Partial<{ requestId: string; fence: number; level: number }> = {}) => ({
  requestId: 'req_00000000000000000001',
  fence: 1,
  level: 2,
  customerName: 'Alice Martin',
  ...over,
});

const listOf = (commands: CommandView[], stopped = false) => ({
  requestId: 'req_00000000000000000001',
  fence: 1,
  lastSeq: commands.length,
  control: { stopped, stoppedAt: stopped ? iso(5) : null, changedAt: stopped ? iso(5) : null },
  commands,
});

/** The request's commands answered by command.list (focus sets loading until then). */
const loaded = (actions: RemoteControlStore) => whenState('the commands loaded', actions, (s) => !s.loading);

describe('renderer: actions on the device', () => {
  it('loads the request’s commands on focus, sends with the fence I hold, follows command.update', async () => {
    let sent = 0;
    const bridge = new FakeBridge({
      'command.list': () =>
        listOf([commandView({ state: 'done', result: { kind: 'navigate', screen: 'account' } })]),
      'command.send': ({ requestId, fence, command }) =>
        commandView({
          commandId: `cmd_000000000000000${++sent + 1}`,
          requestId,
          fence,
          seq: sent + 1,
          command,
        }),
    });
    const actions = new RemoteControlStore(bridge);
    actions.focus(target());
    await loaded(actions);
    assert.equal(actions.getState().commands.length, 1);
    assert.equal(actions.getState().loading, false);

    const text = textCommand('tracking', 'Type the tracking number');
    assert.ok(text.ok);
    const view = await actions.send(text.value);
    assert.equal(view?.state, 'pending');
    assert.deepEqual(bridge.last('command.send'), {
      requestId: 'req_00000000000000000001',
      fence: 1,
      command: text.value,
    });
    // The device answers: the event replaces the command; a late stale copy does not undo it.
    const done = { ...view!, state: 'done' as const, result: { kind: 'text' as const, value: 'JD0146' } };
    bridge.emit('command.update', done);
    bridge.emit('command.update', { ...view!, state: 'shown' });
    assert.equal(actions.getState().commands.at(-1)?.state, 'done');
    // Another request's events are not mine.
    bridge.emit(
      'command.update',
      commandView({ commandId: 'cmd_other00000000000', requestId: 'req_other000000000000' }),
    );
    assert.equal(actions.getState().commands.length, 2);
  });

  it('gates kinds by level and by the customer’s stop, with the reason in words', async () => {
    const bridge = new FakeBridge({
      'command.list': () => listOf([commandView({ state: 'shown' })]),
    });
    const actions = new RemoteControlStore(bridge);
    actions.focus(target({ level: 1 }));
    await loaded(actions);
    assert.equal(actions.blocked('navigate'), null);
    assert.equal(
      actions.blocked('confirm'),
      'Needs level 2 (Device key + PIN or photo); the customer is at level 1',
    );
    const confirm = confirmCommand({
      amount: '250.00',
      currency: 'GBP',
      payee: 'Northwind',
      reference: 'INV-1',
      terms: 'OK',
    });
    assert.ok(confirm.ok);
    assert.equal(await actions.send(confirm.value), null);
    assert.equal(bridge.count('command.send'), 0, 'refused before the authority');
    assert.match(actions.getState().error ?? '', /Needs level 2/);
    // A step-up raises the level: allowed now.
    actions.focus(target({ level: 2 }));
    assert.equal(actions.blocked('confirm'), null);
    assert.equal(bridge.count('command.list'), 1, 'a level change does not reload');

    bridge.emit('control.state', {
      requestId: 'req_00000000000000000001',
      stopped: true,
      at: iso(10),
      cancelled: ['cmd_0000000000000001'],
    });
    assert.equal(actions.getState().control.stopped, true);
    assert.equal(actions.getState().commands[0]?.state, 'cancelled', 'open commands withdrawn at once');
    assert.equal(actions.blocked('photo'), 'The customer stopped remote control');
    bridge.emit('control.state', {
      requestId: 'req_00000000000000000001',
      stopped: false,
      at: iso(20),
      cancelled: [],
    });
    assert.equal(actions.blocked('photo'), null);
    // The stop's frame again, late (from another authority node, through its outbox): older
    // than the resume shown, it changes nothing.
    bridge.emit('control.state', {
      requestId: 'req_00000000000000000001',
      stopped: true,
      at: iso(10),
      cancelled: [],
    });
    assert.equal(actions.blocked('photo'), null, 'a late stop does not undo the resume');
    assert.equal(actions.getState().control.at, iso(20));
  });

  it('a resume learned from the list (not from a frame) is not undone by a late stop frame', async () => {
    const bridge = new FakeBridge({
      // stopped at 10, allowed again at 20: the console (reloaded) knows it from the list only
      'command.list': () => ({
        ...listOf([]),
        control: { stopped: false, stoppedAt: null, changedAt: iso(20) },
      }),
    });
    const actions = new RemoteControlStore(bridge);
    actions.focus(target());
    await loaded(actions);
    const stop = (at: number) =>
      bridge.emit('control.state', {
        requestId: 'req_00000000000000000001',
        stopped: true,
        at: iso(at),
        cancelled: [],
      });
    stop(10); // the stop's frame, late, from another node's outbox
    assert.equal(actions.blocked('photo'), null, 'older than the resume the list told of');
    stop(30); // a new stop
    assert.equal(actions.blocked('photo'), 'The customer stopped remote control');
  });

  it('says why the authority refused, in words, per request', async () => {
    const bridge = new FakeBridge({
      'command.list': ({ requestId }) => ({
        ...listOf([], requestId === 'req_00000000000000000001'),
        requestId,
      }),
      'command.send': () => {
        throw new BridgeCallError('not_assigned', 'the request is not assigned to you');
      },
    });
    const actions = new RemoteControlStore(bridge);
    actions.focus(target());
    await loaded(actions);
    assert.equal(actions.getState().control.stopped, true, 'the stop is known from the list');
    actions.focus(null);
    actions.focus(target({ requestId: 'req_00000000000000000002' }));
    await loaded(actions);
    await actions.send({ kind: 'navigate', payload: { screen: 'home' } });
    assert.equal(
      actions.getState().error,
      'This request is no longer yours: the command was refused (The request is not assigned to you).',
    );
    assert.equal(
      refusalText(new BridgeCallError('control_stopped', 'stopped by the customer')),
      'The customer stopped remote control: the command was refused (Stopped by the customer).',
    );
    assert.equal(refusalText(new BridgeCallError('weird', 'something odd.')), 'Something odd.');
  });

  it('loads photos and screenshots the device sent (images only), edits a live menu, withdraws', async () => {
    const menu: DeviceCommand = {
      kind: 'menu',
      payload: { title: 'Which card?', items: [{ id: 'debit', label: 'Debit' }] },
    };
    const bridge = new FakeBridge({
      'command.list': () =>
        listOf([
          commandView({
            commandId: 'cmd_photo00000000000',
            state: 'done',
            result: { kind: 'photo', photoId: 'pho_1111111111111111' },
          }),
          commandView({
            commandId: 'cmd_shot000000000000',
            state: 'done',
            result: { kind: 'screenshot', imageId: 'pho_2222222222222222' },
          }),
          commandView({ commandId: 'cmd_menu000000000000', state: 'shown', command: menu }),
        ]),
      'panel.photo': ({ photoId }) =>
        photoId === 'pho_1111111111111111' ? 'data:image/png;base64,iVBORw0=' : 'data:text/html;base64,PGI+',
      'command.updateMenu': (args) =>
        commandView({
          commandId: args.commandId,
          state: 'shown',
          revision: 2,
          command: { kind: 'menu', payload: { title: args.title, items: args.items } },
        }),
      'command.cancel': ({ commandId }) =>
        commandView({ commandId, state: 'cancelled', revision: 2, command: menu, reason: 'cancelled' }),
    });
    const actions = new RemoteControlStore(bridge);
    actions.focus(target());
    await loaded(actions);
    const { images } = await whenState('both images answered by panel.photo', actions, (st) =>
      ['pho_1111111111111111', 'pho_2222222222222222'].every(
        (id) => st.images[id] && st.images[id].status !== 'loading',
      ),
    );
    assert.deepEqual(images['pho_1111111111111111'], {
      status: 'ready',
      url: 'data:image/png;base64,iVBORw0=',
    });
    assert.deepEqual(images['pho_2222222222222222'], { status: 'error', message: 'not an image' });

    const items = menuItems([
      { id: 'debit', label: 'Debit card' },
      { label: 'Credit card' },
      { label: '  ' },
    ]);
    assert.ok(items.ok);
    assert.deepEqual(items.value, [
      { id: 'debit', label: 'Debit card' },
      { id: 'credit-card', label: 'Credit card' },
    ]);
    await actions.updateMenu('cmd_menu000000000000', 'Which card?', items.value);
    assert.deepEqual(bridge.last('command.updateMenu'), {
      commandId: 'cmd_menu000000000000',
      fence: 1,
      title: 'Which card?',
      items: items.value,
    });
    const edited = actions.getState().commands.find((c) => c.commandId === 'cmd_menu000000000000')!;
    assert.equal(edited.revision, 2);
    await actions.cancel('cmd_menu000000000000');
    assert.equal(
      actions.getState().commands.find((c) => c.commandId === 'cmd_menu000000000000')?.state,
      'cancelled',
    );
  });
});

describe('renderer: command composers', () => {
  it('makes url-safe unique ids, typed form fields, minor units without float errors', () => {
    assert.deepEqual(itemIds(['Replace my card', 'Replace my card', '€€€', 'Émile']), [
      'replace-my-card',
      'replace-my-card-2',
      'item-3',
      'emile',
    ]);
    const f = formFields([
      { label: 'Card', type: 'select', required: true, options: 'Debit, Credit\nPrepaid' },
      { label: 'I agree', type: 'checkbox', required: true, options: '' },
      { label: '', type: 'text', required: false, options: '' },
    ]);
    assert.ok(f.ok);
    assert.deepEqual(f.value[0], {
      id: 'card',
      label: 'Card',
      required: true,
      type: 'select',
      options: [
        { id: 'debit', label: 'Debit' },
        { id: 'credit', label: 'Credit' },
        { id: 'prepaid', label: 'Prepaid' },
      ],
    });
    assert.equal(f.value.length, 2, 'blank rows dropped');
    assert.deepEqual(formFields([{ label: 'Pick', type: 'select', required: false, options: ' , ' }]), {
      ok: false,
      error: '“Pick”: list the choices.',
    });
    assert.equal(minorUnits('12.5', 'GBP'), 1250);
    assert.equal(minorUnits('0.29', 'GBP'), 29, 'no 28.999…');
    assert.equal(minorUnits('1000', 'JPY'), 1000);
    assert.equal(minorUnits('10.5', 'JPY'), null);
    assert.equal(minorUnits('1.234', 'GBP'), null);
    assert.equal(minorUnits('-3', 'GBP'), null);
    assert.equal(money(25000, 'GBP'), '£250.00');
    const bad = confirmCommand({ amount: '5', currency: 'pounds', payee: 'x', reference: 'y', terms: 'z' });
    assert.deepEqual(bad, { ok: false, error: 'Currency: a three-letter code such as GBP.' });
    const empty = confirmCommand({ amount: '5', currency: 'GBP', payee: '', reference: 'y', terms: 'z' });
    assert.equal(empty.ok, false);
    assert.match(!empty.ok ? empty.error : '', /payee/);
    assert.equal(
      commandSummary({ kind: 'verify', payload: { factor: 'biometric', reason: 'Confirm it is you' } }),
      'Fingerprint or face: Confirm it is you',
    );
  });
});

/** A softphone that records what it was asked, in a given line state (the rest: NoSoftphone's refusals). */
class RecordingSoftphone implements Softphone {
  readonly did: string[] = [];
  private readonly none = new NoSoftphone();
  constructor(
    private line: SoftphoneSnapshot['line'],
    private requestId: string | null = null,
  ) {}
  getSnapshot(): SoftphoneSnapshot {
    return { ...this.none.getSnapshot(), present: true, line: this.line, requestId: this.requestId };
  }
  subscribe = () => () => undefined;
  connect = () => this.none.connect();
  call = () => this.none.call();
  answer = () => this.none.answer();
  sendDtmf = () => this.none.sendDtmf();
  mute = () => this.none.mute();
  setDevices = () => this.none.setDevices();
  disconnect = () => this.none.disconnect();
  endConsult = () => this.record('endConsult');
  hangUp = () => this.record('hangUp');
  hold = (on: boolean) => {
    this.line = on ? 'held' : 'connected';
    return this.record(`hold:${on}`);
  };
  dial = (target: string, peer?: string) => this.record(`dial:${target}:${peer}`);
  consult = (target: string, peer?: string) => this.record(`consult:${target}:${peer}`);
  private record(what: string): Promise<void> {
    this.did.push(what);
    return Promise.resolve();
  }
}

function transferView(r: RequestView, over: Partial<TransferView> = {}): TransferView {
  return {
    transferId: 'trf_0000000000000001',
    requestId: r.requestId,
    kind: 'transfer',
    mode: 'blind',
    by: { staffId: 'stf_dana', displayName: 'Dana Reyes' },
    from: { staffId: 'stf_dana', displayName: 'Dana Reyes' },
    target: { kind: 'agent', staffId: 'stf_sam', queueId: null, name: 'Sam Patel' },
    state: 'completed',
    note: null,
    fromFence: r.fence,
    toFence: r.fence + 1,
    createdAt: iso(0),
    expiresAt: null,
    resolvedAt: iso(0),
    request: { ...r, fence: r.fence + 1 },
    ...over,
  };
}

describe('renderer: transfers', () => {
  const setup = (
    me: string,
    handlers: Partial<Record<string, Handler>> = {},
    line: SoftphoneSnapshot['line'] = 'ready',
    callFor: string | null = null,
  ) => {
    const bridge = new FakeBridge({
      'agent.me': () => agentView({ staffId: me }),
      'transfer.mine': () => ({ incoming: [], outgoing: [] }),
      ...handlers,
    });
    const agent = new AgentStore(bridge);
    agent.start(me);
    const queue = new QueueStore(bridge);
    const wrapUp = new WrapUpStore(bridge, null);
    const work = new WorkStore(bridge, agent, queue, wrapUp);
    const phone = new RecordingSoftphone(line, callFor);
    const transfers = new TransferStore(bridge, work, phone);
    void transfers.start(me);
    return { bridge, agent, queue, wrapUp, work, transfers, phone };
  };
  const active = async (s: ReturnType<typeof setup>, r: RequestView) => {
    s.bridge.handlers['offer.accept'] = ({ requestId, fence }) => ({
      ...r,
      requestId,
      fence,
      state: 'assigned',
    });
    s.bridge.emit('offer', {
      requestId: r.requestId,
      fence: r.fence,
      expiresAt: iso(600),
      request: { ...r, state: 'offered' },
    });
    await s.work.accept();
    assert.equal(s.work.getState().phase, 'active');
  };

  it('blind: ownership leaves me at once, the desk goes idle and no wrap-up is owed', async () => {
    const r = request({ customerName: 'Alice Martin', fence: 3, agentId: 'stf_dana' });
    const s = setup(
      'stf_dana',
      { 'transfer.start': (args) => transferView({ ...r }, { note: args.note ?? null }) },
      'connected',
      r.requestId,
    );
    await active(s, r);
    assert.equal(
      await s.transfers.transfer('blind', { kind: 'agent', staffId: 'stf_sam' }, '  Wants a new PIN '),
      true,
    );
    assert.deepEqual(s.bridge.last('transfer.start'), {
      requestId: r.requestId,
      fence: 3,
      mode: 'blind',
      target: { kind: 'agent', staffId: 'stf_sam' },
      note: 'Wants a new PIN',
    });
    const w = s.work.getState();
    assert.equal(w.phase, 'idle');
    assert.match(
      w.phase === 'idle' ? (w.notice ?? '') : '',
      /Alice Martin is now with Sam Patel \(blind transfer\)/,
    );
    assert.equal(s.wrapUp.getState().item, null, 'no wrap-up for a request that moved on');
    assert.deepEqual(s.phone.did, ['hangUp'], 'my call with the customer ends: the new holder calls them');
    // The authority's agent.state (I hold nothing, available) changes nothing more.
    s.bridge.emit('agent.state', agentView({ staffId: 'stf_dana', presence: 'available' }));
    assert.equal(s.wrapUp.getState().item, null);
  });

  it('a take-over seen only through agent.state asks the authority where the request went', async () => {
    const r = request({ customerName: 'Bob', fence: 1, agentId: 'stf_dana' });
    const s = setup('stf_dana', {
      'request.get': () => ({
        ...r,
        fence: 2,
        agentId: 'stf_morgan',
        agentName: 'Morgan Lee',
        state: 'assigned',
      }),
    });
    await active(s, r);
    s.bridge.emit('agent.state', agentView({ staffId: 'stf_dana', presence: 'available' }));
    const w = await whenState(
      'the work to learn where the request went (request.get)',
      s.work,
      (st) => st.phase === 'idle' && !!st.notice,
    );
    assert.equal(w.phase === 'idle' && w.notice, 'Bob moved on to Morgan Lee. No wrap-up is owed.');
    assert.equal(s.wrapUp.getState().item, null);
    // The transfer.update that follows names how.
    s.bridge.emit(
      'transfer.update',
      transferView(r, {
        kind: 'take_over',
        by: { staffId: 'stf_morgan', displayName: 'Morgan Lee' },
        target: { kind: 'supervisor', staffId: 'stf_morgan', queueId: null, name: 'Morgan Lee' },
      }),
    );
    const after = s.work.getState();
    assert.equal(after.phase === 'idle' && after.notice, 'Morgan Lee took over Bob. No wrap-up is owed.');
  });

  it('warm: consult offer out, a consult call with the customer held, declined keeps the customer with me', async () => {
    const r = request({ customerName: 'Chen Wei', fence: 2, agentId: 'stf_dana' });
    const offered = transferView(r, {
      mode: 'warm',
      state: 'offered',
      toFence: null,
      expiresAt: iso(120),
      request: r,
    });
    const s = setup('stf_dana', { 'transfer.start': () => offered }, 'connected', r.requestId);
    await active(s, r);
    await s.transfers.transfer('warm', { kind: 'agent', staffId: 'stf_sam' }, '');
    assert.equal(s.transfers.getState().outgoing?.transferId, offered.transferId);
    assert.equal(s.work.getState().phase, 'active', 'the customer stays with me until Sam accepts');
    await s.transfers.callColleague();
    assert.deepEqual(
      s.phone.did,
      ['hold:true', 'consult:a-stf_sam:Sam Patel'],
      'a second leg, the customer held',
    );
    s.bridge.emit('transfer.update', { ...offered, state: 'declined', resolvedAt: iso(30) });
    assert.equal(s.transfers.getState().outgoing, null);
    assert.equal(
      s.transfers.getState().notice,
      'Sam Patel declined the transfer: Chen Wei is still with you.',
    );
    assert.equal(s.work.getState().phase, 'active');
  });

  it('the target sees the consult offer and, accepting it, holds the request at the new fence', async () => {
    const r = request({ customerName: 'Chen Wei', fence: 2, agentId: 'stf_dana', state: 'assigned' });
    const offered = transferView(r, {
      mode: 'warm',
      state: 'offered',
      toFence: null,
      expiresAt: iso(120),
      request: r,
    });
    const accepted = transferView(r, {
      mode: 'warm',
      state: 'accepted',
      toFence: 3,
      request: { ...r, fence: 3, agentId: 'stf_sam' },
    });
    const s = setup('stf_sam', { 'transfer.accept': () => accepted });
    s.bridge.emit('transfer.update', offered);
    assert.equal(s.transfers.getState().incoming.length, 1);
    await s.transfers.accept(offered.transferId);
    assert.equal(s.transfers.getState().incoming.length, 0);
    const w = s.work.getState();
    assert.equal(w.phase, 'active');
    assert.equal(w.phase === 'active' && w.request.fence, 3);
    assert.equal(s.transfers.getState().arriving[r.requestId]?.mode, 'warm');
    // A queue copy with the old holder's fence does not take me back to it.
    s.bridge.emit('queue.delta', { queues: [], upserts: [{ ...r, fence: 2 }] });
    const still = s.work.getState();
    assert.equal(still.phase === 'active' && still.request.fence, 3);
    assert.equal(
      handoverText({
        ...accepted,
        target: { kind: 'queue', staffId: null, queueId: 'cards', name: 'Cards' },
      }),
      'Chen Wei is back in the Cards queue, keeping their place and their verification.',
    );
  });

  it('a late "offered" for a consult that already ended does not bring it back (frames from two nodes can cross)', async () => {
    // With several nodes, a frame for a socket on the node that made the change goes out at
    // once, one from another node comes through the outbox: the target can see the decline
    // it made before the offer that the transferring agent's node sent earlier.
    const r = request({ customerName: 'Chen Wei', fence: 2, agentId: 'stf_dana', state: 'assigned' });
    const offered = transferView(r, { mode: 'warm', state: 'offered', toFence: null, request: r });
    const target = setup('stf_sam', { 'transfer.mine': () => ({ incoming: [offered], outgoing: [] }) });
    await until(
      'the consult offer from transfer.mine',
      () => target.transfers.getState().incoming.length === 1,
    );
    target.bridge.emit('transfer.update', { ...offered, state: 'declined', resolvedAt: iso(30) });
    assert.equal(target.transfers.getState().incoming.length, 0);
    target.bridge.emit('transfer.update', offered);
    assert.deepEqual(target.transfers.getState().incoming, [], 'the declined consult stays gone');

    const from = setup('stf_dana', { 'transfer.start': () => offered }, 'connected', r.requestId);
    await active(from, r);
    await from.transfers.transfer('warm', { kind: 'agent', staffId: 'stf_sam' }, '');
    from.bridge.emit('transfer.update', { ...offered, state: 'cancelled', resolvedAt: iso(20) });
    assert.equal(from.transfers.getState().outgoing, null);
    from.bridge.emit('transfer.update', offered);
    assert.equal(from.transfers.getState().outgoing, null, 'my cancelled consult does not come back');
    // A new consult (another transfer id) for the same request is shown as usual.
    const again = { ...offered, transferId: 'trf_0000000000000002' };
    from.bridge.emit('transfer.update', again);
    assert.equal(from.transfers.getState().outgoing?.transferId, again.transferId);
  });
});

describe('renderer: supervisor board actions', () => {
  it('takes over with the fence the board showed, reassigns, sets an agent’s state, says why a refusal happened', async () => {
    const r = request({ customerName: 'Bob', state: 'assigned', fence: 4, agentId: 'stf_dana' });
    const bridge = new FakeBridge({
      'board.snapshot': () => ({
        queues: [],
        requests: [r],
        agents: [agentView(), agentView({ staffId: 'stf_sam', displayName: 'Sam Patel' })],
      }),
      'supervisor.takeOver': ({ requestId, fence }) => ({
        ...r,
        requestId,
        fence: fence + 1,
        agentId: 'stf_morgan',
      }),
      'supervisor.reassign': () => {
        throw new BridgeCallError('target_unavailable', 'Sam Patel is handling another request');
      },
      'supervisor.setAgentPresence': ({ staffId, presence }) =>
        agentView({
          staffId,
          displayName: 'Sam Patel',
          presence: presence.state,
          reasonCode: presence.reasonCode ?? null,
        }),
    });
    const board = new BoardStore(bridge);
    await board.start();
    const adopted: RequestView[] = [];
    assert.equal(await board.takeOver(r, (x) => adopted.push(x)), true);
    assert.deepEqual(bridge.last('supervisor.takeOver'), { requestId: r.requestId, fence: 4 });
    assert.equal(adopted[0]?.fence, 5, 'the request goes on my desk at the new fence');
    assert.equal(board.getState().notice, 'You took over Bob: the request is on your desk.');

    assert.equal(await board.reassign(r, 'stf_sam'), false);
    assert.equal(board.getState().actionError, 'Sam Patel is handling another request.');

    assert.equal(await board.setAgentPresence('stf_sam', { state: 'break', reasonCode: 'coffee' }), true);
    assert.deepEqual(bridge.last('supervisor.setAgentPresence'), {
      staffId: 'stf_sam',
      presence: { state: 'break', reasonCode: 'coffee' },
    });
    assert.equal(board.getState().board?.agents.find((a) => a.staffId === 'stf_sam')?.presence, 'break');
  });
});

describe('renderer: the console catches up after main’s feed from the authority drops', () => {
  it('fetches agent, queue, consults and the commands again when the feed is back', async () => {
    const r = request({ customerName: 'Alice', state: 'assigned', fence: 2, agentId: 'stf_dana' });
    const bridge = new FakeBridge({
      'session.current': () => ({
        staffId: 'stf_dana',
        username: 'agent1',
        displayName: 'Dana Reyes',
        role: 'agent',
      }),
      'agent.me': () => agentView({ presence: 'busy', currentRequestId: r.requestId }),
      'queue.snapshot': () => ({ queues: [], requests: [r] }),
      'wrapUp.dispositions': () => ({ version: 1, tree: [] }),
      'outbox.status': () => ({ pending: 0, sent: 0, lastError: null, nextAttemptAt: null }),
      'transfer.mine': () => ({ incoming: [], outgoing: [] }),
      'panel.get': () => ({
        request: r,
        verification: { level: 2 },
        secure: [],
        photos: { enrolment: null, latest: null, comparison: null },
      }),
      'command.list': () => listOf([]),
    });
    const app = new ConsoleApp(bridge, new NoSoftphone(), { storage: null, media: null });
    await app.start();
    await whenState('the request in hand active', app.work, (st) => st.phase === 'active');
    await whenState('remote control of it loaded', app.remoteControl, (st) => !!st.target && !st.loading);
    assert.equal(app.remoteControl.getState().target?.fence, 2, 'remote control follows the request in hand');
    const before = { agent: bridge.count('agent.me'), list: bridge.count('command.list') };
    bridge.emit('connection.state', { state: 'connected', since: iso(0) });
    assert.equal(bridge.count('agent.me'), before.agent, 'no refetch without a drop');
    bridge.emit('connection.state', { state: 'offline', since: iso(1) });
    bridge.emit('connection.state', { state: 'connecting', since: iso(2) });
    bridge.emit('connection.state', { state: 'connected', since: iso(3) });
    await until(
      'the resync after the drop (agent.me, command.list, transfer.mine again)',
      () =>
        bridge.count('agent.me') > before.agent &&
        bridge.count('command.list') > before.list &&
        bridge.count('transfer.mine') >= 2,
    );
    // Exactly once: the "connected" without a drop above fetched nothing.
    assert.equal(bridge.count('agent.me'), before.agent + 1);
    assert.equal(bridge.count('command.list'), before.list + 1);
  });
});

describe('renderer: a warm-transfer offer brings the desk forward (issue 15 defect 6)', () => {
  it('Sam on History (or the Board) is switched to Desk when Dana offers him a warm transfer, as for a queue offer', async () => {
    const r = request({ customerName: 'Alice', state: 'assigned', fence: 2, agentId: 'stf_dana' });
    const bridge = new FakeBridge({
      'session.current': () => ({
        staffId: 'stf_sam',
        username: 'agent2',
        displayName: 'Sam Patel',
        role: 'agent',
      }),
      'agent.me': () => agentView({ staffId: 'stf_sam', presence: 'available' }),
      'queue.snapshot': () => ({ queues: [], requests: [] }),
      'wrapUp.dispositions': () => ({ version: 1, tree: [] }),
      'outbox.status': () => ({ pending: 0, sent: 0, lastError: null, nextAttemptAt: null }),
      'transfer.mine': () => ({ incoming: [], outgoing: [] }),
    });
    const app = new ConsoleApp(bridge, new NoSoftphone(), { storage: null, media: null });
    await app.start();
    await until(
      'Sam signed in',
      () => app.transfers.getState() !== undefined && bridge.count('transfer.mine') >= 1,
    );
    for (const screen of ['history', 'board', 'settings'] as const) {
      app.navigation.show(screen);
      bridge.emit(
        'transfer.update',
        transferView(r, {
          transferId: `trf_00000000000000${screen.length}0`,
          mode: 'warm',
          state: 'offered',
          toFence: null,
          resolvedAt: null,
          expiresAt: iso(60_000),
          request: r,
        }),
      );
      assert.equal(app.navigation.getState(), 'desk', `from ${screen}`);
    }
    // Updates that are not an offer to Sam leave the screen alone.
    app.navigation.show('history');
    bridge.emit(
      'transfer.update',
      transferView(r, { transferId: 'trf_0000000000000077', mode: 'warm', state: 'declined', toFence: null }),
    );
    assert.equal(app.navigation.getState(), 'history');
  });
});
