/**
 * The supervisor's recording timeline (renderer/src/screens/Recordings.tsx): the pauses
 * between recorded spans and the transfers, each a marker at its place in the call with
 * who got the request; a transfer outside the recorded range is not drawn.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { RecordingView } from '../../protocol/src/recording.ts';
import { Timeline } from '../../renderer/src/screens/Recordings.tsx';

const T = (hms: string) => `2026-05-04T${hms}.000Z`;

const recording: RecordingView = {
  id: 'rec_1',
  requestId: 'req_1',
  state: 'stored',
  channels: ['agent', 'customer'],
  spans: [
    { startedAt: T('09:01:00'), endedAt: T('09:01:20'), offsetMs: 0, durationMs: 20_000 },
    { startedAt: T('09:01:30'), endedAt: T('09:02:40'), offsetMs: 20_000, durationMs: 70_000 },
  ],
  transfers: [
    {
      at: T('09:01:40'),
      kind: 'transfer',
      mode: 'blind',
      fromStaffId: 'st_ann',
      toStaffId: 'st_bob',
      toQueueId: null,
    },
    {
      at: T('09:02:10'),
      kind: 'take_over',
      mode: 'blind',
      fromStaffId: 'st_bob',
      toStaffId: 'st_sue',
      toQueueId: null,
    },
    {
      at: T('09:05:00'),
      kind: 'transfer',
      mode: 'blind',
      fromStaffId: 'st_sue',
      toStaffId: null,
      toQueueId: 'general',
    },
  ],
  durationMs: 90_000,
  error: null,
  createdAt: T('09:01:00'),
  retainUntil: null,
};
const NAMES: Record<string, string> = { st_ann: 'Ann', st_bob: 'Bob', st_sue: 'Sue' };

describe('recording timeline', () => {
  it('marks the pause and each transfer within the call at its place, with who got it', () => {
    const html = renderToStaticMarkup(
      createElement(Timeline, { recording, names: (id: string) => NAMES[id] ?? id }),
    );
    assert.match(html, /aria-label="Timeline: 2 recorded spans, 1 pauses, 2 transfers"/);
    assert.equal(html.match(/data-testid="recording-pause"/g)?.length, 1);
    const marks = [...html.matchAll(/<span[^>]*data-testid="recording-transfer"[^>]*>/g)].map((m) => m[0]);
    assert.equal(marks.length, 2, 'the transfer after the recording is not drawn');
    // 100 s from the first recorded instant to the last: 40 s and 70 s in.
    assert.match(marks[0]!, /left:40\.00%/);
    assert.match(marks[0]!, /title="Transferred \(blind\) from Ann to Bob at /);
    assert.match(marks[1]!, /left:70\.00%/);
    assert.match(marks[1]!, /title="Taken over \(blind\) from Bob to Sue at /);
  });

  it('a recording without transfers draws none', () => {
    const html = renderToStaticMarkup(
      createElement(Timeline, { recording: { ...recording, transfers: [] } }),
    );
    assert.equal(html.match(/data-testid="recording-transfer"/g), null);
    assert.match(html, /1 pauses, 0 transfers/);
  });
});
