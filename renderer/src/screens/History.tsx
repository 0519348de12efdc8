import { useState } from 'react';
import type { HistoryEntry } from '../../../protocol/src/bridge.ts';
import { LevelBadge } from '../components/ui.tsx';
import { dateTime, historyWrapUp } from '../format.ts';
import { useConsole, useStore } from '../hooks.ts';
import { dispositionLabels } from '../state/wrap-up.ts';
import { Transcript } from './Transcript.tsx';

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

/** An opened request of the history: its chat transcript (text as text; links open only when clicked; attachments shown). */
function RequestRecord({ entry }: { entry: HistoryEntry }) {
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
      <Transcript requestId={entry.requestId} customerName={entry.customerName} />
    </section>
  );
}

function WrapUpCell({ entry }: { entry: Parameters<typeof historyWrapUp>[0] }) {
  const { text, tone } = historyWrapUp(entry);
  return <td className={tone === 'muted' ? 'muted' : `tone-text-${tone}`}>{text}</td>;
}
