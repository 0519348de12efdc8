/**
 * A desk around the next action (issue 15): auto-dial after accept, the call and hold
 * timers, the keypad toggle, the wrap-up summary, the offer sound, the audio test.
 * Stores driven through the fake bridge and a scripted softphone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CustomerPanel } from '../../protocol/src/agent-desk.ts';
import { DEFAULT_OFFER_VOLUME, SettingsPatch } from '../../protocol/src/bridge.ts';
import type { CommandView } from '../../protocol/src/device-control.ts';
import type { RequestView } from '../../protocol/src/pipeline.ts';
import { openLocalDb } from '../../main/core/local-db.ts';
import { Settings } from '../../main/core/settings.ts';
import { spokenDuration, timeOfDay, timerText } from '../../renderer/src/format.ts';
import {
  lineTimes,
  NoSoftphone,
  type CallAnswer,
  type Softphone,
  type SoftphoneCallOptions,
  type SoftphoneSnapshot,
} from '../../renderer/src/softphone/softphone.ts';
import { OFFER_TONE, TEST_TONE, toneWav } from '../../renderer/src/softphone/tones.ts';
import {
  AgentStore,
  nextPresenceText,
  presenceMenu,
  presenceRequestOf,
} from '../../renderer/src/state/agent.ts';
import {
  AudioTestStore,
  levelOf,
  type AudioEnvironment,
  type SoundElement,
} from '../../renderer/src/state/audio.ts';
import { boardPresence, reassignCandidates, takeOverConfirmText } from '../../renderer/src/state/board.ts';
import { autoDialTarget, CallControlsStore } from '../../renderer/src/state/call.ts';
import { ConsoleApp } from '../../renderer/src/state/console.ts';
import { QueueStore } from '../../renderer/src/state/queue.ts';
import { localMidnight, myStatsText, MyStatsStore } from '../../renderer/src/state/stats.ts';
import { WorkStore } from '../../renderer/src/state/work.ts';
import { WrapUpStore } from '../../renderer/src/state/wrap-up.ts';
import { wrapUpSummary } from '../../renderer/src/state/wrap-up-summary.ts';
import { agentView, FakeBridge, request, type Handler } from '../support/fake-bridge.ts';
import { until } from '../support/wait.ts';

const iso = (s: number) => new Date(Date.now() + s * 1000).toISOString();

/** A softphone whose line the test moves; call() and dialNumber() ring, answer() is the test's. */
export class ScriptedSoftphone implements Softphone {
  readonly did: string[] = [];
  private snap: SoftphoneSnapshot = { ...new NoSoftphone().getSnapshot(), present: true, line: 'ready' };
  private readonly listeners = new Set<() => void>();
  private readonly none = new NoSoftphone();
  getSnapshot = (): SoftphoneSnapshot => this.snap;
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  set(p: Partial<SoftphoneSnapshot>): void {
    this.snap = { ...this.snap, ...p };
    for (const l of this.listeners) l();
  }
  connect = () => Promise.resolve();
  call = (o: SoftphoneCallOptions): Promise<CallAnswer> => {
    this.did.push(`call:${o.requestId}`);
    this.set({ line: 'calling', requestId: o.requestId });
    return Promise.resolve({ proof: null });
  };
  dialNumber = (o: { requestId: string; target: string }) => {
    this.did.push(`dialNumber:${o.target}`);
    this.set({ line: 'calling', requestId: o.requestId });
    return Promise.resolve();
  };
  expectCall = (requestId: string) => {
    this.did.push(`expectCall:${requestId}`);
    return Promise.resolve();
  };
  dial = () => this.none.dial();
  consult = () => this.none.consult();
  endConsult = () => Promise.resolve();
  answer = () => this.none.answer();
  hangUp = () => {
    this.did.push('hangUp');
    this.set({ line: 'ready', requestId: null });
    return Promise.resolve();
  };
  hold = (on: boolean) => {
    this.set({ line: on ? 'held' : 'connected' });
    return Promise.resolve();
  };
  mute = () => undefined;
  sendDtmf = () => Promise.resolve();
  setDevices = () => Promise.resolve();
  disconnect = () => Promise.resolve();
}

function desk(opts: { autoDial: boolean; handlers?: Partial<Record<string, Handler>> }) {
  const bridge = new FakeBridge({
    'agent.me': () => agentView(),
    'call.ticket': ({ requestId }) => ({ ticket: `t-${requestId}`, expiresAt: iso(60) }),
    'call.answered': () => ({ verified: true, at: iso(0) }),
    'call.dialPhone': () => ({ target: 'sip:+447911123457@sip.test', ticket: 'pt', number: '+447911123457' }),
    'call.connectPhone': () => ({}),
    'recording.state': () => ({ state: 'none' }),
    'crm.screenPop': () => ({ url: null, unknownCaller: false }),
    ...opts.handlers,
  });
  const agent = new AgentStore(bridge);
  agent.start('stf_dana');
  const queue = new QueueStore(bridge);
  const wrapUp = new WrapUpStore(bridge, null);
  const work = new WorkStore(bridge, agent, queue, wrapUp);
  const phone = new ScriptedSoftphone();
  let autoDial = opts.autoDial;
  const calls = new CallControlsStore(bridge, phone, work, { autoDial: () => autoDial });
  const accept = async (r: RequestView) => {
    bridge.handlers['offer.accept'] = ({ requestId, fence }) => ({
      ...r,
      requestId,
      fence,
      state: 'assigned',
      agentId: 'stf_dana',
    });
    bridge.emit('offer', { requestId: r.requestId, fence: r.fence, expiresAt: iso(30), request: r });
    await work.accept();
  };
  return { bridge, queue, work, phone, calls, accept, setAutoDial: (on: boolean) => (autoDial = on) };
}

const online = { online: true, lastSeenAt: iso(0), wakeable: false, wokenAt: null };
const offline = { online: false, lastSeenAt: iso(-300), wakeable: true, wokenAt: null };

describe('renderer desk: Call customer after accept, auto-dial', () => {
  it('decides what auto-dial may place as the call button does', () => {
    assert.equal(autoDialTarget(request({ reachability: online })), 'device');
    assert.equal(autoDialTarget(request({ reachability: offline })), 'wait', 'offline: wait for the wake-up');
    assert.equal(autoDialTarget(request({ reachability: null })), null, 'no device');
    assert.equal(
      autoDialTarget(request()),
      'device',
      'an authority without reachability: the button decides',
    );
    assert.equal(autoDialTarget(request({ channel: 'chat', reachability: online })), null, 'never a chat');
    const phone = {
      caller: null,
      dialled: '+441234',
      recognition: 'Withheld number',
      callerIdVerified: false as const,
      unknownCaller: true,
      identifiedByAgent: false,
    };
    assert.equal(autoDialTarget(request({ phone, reachability: null })), null, 'a caller on the phone line');
    const phoneCallback = {
      number: '+447911123457',
      shown: '+44 7911 123457',
      bookedAt: iso(-60),
      placedAt: null,
      attempts: 0,
    };
    assert.equal(autoDialTarget(request({ phoneCallback, reachability: null })), 'number');
  });

  it('without the setting: nothing is placed, and calling is the next action until a call connected', async () => {
    const d = desk({ autoDial: false });
    const r = request({ reachability: online });
    await d.accept(r);
    assert.equal(d.work.getState().phase, 'active');
    assert.deepEqual(d.phone.did, []);
    assert.equal(d.calls.callIsNext(r), true, 'the call button is the primary action');
    await d.calls.callCustomer();
    d.phone.set({ line: 'connected' });
    d.phone.set({ line: 'ready', requestId: null });
    assert.equal(d.calls.callIsNext(r), false, 'after the call, completing is');
    assert.equal(d.calls.callIsNext({ ...r, channel: 'chat' }), false, 'a chat is not a call first');
  });

  it('with the setting: accepting calls the reachable device once, with a fresh ticket', async () => {
    const d = desk({ autoDial: true });
    const r = request({ reachability: online });
    await d.accept(r);
    await until('the call placed', () => d.phone.did.length === 1);
    assert.deepEqual(d.phone.did, [`call:${r.requestId}`]);
    assert.equal(d.bridge.last('call.ticket').requestId, r.requestId);
    d.phone.set({ line: 'connected' });
    d.phone.set({ line: 'ready', requestId: null });
    await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(d.phone.did, [`call:${r.requestId}`], 'the line ready again: not called twice');
  });

  it('an offline phone is called once it shows online (woken), not before', async () => {
    const d = desk({ autoDial: true });
    const r = request({ reachability: offline, state: 'offered', agentId: 'stf_dana' });
    await d.accept(r);
    await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(d.phone.did, [], 'offline: nothing placed');
    const held = d.work.getState().phase === 'active' ? d.work.getState() : null;
    assert.ok(held && held.phase === 'active');
    d.bridge.emit('queue.delta', {
      queues: [],
      upserts: [{ ...held.request, reachability: online }],
    });
    await until('the call placed once the phone is online', () => d.phone.did.length === 1);
    assert.deepEqual(d.phone.did, [`call:${r.requestId}`]);
  });

  it('a callback dials its number; a caller on the phone line and a chat are never auto-dialled', async () => {
    const d = desk({ autoDial: true });
    const cb = request({
      reachability: null,
      phoneCallback: {
        number: '+447911123457',
        shown: '+44 7911 123457',
        bookedAt: iso(-60),
        placedAt: null,
        attempts: 0,
      },
    });
    await d.accept(cb);
    await until('the number dialled', () => d.phone.did.length === 1);
    assert.deepEqual(d.phone.did, ['dialNumber:sip:+447911123457@sip.test']);

    const d2 = desk({ autoDial: true });
    await d2.accept(
      request({
        reachability: null,
        phone: {
          caller: '+447911123456',
          dialled: '+441234',
          recognition: 'Phoned in',
          callerIdVerified: false,
          unknownCaller: false,
          identifiedByAgent: false,
        },
      }),
    );
    const d3 = desk({ autoDial: true });
    await d3.accept(request({ channel: 'chat', reachability: online }));
    await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(d2.phone.did, [], 'the caller is put through only when the agent takes the call');
    assert.deepEqual(d3.phone.did, []);
  });

  it('a call placed by hand first settles the auto-dial (no second call)', async () => {
    const d = desk({ autoDial: true });
    const r = request({ reachability: offline });
    await d.accept(r);
    await d.calls.callCustomer();
    d.phone.set({ line: 'connected' });
    d.phone.set({ line: 'ready', requestId: null });
    const held = d.work.getState();
    assert.ok(held.phase === 'active');
    d.bridge.emit('queue.delta', { queues: [], upserts: [{ ...held.request, reachability: online }] });
    await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(d.phone.did, [`call:${r.requestId}`]);
  });

  it('the setting is kept in main’s local store (off by default)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-desk-settings-'));
    try {
      const db = openLocalDb(join(dir, 'console.sqlite'));
      const s = new Settings(db, {}, { authorityUrl: 'http://127.0.0.1:9', sipUrl: null });
      assert.equal(s.get().autoDial, false);
      s.set({ autoDial: true });
      db.close();
      const again = new Settings(
        openLocalDb(join(dir, 'console.sqlite')),
        {},
        {
          authorityUrl: 'http://127.0.0.1:9',
          sipUrl: null,
        },
      );
      assert.equal(again.get().autoDial, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderer desk: call and hold timers', () => {
  it('the line keeps when the call connected and when it was held; other lines clear both', () => {
    const t0 = 1_700_000_000_000;
    const up = lineTimes({ line: 'calling' }, 'connected', t0);
    assert.deepEqual(up, { connectedAt: t0, heldAt: null });
    const held = lineTimes({ line: 'connected', ...up }, 'held', t0 + 65_000);
    assert.deepEqual(held, { connectedAt: t0, heldAt: t0 + 65_000 }, 'holding does not restart the call');
    const resumed = lineTimes({ line: 'held', ...held }, 'connected', t0 + 90_000);
    assert.deepEqual(resumed, { connectedAt: t0, heldAt: null });
    assert.deepEqual(lineTimes({ line: 'connected', ...resumed }, 'ending', t0 + 95_000), {
      connectedAt: null,
      heldAt: null,
    });
  });

  it('mm:ss from the line time, whatever the render time; spoken for screen readers', () => {
    const t0 = 1_700_000_000_000;
    assert.equal(timerText(t0, t0 + 125_400), '02:05');
    assert.equal(timerText(t0, t0 - 5_000), '00:00', 'a clock a bit behind never shows a negative time');
    assert.equal(timerText(t0, t0 + 3_725_000), '1:02:05');
    assert.equal(spokenDuration(t0, t0 + 125_000), '2 minutes 5 seconds');
    assert.equal(spokenDuration(t0, t0 + 61_000), '1 minute 1 second');
    assert.equal(spokenDuration(t0, t0 + 9_000), '9 seconds');
    assert.equal(spokenDuration(t0, t0 + 3_660_000), '1 hour 1 minute');
  });

  it('a call segment starts at the line’s connect time and ends when the line leaves the call', async () => {
    const d = desk({ autoDial: false });
    const r = request({ reachability: online });
    await d.accept(r);
    await d.calls.callCustomer();
    const connectedAt = Date.now() - 42_000;
    d.phone.set({ line: 'connected', connectedAt });
    d.phone.set({ line: 'held', heldAt: Date.now() });
    d.phone.set({ line: 'connected', heldAt: null });
    assert.equal(d.calls.segmentsOf(r.requestId).length, 1, 'hold and resume are one call');
    d.phone.set({ line: 'ready', requestId: null, connectedAt: null });
    const [seg] = d.calls.segmentsOf(r.requestId);
    assert.equal(seg!.connectedAt, connectedAt);
    assert.ok(seg!.endedAt !== null && seg!.endedAt - seg!.connectedAt >= 42_000);
  });
});

describe('renderer desk: the in-progress timer runs from the authority’s heldSince', () => {
  const inProgress = (work: WorkStore) => {
    const s = work.getState();
    assert.equal(s.phase, 'active');
    return s.since;
  };

  it('a reload mid-request: the timer runs from when the holding began, not from the page load', async () => {
    const began = Date.now() - 5 * 60_000;
    const r = request({
      state: 'assigned',
      agentId: 'stf_dana',
      fence: 3,
      heldSince: new Date(began).toISOString(),
    });
    const bridge = new FakeBridge({ 'panel.get': () => ({ request: r, secure: [] }) });
    const agent = new AgentStore(bridge);
    agent.start('stf_dana');
    const work = new WorkStore(bridge, agent, new QueueStore(bridge), new WrapUpStore(bridge, null));
    bridge.emit('agent.state', agentView({ presence: 'busy', currentRequestId: r.requestId }));
    await until('the request loaded', () => work.getState().phase === 'active');
    assert.equal(inProgress(work), began);
  });

  it('accepting: from the authority’s instant; a take-over or reassign to me: from the new holding', async () => {
    const d = desk({ autoDial: false });
    const accepted = Date.now() - 2_000;
    const r = request({ reachability: online, heldSince: new Date(accepted).toISOString() });
    await d.accept(r);
    assert.equal(inProgress(d.work), accepted);
    // The same request comes back to me under a new fence (taken back by reassign): a new holding.
    const again = Date.now() - 1_000;
    d.work.adopt({
      ...r,
      state: 'assigned',
      agentId: 'stf_dana',
      fence: r.fence + 2,
      heldSince: new Date(again).toISOString(),
    });
    assert.equal(inProgress(d.work), again);
    // A queue update of the same holding keeps it.
    const s = d.work.getState();
    assert.ok(s.phase === 'active');
    d.bridge.emit('queue.delta', { queues: [], upserts: [{ ...s.request, level: 3 }] });
    assert.equal(inProgress(d.work), again);
  });

  it('an authority that does not say: from when this console saw it', async () => {
    const d = desk({ autoDial: false });
    const before = Date.now();
    await d.accept(request({ reachability: online }));
    assert.ok(inProgress(d.work) >= before);
  });
});

describe('renderer desk: a break chosen in wrap-up is the next status', () => {
  it('in wrap-up the breaks are offered as next; the one chosen shows and stays selected', () => {
    const wrap = agentView({ presence: 'wrap_up' });
    const menu = presenceMenu(wrap);
    assert.equal(menu.value, 'wrap_up');
    assert.deepEqual(
      menu.choices.filter((c) => c.value.startsWith('break:')).map((c) => c.label),
      ['Next: Lunch', 'Next: Short break', 'Next: Training', 'Next: Meeting'],
    );
    assert.equal(nextPresenceText(wrap), null);
    const chosen = agentView({ presence: 'wrap_up', nextPresence: { state: 'break', reasonCode: 'lunch' } });
    assert.equal(presenceMenu(chosen).value, 'break:lunch', 'the next status is what the menu shows');
    assert.equal(nextPresenceText(chosen), 'Next: Lunch, when the wrap-up ends');
    assert.equal(
      presenceMenu(chosen).choices.find((c) => c.value === 'available')?.label,
      'Available after the wrap-up',
    );
    assert.deepEqual(presenceRequestOf('break:lunch'), { state: 'break', reasonCode: 'lunch' });
    assert.equal(presenceRequestOf('wrap_up'), null, 'the automatic state is not a choice');
  });

  it('outside wrap-up a break starts at once and nothing is next', () => {
    const avail = agentView({ presence: 'available' });
    assert.equal(presenceMenu(avail).choices.find((c) => c.value === 'break:lunch')?.label, 'Break: Lunch');
    const onBreak = agentView({ presence: 'break', reasonCode: 'coffee' });
    assert.equal(presenceMenu(onBreak).value, 'break:coffee');
    assert.equal(nextPresenceText(onBreak), null);
  });

  it('choosing a break in wrap-up asks the authority, which keeps the agent in wrap-up', async () => {
    const bridge = new FakeBridge({
      'agent.setPresence': (req) =>
        agentView({
          presence: 'wrap_up',
          nextPresence: req.state === 'break' ? { state: 'break', reasonCode: req.reasonCode } : null,
        }),
    });
    const agent = new AgentStore(bridge);
    agent.start('stf_dana');
    bridge.emit('agent.state', agentView({ presence: 'wrap_up' }));
    assert.ok(await agent.setPresence(presenceRequestOf('break:training')!));
    const a = agent.getState().agent!;
    assert.equal(a.presence, 'wrap_up');
    assert.equal(nextPresenceText(a), 'Next: Training, when the wrap-up ends');
  });
});

describe('renderer desk: a colleague in a consult is busy on the board', () => {
  it('shows busy (in a consult) whatever their presence, and is not offered a reassign', () => {
    const sam = agentView({
      staffId: 'stf_sam',
      displayName: 'Sam Patel',
      presence: 'available',
      inConsult: true,
    });
    assert.deepEqual(boardPresence(sam), { presence: 'busy', text: 'Busy: in a consult' });
    assert.deepEqual(boardPresence({ ...sam, inConsult: false }), {
      presence: 'available',
      text: 'Available',
    });
    assert.deepEqual(boardPresence(agentView({ presence: 'break', reasonCode: 'lunch' })), {
      presence: 'break',
      text: 'On break: lunch',
    });
    const r = request({ state: 'assigned', agentId: 'stf_dana' });
    const kim = agentView({ staffId: 'stf_kim', displayName: 'Kim Lee', presence: 'available' });
    assert.deepEqual(
      reassignCandidates(r, [sam, kim], [r]).map((a) => a.staffId),
      ['stf_kim'],
      'the colleague in a consult is not a candidate',
    );
  });
});

describe('renderer desk: the take-over is confirmed in true words', () => {
  it('a call: the customer stays connected (make before break), nothing is "cut"; a chat moves', () => {
    const call = request({ customerName: 'Chen Wei', state: 'assigned', agentId: 'stf_sam' });
    const text = takeOverConfirmText(call, 'Sam Patel');
    assert.equal(
      text,
      'Take over Chen Wei from Sam Patel? Sam Patel leaves the call; Chen Wei stays connected and their phone joins your call without answering again when you call them.',
    );
    assert.doesNotMatch(text, /\bcut\b/);
    assert.match(takeOverConfirmText(call, null), /from the agent\? the agent leaves the call/);
    assert.equal(
      takeOverConfirmText({ ...call, channel: 'chat' }, 'Sam Patel'),
      'Take over Chen Wei from Sam Patel? The chat moves to you with its transcript; Sam Patel can no longer write in it.',
    );
  });
});

describe('renderer desk: my stats', () => {
  it('in words: handled today and the average; counted from the local midnight', () => {
    assert.equal(
      myStatsText({ since: iso(-60), handled: 3, averageHandleSeconds: 245 }),
      'Handled today: 3 · average 4:05',
    );
    assert.equal(
      myStatsText({ since: iso(-60), handled: 0, averageHandleSeconds: null }),
      'Handled today: 0',
    );
    const now = new Date(2026, 2, 2, 15, 30).getTime();
    assert.equal(localMidnight(now), new Date(2026, 2, 2).getTime());
  });

  it('asks the authority from the local midnight at sign-in and after each request ends', async () => {
    let handled = 0;
    const bridge = new FakeBridge({
      'agent.stats': ({ since }) => ({ since, handled, averageHandleSeconds: handled ? 120 : null }),
    });
    const agent = new AgentStore(bridge);
    agent.start('stf_dana');
    const now = new Date(2026, 2, 2, 15, 30).getTime();
    const stats = new MyStatsStore(bridge, agent, () => now);
    bridge.emit('agent.state', agentView({ presence: 'available' }));
    await until('the first figures', () => stats.getState().stats !== null);
    assert.equal(bridge.last('agent.stats').since, new Date(new Date(2026, 2, 2).getTime()).toISOString());
    assert.equal(stats.getState().stats?.handled, 0);
    bridge.emit('agent.state', agentView({ presence: 'busy', currentRequestId: 'req_1' }));
    assert.equal(bridge.count('agent.stats'), 1, 'nothing new while busy');
    handled = 1;
    bridge.emit('agent.state', agentView({ presence: 'wrap_up' }));
    await until('the figures after the request', () => stats.getState().stats?.handled === 1);
    assert.equal(myStatsText(stats.getState().stats!), 'Handled today: 1 · average 2:00');
  });
});

describe('renderer desk: the DTMF keypad behind a toggle', () => {
  it('is closed by default, opens only during a call, and closes when the call ends', async () => {
    const d = desk({ autoDial: false });
    const r = request({ reachability: online });
    await d.accept(r);
    assert.equal(d.calls.getState().keypadOpen ?? false, false);
    d.calls.toggleKeypad();
    assert.equal(d.calls.getState().keypadOpen ?? false, false, 'no call: nothing to send tones on');
    await d.calls.callCustomer();
    d.phone.set({ line: 'connected', connectedAt: Date.now() });
    assert.equal(d.calls.getState().keypadOpen ?? false, false, 'closed by default during the call');
    d.calls.toggleKeypad();
    assert.equal(d.calls.getState().keypadOpen, true);
    d.phone.set({ line: 'held', heldAt: Date.now() });
    assert.equal(d.calls.getState().keypadOpen, true, 'kept open through hold');
    d.calls.toggleKeypad();
    assert.equal(d.calls.getState().keypadOpen, false);
    d.calls.toggleKeypad();
    d.phone.set({ line: 'ending' });
    assert.equal(d.calls.getState().keypadOpen, false, 'the call ended: closed for the next one');
  });
});

describe('renderer desk: the wrap-up summary', () => {
  const at = (m: number) => new Date(Date.UTC(2026, 11, 5, 10, m)).toISOString();
  const r = request({ customerName: 'Alice Martin', level: 2 });
  const panel = (over: Partial<CustomerPanel> = {}): CustomerPanel => ({
    request: r,
    customer: { customerId: r.customerId, name: 'Alice Martin', tier: null, segment: null },
    verification: {
      state: 'verified',
      level: 2,
      requiredLevel: 2,
      authenticationId: 'auth_0000000000000001',
      factors: [
        { kind: 'device', at: at(0), deviceId: 'dev_alice_1', detail: null },
        { kind: 'pin', at: at(2), deviceId: 'dev_alice_1', detail: null },
      ],
      expiresAt: at(59),
    },
    device: null,
    risk: {
      newDevice: false,
      recentFailures: 0,
      pinFailures: 0,
      pinLockedUntil: null,
      counterAnomaly: false,
    },
    photos: {
      enrolment: null,
      latest: null,
      comparison: {
        photoId: 'pho_0000000000000001',
        verdict: 'match',
        comparedBy: 'Dana Reyes',
        comparedAt: at(4),
        unavailable: null,
      } as CustomerPanel['photos']['comparison'],
    },
    secure: [],
    voice: { verified: true, at: at(1) },
    custody: [
      {
        staffId: 'stf_dana',
        displayName: 'Dana Reyes',
        role: 'agent',
        fence: 1,
        how: 'accepted',
        from: at(0),
        until: at(6),
        endReason: 'transferred',
      },
      {
        staffId: 'stf_sam',
        displayName: 'Sam Patel',
        role: 'agent',
        fence: 2,
        how: 'transfer_warm',
        from: at(6),
        until: null,
        endReason: null,
      },
    ],
    ...over,
  });
  const cmd = (n: number, over: Partial<CommandView>): CommandView => ({
    commandId: `cmd_000000000000000${n}`,
    requestId: r.requestId,
    agentId: 'stf_dana',
    fence: 1,
    seq: n,
    revision: 1,
    command: { kind: 'navigate', payload: { screen: 'account' } },
    state: 'done',
    createdAt: at(n),
    expiresAt: at(n + 2),
    shownAt: at(n),
    finishedAt: at(n),
    result: null,
    reason: null,
    ...over,
  });
  const transaction = {
    amount: 150000,
    currency: 'GBP',
    payee: 'Acme Ltd',
    reference: 'INV-7',
    terms: 'Pay now',
  };
  const commands: CommandView[] = [
    cmd(1, {
      command: { kind: 'verify', payload: { factor: 'pin', reason: 'Confirm it is you' } },
      result: { kind: 'verify', factor: 'pin', level: 2, at: at(2) },
    }),
    cmd(2, {
      command: { kind: 'confirm', payload: { transaction } },
      result: {
        kind: 'confirm',
        signature: 'a.b.c',
        canonical: '{}',
        verifiedAt: at(5),
        factor: 'biometric',
      },
    }),
    cmd(3, {
      command: { kind: 'confirm', payload: { transaction: { ...transaction, amount: 999 } } },
      state: 'declined',
    }),
    cmd(4, {
      command: {
        kind: 'menu',
        payload: { title: 'Which card?', items: [{ id: 'visa', label: 'Visa debit' }] },
      },
      result: { kind: 'menu', itemId: 'visa', label: 'Visa debit', revision: 1 },
    } as Partial<CommandView>),
    cmd(5, { requestId: 'req_someone_else_000001', state: 'done' }),
  ];

  it('says what happened: verification, step-up, photo, confirmations with amounts, actions, custody, call time', () => {
    const text = wrapUpSummary({
      request: r,
      panel: panel(),
      commands,
      calls: [
        { requestId: r.requestId, connectedAt: 1_000_000, endedAt: 1_000_000 + 125_000 },
        { requestId: r.requestId, connectedAt: 2_000_000, endedAt: 2_000_000 + 60_000 },
        { requestId: 'req_other', connectedAt: 0, endedAt: 999_000 },
      ],
      now: 3_000_000,
    });
    const lines = text.split('\n');
    assert.equal(lines[0], 'Verification: verified, level 2 (needed 2) with Device key + PIN.');
    assert.equal(lines[1], `Step-up with PIN: done at ${timeOfDay(at(2))}, level 2.`);
    assert.equal(
      lines[2],
      `Photo compared with the enrolment photo: match (Dana Reyes, ${timeOfDay(at(4))}).`,
    );
    assert.equal(
      lines[3],
      `Confirmed on the device: £1,500.00 to Acme Ltd (ref. INV-7) with fingerprint or face at ${timeOfDay(at(5))}.`,
    );
    assert.equal(lines[4], 'Transaction £9.99 to Acme Ltd (ref. INV-7): declined.');
    assert.equal(lines[5], 'Device actions: Menu: Which card? (1 option) (done → Visa debit).');
    assert.equal(
      lines[6],
      `Custody: accepted by Dana Reyes at ${timeOfDay(at(0))}; warm transfer to Sam Patel at ${timeOfDay(at(6))}.`,
    );
    assert.equal(lines[7], 'Call: 3 minutes 5 seconds over 2 calls.');
    assert.equal(lines.length, 8, 'another request’s command and call are not in it');
  });

  it('leaves out what did not happen; without the panel it says the request’s level', () => {
    const quiet = wrapUpSummary({
      request: r,
      panel: panel({ custody: [], photos: { enrolment: null, latest: null, comparison: null } }),
      commands: [],
      calls: [],
      now: 0,
    });
    assert.deepEqual(quiet.split('\n'), [
      'Verification: verified, level 2 (needed 2) with Device key + PIN.',
      'Call: no call connected from this console.',
    ]);
    const other = panel({ request: { ...r, requestId: 'req_another_one_000001' } });
    assert.equal(
      wrapUpSummary({ request: { ...r, channel: 'chat' }, panel: other, commands: [], calls: [], now: 0 }),
      'Verification: level 2.',
      'another request’s panel is not used; a chat has no call line',
    );
  });

  it('the wrap-up opens with the summary as its notes; the agent edits it; a queued one gets its own', async () => {
    const bridge = new FakeBridge({
      'wrapUp.dispositions': () => ({ dispositions: [{ code: 'resolved', label: 'Resolved' }] }),
      'outbox.status': () => ({ pending: 0, oldestAt: null }),
      'wrapUp.save': () => ({ idempotencyKey: 'k'.repeat(16), state: 'sent' }),
    });
    const w = new WrapUpStore(bridge, null);
    await w.start('stf_dana');
    w.summarize = (req) => `Summary of ${req.customerName}`;
    const bob = request({ customerName: 'Bob Okafor' });
    w.begin(r);
    w.begin(bob);
    assert.equal(w.getState().notes, 'Summary of Alice Martin');
    w.setNotes(`${w.getState().notes}\nCard replaced.`);
    w.choose(0, 'resolved');
    assert.equal(await w.save(), true);
    assert.equal(
      bridge.last('wrapUp.save').notes,
      'Summary of Alice Martin\nCard replaced.',
      'the edited text',
    );
    assert.equal(w.getState().item?.customerName, 'Bob Okafor');
    assert.equal(w.getState().notes, 'Summary of Bob Okafor', 'the next owed wrap-up opens with its own');
  });
});

/** An <audio> element that records what it was asked to play, and where. */
class FakeElement implements SoundElement {
  src = '';
  volume = 1;
  currentTime = 0;
  sinkId = 'unset';
  readonly plays: { src: string; sinkId: string; volume: number }[] = [];
  play(): Promise<void> {
    this.plays.push({ src: this.src, sinkId: this.sinkId, volume: this.volume });
    return Promise.resolve();
  }
  pause(): void {}
  setSinkId(id: string): Promise<void> {
    this.sinkId = id;
    return Promise.resolve();
  }
}

function fakeAudio(opts: { samples?: () => number } = {}) {
  const elements = new Map<string, FakeElement>();
  const stopped: string[] = [];
  const asked: MediaStreamConstraints[] = [];
  let closed = 0;
  const env: AudioEnvironment = {
    element: (testId) => {
      const el = new FakeElement();
      elements.set(testId, el);
      return el;
    },
    getUserMedia: (c) => {
      asked.push(c);
      return Promise.resolve({
        getTracks: () => [{ stop: () => stopped.push('mic') }],
      } as unknown as MediaStream);
    },
    audioContext: () => ({
      createMediaStreamSource: () => ({ connect: () => undefined, disconnect: () => undefined }),
      createAnalyser: () => ({
        fftSize: 2048,
        getFloatTimeDomainData: (into: Float32Array) => {
          const a = opts.samples?.() ?? 0;
          for (let i = 0; i < into.length; i++) into[i] = a * Math.sin((2 * Math.PI * i) / 32);
        },
      }),
      close: () => {
        closed++;
        return Promise.resolve();
      },
    }),
    toneUrl: (notes) => `blob:tone-${notes.map((n) => n.hz).join('-')}`,
  };
  return { env, elements, stopped, asked, closed: () => closed };
}

describe('renderer desk: the offer sound', () => {
  it('is a short generated WAV, distinct from the ring', () => {
    const wav = toneWav(OFFER_TONE);
    assert.equal(String.fromCharCode(...wav.slice(0, 4)), 'RIFF');
    assert.equal(String.fromCharCode(...wav.slice(8, 12)), 'WAVE');
    const ms = OFFER_TONE.reduce((a, n) => a + n.ms, 0);
    assert.ok(ms < 500, 'short');
    assert.equal(wav.length, 44 + Math.round((16000 * ms) / 1000) * 2);
  });

  it('plays on its own device at its volume when an offer arrives; volume 0 is off', async () => {
    const audio = fakeAudio();
    let settings = {
      authorityUrl: 'http://127.0.0.1:9',
      sipUrl: null,
      microphoneId: null,
      speakerId: 'spk-headset',
      ringerId: 'spk-desk',
      autoDial: false,
      offerSoundId: 'spk-laptop',
      offerVolume: 40,
      managed: { authorityUrl: false, sipUrl: false },
    };
    const bridge = new FakeBridge({
      'settings.get': () => settings,
    });
    const app = new ConsoleApp(bridge, new NoSoftphone(), { storage: null, media: null, audio: audio.env });
    await until('settings loaded', () => app.settings.getState().settings !== null);
    const r = request({ state: 'offered' });
    bridge.emit('offer', { requestId: r.requestId, fence: 1, expiresAt: iso(30), request: r });
    await until('the offer sound played', () => app.offerSound.played === 1);
    const el = audio.elements.get('offer-sound')!;
    assert.deepEqual(el.plays, [
      { src: `blob:tone-${OFFER_TONE.map((n) => n.hz).join('-')}`, sinkId: 'spk-laptop', volume: 0.4 },
    ]);
    assert.equal(audio.elements.has('ringer-audio'), false, 'not the ringer');

    settings = { ...settings, offerVolume: 0 };
    await app.settings.load();
    const r2 = request({ state: 'offered' });
    bridge.emit('offer', { requestId: r2.requestId, fence: 1, expiresAt: iso(30), request: r2 });
    await new Promise((res) => setTimeout(res, 10));
    assert.equal(el.plays.length, 1, 'off: no sound');
  });

  it('the device and volume are kept in main’s settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-desk-settings-'));
    try {
      const s = new Settings(
        openLocalDb(join(dir, 'console.sqlite')),
        {},
        {
          authorityUrl: 'http://127.0.0.1:9',
          sipUrl: null,
        },
      );
      assert.equal(s.get().offerSoundId, null);
      assert.equal(s.get().offerVolume, DEFAULT_OFFER_VOLUME);
      const after = s.set({ offerSoundId: 'spk-laptop', offerVolume: 0 });
      assert.equal(after.offerSoundId, 'spk-laptop');
      assert.equal(after.offerVolume, 0);
      assert.equal(SettingsPatch.safeParse({ offerVolume: 101 }).success, false, 'a volume is 0 to 100');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderer desk: the audio test in Settings', () => {
  it('a level from the samples: silence 0, full scale 1, speech in between', () => {
    assert.equal(levelOf(new Float32Array(1024)), 0);
    assert.equal(levelOf(new Float32Array(1024).fill(1)), 1);
    const quiet = levelOf(new Float32Array(1024).fill(0.001)); // -60 dBFS
    const speech = levelOf(new Float32Array(1024).fill(0.1)); // -20 dBFS
    assert.equal(Math.round(quiet * 100), 0);
    assert.equal(Math.round(speech * 100), 67);
  });

  it('"Test microphone" opens the chosen input, meters it, and lets it go', async () => {
    let amplitude = 0;
    const audio = fakeAudio({ samples: () => amplitude });
    const t = new AudioTestStore(audio.env, 60_000);
    await t.startMicrophone('mic-headset');
    assert.equal(t.getState().microphone, 'on');
    const constraints = audio.asked[0]!.audio as MediaTrackConstraints;
    assert.deepEqual(constraints.deviceId, { exact: 'mic-headset' }, 'the microphone chosen');
    assert.equal(constraints.echoCancellation, true, 'as on a call');
    t.sample();
    assert.equal(t.getState().level, 0, 'silence');
    amplitude = 0.3;
    t.sample();
    const level = t.getState().level;
    assert.ok(level > 0.5 && level < 1, `speaking moves the meter (${level})`);
    amplitude = 0;
    t.sample();
    assert.equal(t.getState().peak, level, 'the peak stays');
    t.stopMicrophone();
    assert.equal(t.getState().microphone, 'off');
    assert.deepEqual(audio.stopped, ['mic'], 'the microphone is let go');
    assert.equal(audio.closed(), 1, 'the audio context is closed');
  });

  it('a refused microphone is said in words', async () => {
    const audio = fakeAudio();
    audio.env.getUserMedia = () => Promise.reject(new Error('Permission denied'));
    const t = new AudioTestStore(audio.env);
    await t.startMicrophone(null);
    assert.equal(t.getState().microphone, 'off');
    assert.equal(t.getState().error, 'The microphone could not be opened: Permission denied');
  });

  it('"Play test sound" plays a tone on the speaker chosen', async () => {
    const audio = fakeAudio();
    const t = new AudioTestStore(audio.env);
    await t.playTestSound('spk-headset');
    const el = audio.elements.get('test-sound')!;
    assert.equal(el.plays.length, 1);
    assert.equal(el.plays[0]!.sinkId, 'spk-headset');
    assert.equal(el.plays[0]!.src, `blob:tone-${TEST_TONE[0]!.hz}`);
    await t.playTestSound(null);
    assert.equal(el.plays[1]!.sinkId, '', 'the system default');
  });
});
