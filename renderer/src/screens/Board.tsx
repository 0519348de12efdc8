import { Badge, LevelBadge } from '../components/ui.tsx';
import { clockDuration, PRESENCE_TEXT, PRESENCE_TONE, REQUEST_STATE_TEXT, secondsSince } from '../format.ts';
import { useConsole, useNow, useStore } from '../hooks.ts';
import { compareRequests, waitingByQueue } from '../state/queue.ts';

const SHOWN_REQUESTS = 100;

/** The supervisor's board: every queue, every agent, every live request. */
export function BoardScreen() {
  const c = useConsole();
  const { board, error } = useStore(c.board);
  const now = useNow();
  if (!board)
    return (
      <section className="page">
        <h1>Board</h1>
        <p className="muted">{error ?? 'Loading the board…'}</p>
      </section>
    );
  const requests = [...board.requests].sort(compareRequests);
  const name = (id: string | null) => board.agents.find((a) => a.staffId === id)?.displayName ?? '—';
  const customerOf = (id: string | null) =>
    board.requests.find((r) => r.requestId === id)?.customerName ?? null;
  // Counted here from the live lists: the authority's queue figures only move when requests do.
  const waiting = waitingByQueue(board.requests);
  const staffed = (queueId: string) => {
    const serving = board.agents.filter(
      (a) => a.onShift && a.queues.includes(queueId) && a.presence !== 'offline',
    );
    return {
      free: serving.filter((a) => a.presence === 'available' && !a.offer).length,
      onShift: serving.length,
    };
  };
  return (
    <section className="page board" aria-labelledby="board-title">
      <div className="page-head">
        <h1 id="board-title">Board</h1>
        <span className="muted">Live</span>
      </div>
      <div className="board-grid">
        <div className="card">
          <h2>Queues</h2>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Waiting</th>
                <th scope="col">Longest wait</th>
                <th scope="col">Est. wait</th>
                <th scope="col">Agents free</th>
                <th scope="col">In target</th>
              </tr>
            </thead>
            <tbody>
              {board.queues.map((q) => {
                const w = waiting.get(q.queueId);
                const s = staffed(q.queueId);
                return (
                  <tr key={q.queueId}>
                    <th scope="row">{q.name}</th>
                    <td>{w?.n ?? 0}</td>
                    <td>{w ? clockDuration(secondsSince(w.oldest, now)) : '—'}</td>
                    <td>{q.estimatedWaitSeconds === null ? '—' : clockDuration(q.estimatedWaitSeconds)}</td>
                    <td>
                      {s.free} of {s.onShift}
                    </td>
                    <td>
                      {q.answeredWithinTarget === null
                        ? '—'
                        : `${Math.round(q.answeredWithinTarget * 100)} %`}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <div className="card">
          <h2>Agents</h2>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Presence</th>
                <th scope="col">For</th>
                <th scope="col">Customer</th>
                <th scope="col">Queues</th>
              </tr>
            </thead>
            <tbody>
              {board.agents.map((a) => (
                <tr key={a.staffId}>
                  <th scope="row">{a.displayName}</th>
                  <td>
                    <Badge tone={PRESENCE_TONE[a.presence]}>
                      {PRESENCE_TEXT[a.presence]}
                      {a.presence === 'break' && a.reasonCode ? `: ${a.reasonCode}` : ''}
                    </Badge>
                    {!a.onShift && <span className="muted small off-shift">off shift</span>}
                  </td>
                  <td>{clockDuration(secondsSince(a.since, now))}</td>
                  <td>
                    {customerOf(a.currentRequestId) ??
                      (a.offer ? `offered: ${a.offer.request.customerName}` : '—')}
                  </td>
                  <td className="muted">{a.queues.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div className="card board-requests">
          <h2>Requests</h2>
          {requests.length === 0 ? (
            <p className="muted">No live requests.</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Customer</th>
                  <th scope="col">Request</th>
                  <th scope="col">Level</th>
                  <th scope="col">Priority</th>
                  <th scope="col">State</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Waiting</th>
                </tr>
              </thead>
              <tbody>
                {requests.slice(0, SHOWN_REQUESTS).map((r) => (
                  <tr key={r.requestId}>
                    <th scope="row">{r.customerName}</th>
                    <td>{r.optionLabel}</td>
                    <td>
                      <LevelBadge level={r.level} />
                    </td>
                    <td>{r.priority}</td>
                    <td>{REQUEST_STATE_TEXT[r.state]}</td>
                    <td>{name(r.agentId)}</td>
                    <td>{clockDuration(secondsSince(r.enqueuedAt, now))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {requests.length > SHOWN_REQUESTS && (
            <p className="muted small">
              The {SHOWN_REQUESTS} first of {requests.length}, in queue order.
            </p>
          )}
        </div>
      </div>
    </section>
  );
}
