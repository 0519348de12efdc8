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
import type { RequestView } from '../../protocol/src/pipeline.ts';
import { openLocalDb } from '../../main/core/local-db.ts';
import { Settings } from '../../main/core/settings.ts';
import { spokenDuration, timerText } from '../../renderer/src/format.ts';
import {
  lineTimes,
  NoSoftphone,
  type CallAnswer,
  type Softphone,
  type SoftphoneCallOptions,
  type SoftphoneSnapshot,
} from '../../renderer/src/softphone/softphone.ts';
import { AgentStore } from '../../renderer/src/state/agent.ts';
import { autoDialTarget, CallControlsStore } from '../../renderer/src/state/call.ts';
import { QueueStore } from '../../renderer/src/state/queue.ts';
import { WorkStore } from '../../renderer/src/state/work.ts';
import { WrapUpStore } from '../../renderer/src/state/wrap-up.ts';
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
