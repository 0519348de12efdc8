import { useState } from 'react';
import { blobOfBase64 } from '../bridge/base64.ts';
import type { RecordingView } from '../../../protocol/src/recording.ts';
import { errorText } from '../bridge/types.ts';
import { dateTime } from '../format.ts';
import { useConsole } from '../hooks.ts';

const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

/**
 * A supervisor's recordings of one request: each with its timeline (recorded spans, the
 * pauses between them marked) and an <audio> player; every playback is audited by the
 * authority.
 */
export function RecordingsCard() {
  const c = useConsole();
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
          <Timeline recording={r} />
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

/** The call from its first recorded instant to its last: recorded spans filled, pauses hatched and labelled. */
function Timeline({ recording }: { recording: RecordingView }) {
  const spans = recording.spans;
  if (spans.length === 0) return null;
  const start = Date.parse(spans[0]!.startedAt);
  const total = Math.max(1, Date.parse(spans[spans.length - 1]!.endedAt) - start);
  const pct = (ms: number) => `${((ms / total) * 100).toFixed(2)}%`;
  const pauses = spans.slice(1).map((s, i) => ({
    from: Date.parse(spans[i]!.endedAt) - start,
    to: Date.parse(s.startedAt) - start,
  }));
  return (
    <div
      className="recording-timeline"
      data-testid="recording-timeline"
      aria-label={`Timeline: ${spans.length} recorded spans, ${pauses.length} pauses`}
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
    </div>
  );
}
