import { useEffect, useState } from 'react';
import type { HistoryEntry } from '../../../protocol/src/bridge.ts';
import type { StaffChatTranscript } from '../../../protocol/src/chat.ts';
import { errorText } from '../bridge/types.ts';
import { LevelBadge } from '../components/ui.tsx';
import { dateTime, historyWrapUp } from '../format.ts';
import { useConsole, useStore } from '../hooks.ts';
import { dispositionLabels } from '../state/wrap-up.ts';
import { ChatText } from './ChatPane.tsx';

/** Pages of a transcript read when a request is opened (500 messages each). */
const MAX_TRANSCRIPT_PAGES = 20;

/** Requests this console handled, newest first, with the state of each wrap-up; an opened request shows its chat transcript. */
export function HistoryScreen() {
  const c = useConsole();
  const { entries, loading, error } = useStore(c.history);
  const { dispositions } = useStore(c.wrapUp);
  const [openId, setOpenId] = useState<string | null>(null);
  const opened = entries?.find((h) => h.requestId === openId) ?? null;
  return (
    <section className="page" aria-labelledby="history-title">
      <div className="page-head">
        <h1 id="history-title">History</h1>
        <button type="button" className="button" onClick={() => void c.history.refresh()} disabled={loading}>
          Refresh
        </button>
      </div>
      {error && <p className="form-error">{error}</p>}
      {entries && entries.length === 0 && <p className="muted">No requests handled on this computer yet.</p>}
      {entries && entries.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Accepted</th>
                <th scope="col">Customer</th>
                <th scope="col">Request</th>
                <th scope="col">Level</th>
                <th scope="col">Completed</th>
                <th scope="col">Disposition</th>
                <th scope="col">Wrap-up</th>
                <th scope="col">
                  <span className="sr-only">Open</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((h) => (
                <tr key={h.requestId}>
                  <td>{dateTime(h.acceptedAt)}</td>
                  <th scope="row">{h.customerName}</th>
                  <td>{h.optionLabel}</td>
                  <td>
                    <LevelBadge level={h.level} />
                  </td>
                  <td>{h.completedAt ? dateTime(h.completedAt) : '—'}</td>
                  <td>
                    {h.disposition
                      ? (dispositions ? dispositionLabels(dispositions, h.disposition) : h.disposition).join(
                          ' › ',
                        )
                      : '—'}
                  </td>
                  <WrapUpCell entry={h} />
                  <td>
                    <button
                      type="button"
                      className="button small"
                      aria-expanded={openId === h.requestId}
                      aria-label={`${openId === h.requestId ? 'Close' : 'Open'} the request of ${h.customerName}`}
                      data-testid="history-open"
                      onClick={() => setOpenId(openId === h.requestId ? null : h.requestId)}
                    >
                      {openId === h.requestId ? 'Close' : 'Open'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {opened && <RequestRecord key={opened.requestId} entry={opened} />}
    </section>
  );
}

/** An opened request of the history: its chat transcript (text as text; links open only when clicked). */
function RequestRecord({ entry }: { entry: HistoryEntry }) {
  const c = useConsole();
  const [state, setState] = useState<
    | { kind: 'loading' }
    | { kind: 'error'; text: string }
    | { kind: 'done'; transcript: StaffChatTranscript; partial: boolean }
  >({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        let page = await c.bridge.invoke('chat.transcript', { requestId: entry.requestId });
        const messages = [...page.messages];
        for (let i = 1; page.nextAfter !== null && i < MAX_TRANSCRIPT_PAGES; i++) {
          page = await c.bridge.invoke('chat.transcript', {
            requestId: entry.requestId,
            after: page.nextAfter,
          });
          messages.push(...page.messages);
        }
        if (live)
          setState({ kind: 'done', transcript: { ...page, messages }, partial: page.nextAfter !== null });
      } catch (e) {
        if (live) setState({ kind: 'error', text: errorText(e) });
      }
    })();
    return () => {
      live = false;
    };
  }, [c, entry.requestId]);
  const openLink = (url: string) =>
    void c.bridge.invoke('shell.openExternal', { url }).catch(() => undefined);
  const names = new Map(
    state.kind === 'done' ? state.transcript.agents.map((a) => [a.staffId, a.displayName]) : [],
  );
  return (
    <section
      className="card history-record"
      aria-labelledby="history-record-title"
      data-testid="history-record"
    >
      <h2 id="history-record-title">
        {entry.customerName} · {entry.optionLabel} · {dateTime(entry.acceptedAt)}
      </h2>
      <h3>Chat transcript</h3>
      {state.kind === 'loading' && <p className="muted">Loading the transcript…</p>}
      {state.kind === 'error' && <p className="form-error">{state.text}</p>}
      {state.kind === 'done' && state.transcript.deleted && (
        <p className="muted" data-testid="history-transcript-deleted">
          {transcriptDeletedLine(state.transcript.deleted)}
        </p>
      )}
      {state.kind === 'done' && !state.transcript.deleted && state.transcript.messages.length === 0 && (
        <p className="muted" data-testid="history-transcript-empty">
          No chat messages in this request.
        </p>
      )}
      {state.kind === 'done' && state.transcript.messages.length > 0 && (
        <ol
          className="chat-log history-transcript"
          aria-label="Chat transcript"
          data-testid="history-transcript"
        >
          {state.transcript.messages.map((m) => (
            <li
              key={m.seq}
              className={`chat-msg chat-${m.sender}`}
              data-testid="history-transcript-message"
              data-sender={m.sender}
            >
              <span className="chat-who">
                {m.sender === 'customer'
                  ? entry.customerName
                  : ((m.staffId && names.get(m.staffId)) ?? 'Agent')}
              </span>
              <p className="chat-text">
                <ChatText text={m.text} onLink={openLink} />
              </p>
              <span className="chat-meta small muted">{dateTime(m.at)}</span>
            </li>
          ))}
        </ol>
      )}
      {state.kind === 'done' && state.partial && (
        <p className="small muted">Only the first {state.transcript.messages.length} messages are shown.</p>
      )}
    </section>
  );
}

/** The line that stands for a deleted transcript's messages. */
export function transcriptDeletedLine(d: NonNullable<StaffChatTranscript['deleted']>): string {
  return `Transcript deleted on ${dateTime(d.at)} (${d.by === 'retention' ? 'retention' : 'deleted by an administrator'}).`;
}

function WrapUpCell({ entry }: { entry: Parameters<typeof historyWrapUp>[0] }) {
  const { text, tone } = historyWrapUp(entry);
  return <td className={tone === 'muted' ? 'muted' : `tone-text-${tone}`}>{text}</td>;
}
