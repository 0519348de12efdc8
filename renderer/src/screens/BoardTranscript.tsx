import { useState } from 'react';
import type { RequestView } from '../../../protocol/src/pipeline.ts';
import { dateTime } from '../format.ts';
import { useConsole, useStore } from '../hooks.ts';
import { Transcript } from './Transcript.tsx';

/** A chat row's "Open transcript" on the board (nothing for a call). */
export function TranscriptButton({ request }: { request: RequestView }) {
  const c = useConsole();
  if (request.channel !== 'chat') return null;
  return (
    <button
      type="button"
      className="button ghost"
      aria-label={`Open the transcript of ${request.customerName}`}
      data-testid="board-open-transcript"
      onClick={() => c.boardTranscripts.open(request)}
    >
      Open transcript
    </button>
  );
}

/** The chats that ended while the board was on screen, each transcript a click away. */
export function EndedChats() {
  const c = useConsole();
  const { ended } = useStore(c.boardTranscripts);
  if (ended.length === 0) return null;
  return (
    <div className="card board-requests" aria-labelledby="board-ended-chats">
      <h2 id="board-ended-chats">Finished chats</h2>
      <ul className="board-ended">
        {ended.map((x) => (
          <li key={x.requestId}>
            {x.customerName} · {x.optionLabel}
            {x.endedAt && <span className="muted small"> · ended {dateTime(x.endedAt)}</span>}{' '}
            <button
              type="button"
              className="button ghost small"
              aria-label={`Open the transcript of ${x.customerName}`}
              data-testid="board-open-ended-transcript"
              onClick={() => c.boardTranscripts.open(x)}
            >
              Open transcript
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The opened chat's transcript, read-only, over the board (History's transcript view); Refresh reads it again. */
export function BoardTranscriptDialog() {
  const c = useConsole();
  const { opened } = useStore(c.boardTranscripts);
  const [reads, setReads] = useState(0);
  if (!opened) return null;
  return (
    <section
      className="card board-transcript"
      role="dialog"
      aria-labelledby="board-transcript-title"
      data-testid="board-transcript"
    >
      <div className="page-head">
        <h2 id="board-transcript-title">
          Transcript: {opened.customerName} · {opened.optionLabel}{' '}
          <span className="muted small">{opened.endedAt ? 'finished' : 'live'}</span>
        </h2>
        <div className="row-actions">
          <button type="button" className="button ghost" onClick={() => setReads((n) => n + 1)}>
            Refresh
          </button>
          <button type="button" className="button" onClick={() => c.boardTranscripts.close()}>
            Close
          </button>
        </div>
      </div>
      <Transcript
        key={`${opened.requestId}/${reads}`}
        requestId={opened.requestId}
        customerName={opened.customerName}
      />
    </section>
  );
}
