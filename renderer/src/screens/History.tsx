import { LevelBadge } from '../components/ui.tsx';
import { dateTime, historyWrapUp } from '../format.ts';
import { useConsole, useStore } from '../hooks.ts';
import { dispositionLabels } from '../state/wrap-up.ts';

/** Requests this console handled, newest first, with the state of each wrap-up. */
export function HistoryScreen() {
  const c = useConsole();
  const { entries, loading, error } = useStore(c.history);
  const { dispositions } = useStore(c.wrapUp);
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
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function WrapUpCell({ entry }: { entry: Parameters<typeof historyWrapUp>[0] }) {
  const { text, tone } = historyWrapUp(entry);
  return <td className={tone === 'muted' ? 'muted' : `tone-text-${tone}`}>{text}</td>;
}
