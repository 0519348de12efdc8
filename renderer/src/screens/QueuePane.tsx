import { memo } from 'react';
import type { RequestView } from '../../../protocol/src/pipeline.ts';
import { LevelBadge } from '../components/ui.tsx';
import { ReachabilityBadge } from '../components/Reachability.tsx';
import { VirtualList } from '../components/VirtualList.tsx';
import { clockDuration, secondsSince, timeOfDay } from '../format.ts';
import { useConsole, useNow, useStore } from '../hooks.ts';

export const QUEUE_ROW_HEIGHT = 60;

/** The live queue: stats per queue, filters, and every request in a windowed list. */
export function QueuePane() {
  const c = useConsole();
  const state = useStore(c.queue);
  const rows = c.queue.rows(state);
  const options = c.queue.options(state);
  const me = c.session.staff?.staffId ?? null;
  const waiting = c.queue.waiting(state).total;

  return (
    <section className="queue-pane" aria-labelledby="queue-title">
      <div className="pane-head">
        <h2 id="queue-title">Queue</h2>
        <span className="muted" data-testid="queue-count">
          {waiting} waiting · {state.requests.size} live
        </span>
      </div>
      <QueueStatsTable />
      <div className="filters">
        <label className="field compact">
          <span>Queue</span>
          <select
            aria-label="Filter by queue"
            value={state.filter.queueId ?? ''}
            onChange={(e) => c.queue.setFilter({ queueId: e.target.value || null })}
          >
            <option value="">All queues</option>
            {state.stats.map((s) => (
              <option key={s.queueId} value={s.queueId}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field compact">
          <span>Option and skill</span>
          <select
            aria-label="Filter by option and skill"
            value={state.filter.optionId ?? ''}
            onChange={(e) => c.queue.setFilter({ optionId: e.target.value || null })}
          >
            <option value="">All options</option>
            {options.map((o) => (
              <option key={o.id} value={o.id}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {state.error && <p className="form-error">{state.error}</p>}
      <VirtualList
        items={rows}
        rowHeight={QUEUE_ROW_HEIGHT}
        label="Requests in your queues"
        getKey={(r) => r.requestId}
        renderRow={(r) => <QueueRow request={r} me={me} queueName={queueName(state.stats, r.queueId)} />}
        empty={
          <p className="empty">
            {state.loaded ? 'Nobody is waiting in these queues.' : 'Loading the queue…'}
          </p>
        }
      />
    </section>
  );
}

const queueName = (stats: readonly { queueId: string; name: string }[], id: string) =>
  stats.find((s) => s.queueId === id)?.name ?? id;

function stateText(r: RequestView, me: string | null): { text: string; tone: string } {
  switch (r.state) {
    case 'offered':
      return r.agentId === me
        ? { text: 'Offered to you', tone: 'info' }
        : { text: 'Offered', tone: 'neutral' };
    case 'assigned':
      return r.agentId === me
        ? { text: 'With you', tone: 'info' }
        : { text: 'With an agent', tone: 'neutral' };
    case 'scheduled':
      return {
        text: r.callback.mode === 'slot' ? `Callback ${timeOfDay(r.callback.slotStart)}` : 'Callback',
        tone: 'neutral',
      };
    case 'waiting':
      return { text: r.position ? `Waiting · #${r.position}` : 'Waiting', tone: 'neutral' };
    case 'completed':
    case 'abandoned':
      return { text: r.state, tone: 'neutral' };
    default: {
      const never: never = r.state;
      return { text: String(never), tone: 'neutral' };
    }
  }
}

const QueueRow = memo(function QueueRow({
  request: r,
  me,
  queueName,
}: {
  request: RequestView;
  me: string | null;
  queueName: string;
}) {
  const s = stateText(r, me);
  const now = useNow();
  return (
    <div
      className={`queue-row${r.agentId === me && r.state !== 'waiting' ? ' mine' : ''}`}
      data-request-id={r.requestId}
    >
      <div className="queue-row-line">
        <LevelBadge level={r.level} />
        <span className="queue-name">{r.customerName}</span>
        {r.priority > 0 && (
          <span className="priority" aria-label={`Priority ${r.priority}`} title="Priority">
            P{r.priority}
          </span>
        )}
        <WaitTime since={r.enqueuedAt} />
      </div>
      <div className="queue-row-line sub">
        <span className="queue-option">
          {r.optionLabel} · {queueName}
        </span>
        <span className={`queue-state tone-text-${s.tone}`}>{s.text}</span>
      </div>
      {r.reachability && !r.phone && (
        <div className="queue-row-line sub">
          <ReachabilityBadge request={r} now={now} />
        </div>
      )}
    </div>
  );
});

/** Ticks every second; only mounted rows tick. */
function WaitTime({ since }: { since: string }) {
  const now = useNow();
  const s = secondsSince(since, now);
  return (
    <span className="wait" aria-label={`Waiting for ${clockDuration(s)}`}>
      {clockDuration(s)}
    </span>
  );
}

/** Per queue: waiting and the longest wait, counted from the live list so the wait ticks. */
function QueueStatsTable() {
  const c = useConsole();
  const state = useStore(c.queue);
  const { stats } = state;
  const now = useNow();
  if (!stats.length) return null;
  const waiting = c.queue.waiting(state).byQueue;
  return (
    <table className="stats">
      <caption className="sr-only">Your queues</caption>
      <thead>
        <tr>
          <th scope="col">Queue</th>
          <th scope="col">Waiting</th>
          <th scope="col">Longest wait</th>
        </tr>
      </thead>
      <tbody>
        {stats.map((s) => {
          const w = waiting.get(s.queueId);
          return (
            <tr key={s.queueId}>
              <th scope="row">{s.name}</th>
              <td>{w?.n ?? 0}</td>
              <td>{w ? clockDuration(secondsSince(w.oldest, now)) : '—'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
