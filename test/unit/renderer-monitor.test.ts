/**
 * The agent's side of supervisor monitoring in the console (MonitorStore) when the
 * authority's `monitor.update` frames arrive out of order: with several authority nodes a
 * frame from the node that made the change reaches its own sockets at once and one from
 * another node comes through the outbox, so a supervisor's "whisper" can arrive after the
 * "ended" that followed it. The media are fakes here (the real path is test/e2e's
 * call-monitoring); what is checked is whether the console starts answering the
 * supervisor's audio.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoSoftphone } from '../../renderer/src/softphone/softphone.ts';
import type { MonitorMediaDeps, MonitorUpdate } from '../../renderer/src/softphone/monitor.ts';
import { MonitorStore } from '../../renderer/src/state/monitor.ts';
import { FakeBridge } from '../support/fake-bridge.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const REQUEST = 'req_00000000000000000001';

function update(mode: MonitorUpdate['mode'], at: number): MonitorUpdate {
  const talking = mode === 'whisper' || mode === 'barge';
  return {
    requestId: REQUEST,
    supervisorId: 'stf_morgan',
    supervisorName: 'Morgan Lee',
    mode,
    talkId: talking ? 'tlk_0000000000000001' : null,
    offer: talking ? 'v=0\r\n' : null,
    at: iso(at),
  };
}

function setup() {
  const bridge = new FakeBridge({});
  /** Each time the console began to answer a supervisor's audio (a peer connection for it). */
  const answering: string[] = [];
  const deps: MonitorMediaDeps = {
    peerConnection: () => {
      answering.push('peer connection');
      throw new Error('no WebRTC in this test'); // what happens next is test/e2e's
    },
    getUserMedia: () => Promise.reject(new Error('no microphone in this test')),
    audioElement: () => {
      throw new Error('no page in this test');
    },
    audioContext: () => {
      throw new Error('no page in this test');
    },
  };
  const store = new MonitorStore(
    bridge,
    new NoSoftphone(),
    deps,
    () => ({ audio: true }),
    () => 3,
  );
  return { bridge, store, answering };
}

/** The updates are handled one after the other: wait until those emitted so far are. */
const settled = () => new Promise((r) => setTimeout(r, 20));

describe('renderer: monitor.update frames out of order', () => {
  it('a whisper that arrives after the "ended" that followed it is not answered', async () => {
    const s = setup();
    s.bridge.emit('monitor.update', update('ended', 20));
    s.bridge.emit('monitor.update', update('whisper', 10));
    await settled();
    assert.deepEqual(s.answering, [], 'the late whisper started answering a supervisor who left');
    assert.equal(s.store.getState().coached, null);
  });

  it('in order, the whisper is answered', async () => {
    const s = setup();
    s.bridge.emit('monitor.update', update('whisper', 10));
    s.bridge.emit('monitor.update', update('ended', 20));
    await settled();
    assert.deepEqual(s.answering, ['peer connection']);
    assert.equal(s.store.getState().coached, null, 'ended');
  });
});
