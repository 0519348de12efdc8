import { useState } from 'react';
import { blobOfBase64 } from '../bridge/base64.ts';
import type { RecordingTransferMark, RecordingView } from '../../../protocol/src/recording.ts';
import { errorText } from '../bridge/types.ts';
import { dateTime } from '../format.ts';
import { useConsole } from '../hooks.ts';

const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

/**
 * A supervisor's recordings of one request: each with its timeline (recorded spans, the
 * pauses between them and the transfers marked) and an <audio> player; every playback is audited by the
 * authority.
 */
export function RecordingsCard({
  agents = [],
}: { agents?: readonly { staffId: string; displayName: string }[] } = {}) {
  const c = useConsole();
  const names = (id: string) => agents.find((a) => a.staffId === id)?.displayName ?? id;
  const [requestId, setRequestId] = useState('');
  const [list, setList] = useState<RecordingView[] | null>(null);
  const [playing, setPlaying] = useState<{ id: string; url: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const find = async () => {
    setError(null);
    setPlaying(null);
    try {
      setList((await c.bridge.invoke('recording.list', { requestId: requestId.trim() })).recordings);
    } catch (e) {
      setList(null);
      setError(errorText(e));
    }
  };
  const play = async (id: string) => {
    setError(null);
    try {
      const r = await c.bridge.invoke('recording.play', { recordingId: id });
      // The console's CSP plays media from blob: URLs only (not data:).
      const url = URL.createObjectURL(blobOfBase64(r.url.slice(r.url.indexOf(',') + 1), 'audio/wav'));
      setPlaying((old) => {
        if (old) URL.revokeObjectURL(old.url);
        return { id, url };
      });
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <div className="card" data-testid="recordings">
      <h2>Call recordings</h2>
      <form
        className="row-actions"
        onSubmit={(e) => {
          e.preventDefault();
          void find();
        }}
      >
        <label>
          Request{' '}
          <input value={requestId} onChange={(e) => setRequestId(e.target.value)} aria-label="Request id" />
        </label>
        <button type="submit" className="button" disabled={!requestId.trim()}>
          Show recordings
        </button>
      </form>
      {error && <p className="form-error">{error}</p>}
      {list && list.length === 0 && <p className="muted">No recordings for this request.</p>}
      {list?.map((r) => (
        <div key={r.id} className="recording" data-testid="recording">
          <p>
            {dateTime(r.createdAt)} · {r.state} · {seconds(r.durationMs)} · channels {r.channels.join(' / ')}
            {r.error && <span className="tone-text-bad"> · {r.error}</span>}
          </p>
          <Timeline recording={r} names={names} />
          {r.state === 'stored' && (
            <button type="button" className="button" onClick={() => void play(r.id)}>
              Play recording
            </button>
          )}
          {playing?.id === r.id && (
            <audio controls autoPlay src={playing.url} data-testid="recording-audio" aria-label="Recording" />
          )}
        </div>
      ))}
    </div>
  );
}

const TRANSFER_WORDS: Record<RecordingTransferMark['kind'], string> = {
  transfer: 'Transferred',
  take_over: 'Taken over',
  reassign: 'Reassigned',
};

/** A transfer's marker title: what happened, how, to whom, when. */
export function transferTitle(t: RecordingTransferMark, names: (staffId: string) => string): string {
  const to = t.toStaffId ? names(t.toStaffId) : `queue ${t.toQueueId ?? '?'}`;
  const from = t.fromStaffId ? ` from ${names(t.fromStaffId)}` : '';
  return `${TRANSFER_WORDS[t.kind]} (${t.mode})${from} to ${to} at ${dateTime(t.at)}`;
}

/**
 * The call from its first recorded instant to its last: recorded spans filled, pauses
 * hatched and labelled, each transfer a labelled line at its instant.
 */
export function Timeline({
  recording,
  names = (id) => id,
}: {
  recording: RecordingView;
  names?: (staffId: string) => string;
}) {
  const spans = recording.spans;
  if (spans.length === 0) return null;
  const start = Date.parse(spans[0]!.startedAt);
  const total = Math.max(1, Date.parse(spans[spans.length - 1]!.endedAt) - start);
  const pct = (ms: number) => `${((ms / total) * 100).toFixed(2)}%`;
  const pauses = spans.slice(1).map((s, i) => ({
    from: Date.parse(spans[i]!.endedAt) - start,
    to: Date.parse(s.startedAt) - start,
  }));
  const transfers = recording.transfers
    .map((t) => ({ t, at: Date.parse(t.at) - start }))
    .filter(({ at }) => at >= 0 && at <= total);
  return (
    <div
      className="recording-timeline"
      data-testid="recording-timeline"
      aria-label={`Timeline: ${spans.length} recorded spans, ${pauses.length} pauses, ${transfers.length} transfers`}
      style={{ position: 'relative', height: 18, background: '#e5e7eb', borderRadius: 4, margin: '6px 0' }}
    >
      {spans.map((s) => (
        <span
          key={s.startedAt}
          title={`Recorded ${seconds(s.durationMs)}`}
          style={{
            position: 'absolute',
            top: 0,
            bottom: 0,
            left: pct(Date.parse(s.startedAt) - start),
            width: pct(Date.parse(s.endedAt) - Date.parse(s.startedAt)),
            background: '#1d4ed8',
            borderRadius: 3,
          }}
        />
      ))}
      {pauses.map((p) => (
        <span
          key={p.from}
          data-testid="recording-pause"
          title={`Paused ${seconds(p.to - p.from)}`}
          style={{
            position: 'absolute',
            top: 0,
            bottom: 0,
            left: pct(p.from),
            width: pct(p.to - p.from),
            background: 'repeating-linear-gradient(45deg,#f59e0b 0 4px,#fde68a 4px 8px)',
            fontSize: 11,
            textAlign: 'center',
            overflow: 'hidden',
          }}
        >
          paused
        </span>
      ))}
      {transfers.map(({ t, at }) => (
        <span
          key={`${t.at}-${t.toStaffId ?? t.toQueueId ?? ''}`}
          data-testid="recording-transfer"
          title={transferTitle(t, names)}
          aria-label={transferTitle(t, names)}
          style={{
            position: 'absolute',
            top: -3,
            bottom: -3,
            left: pct(at),
            width: 3,
            marginLeft: -1,
            background: '#be123c',
            borderRadius: 1,
          }}
        />
      ))}
    </div>
  );
}
