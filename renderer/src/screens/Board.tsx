import { useState } from 'react';
import type { AgentView, NotOfferedReason, RequestView } from '../../../protocol/src/pipeline.ts';
import { Alert, Badge, LevelBadge } from '../components/ui.tsx';
import { ReachabilityBadge } from '../components/Reachability.tsx';
import { clockDuration, PRESENCE_TONE, REQUEST_STATE_TEXT, secondsSince, shortId } from '../format.ts';
import { useConsole, useNow, useStore } from '../hooks.ts';
import { BREAK_REASONS } from '../state/agent.ts';
import {
  boardPresence,
  freeText,
  heldText,
  reassignCandidates,
  takeOverConfirmText,
  type AgentPresenceRequest,
} from '../state/board.ts';
import { compareRequests, waitingByQueue } from '../state/queue.ts';
import { RecordingsCard } from './Recordings.tsx';
import { BoardTranscriptDialog, EndedChats, TranscriptButton } from './BoardTranscript.tsx';
import { MonitorControls, MonitorError } from './Monitor.tsx';
import { TeamQuickRepliesCard } from './TeamQuickReplies.tsx';

const SHOWN_REQUESTS = 100;

const skillText = (skills: readonly string[]) => (skills.length ? ` (${skills.join(', ')})` : '');
/** Why waiting requests are not being offered, in the supervisor's words. */
const NOT_OFFERED_TEXT: Record<NotOfferedReason, (skills: readonly string[]) => string> = {
  no_skill: (k) =>
    k.length ? `no agent with the skill ${k.join(', ')}` : 'no agent is a member of this queue',
  off_shift: (k) => `all agents${skillText(k)} off shift`,
  away: (k) => `agents${skillText(k)} offline or on a break`,
  busy: (k) => `agents${skillText(k)} busy`,
};

/** The supervisor's board: every queue, every agent, every live request. */
export function BoardScreen() {
  const c = useConsole();
  const { board, error, actionError, notice } = useStore(c.board);
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
  // Waiting counted here from the live list of requests; who is free comes from the
  // authority's queue figures (sent again whenever a request or an agent of the queue changes).
  const waiting = waitingByQueue(board.requests);
  return (
    <section className="page board" aria-labelledby="board-title">
      <div className="page-head">
        <h1 id="board-title">Board</h1>
        <span className="muted">Live</span>
      </div>
      {actionError && <Alert onDismiss={() => c.board.dismiss()}>{actionError}</Alert>}
      {notice && (
        <Alert tone="info" onDismiss={() => c.board.dismiss()}>
          {notice}
        </Alert>
      )}
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
                <th scope="col">Answered in target</th>
              </tr>
            </thead>
            <tbody>
              {board.queues.map((q) => {
                const w = waiting.get(q.queueId);
                return (
                  <tr key={q.queueId}>
                    <th scope="row">{q.name}</th>
                    <td>{w?.n ?? 0}</td>
                    <td>{w ? clockDuration(secondsSince(w.oldest, now)) : '—'}</td>
                    <td>{q.estimatedWaitSeconds === null ? '—' : clockDuration(q.estimatedWaitSeconds)}</td>
                    <td>
                      {freeText(q)}
                      {(q.notOffered ?? []).map((n) => (
                        <div
                          key={`${n.channel ?? ''}:${n.skills.join(',')}`}
                          className="not-offered"
                          role="note"
                        >
                          <Badge tone={n.reason === 'busy' ? 'warn' : 'bad'}>
                            {n.waiting}
                            {n.channel
                              ? ` ${n.channel === 'chat' ? 'chat' : 'call'}${n.waiting === 1 ? '' : 's'}`
                              : ''}{' '}
                            not offered: {NOT_OFFERED_TEXT[n.reason](n.skills)}
                          </Badge>
                        </div>
                      ))}
                    </td>
                    <td title="Share of the last 24 h's requests answered within the queue's target">
                      {q.answeredWithinTarget === null
                        ? '—'
                        : `${Math.round(q.answeredWithinTarget * 100)} %`}
                      {q.targetAnswerSeconds ? (
                        <span className="muted small"> within {clockDuration(q.targetAnswerSeconds)}</span>
                      ) : null}
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
                <th scope="col">Time in state</th>
                <th scope="col">Current session</th>
              </tr>
            </thead>
            <tbody>
              {board.agents.map((a) => (
                <tr key={a.staffId}>
                  <th scope="row">{a.displayName}</th>
                  <td>
                    <Badge tone={PRESENCE_TONE[boardPresence(a).presence]}>{boardPresence(a).text}</Badge>
                    {!a.onShift && <span className="muted small off-shift">off shift</span>}
                  </td>
                  <td>{clockDuration(secondsSince(a.since, now))}</td>
                  <td>
                    {heldText(a, board.requests) ??
                      (a.offer ? `offered: ${a.offer.request.customerName}` : '—')}
                    {a.currentSessionId && (
                      <span className="muted small" title={a.currentSessionId}>
                        {' '}
                        · session {shortId(a.currentSessionId)}
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <SetAgentState agents={board.agents} />
        </div>
        <div className="card board-requests">
          <h2>Requests</h2>
          <MonitorError />
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
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {requests.slice(0, SHOWN_REQUESTS).map((r) => (
                  <tr key={r.requestId}>
                    <th scope="row">
                      {r.customerName}
                      {r.reachability && (
                        <>
                          <br />
                          <ReachabilityBadge request={r} now={now} />
                        </>
                      )}
                    </th>
                    <td>{r.optionLabel}</td>
                    <td>
                      <LevelBadge level={r.level} />
                    </td>
                    <td>{r.priority}</td>
                    <td>{REQUEST_STATE_TEXT[r.state]}</td>
                    <td>{name(r.agentId)}</td>
                    <td>{clockDuration(secondsSince(r.enqueuedAt, now))}</td>
                    <td>
                      <RequestActions request={r} agents={board.agents} requests={board.requests} />
                      <TranscriptButton request={r} />
                    </td>
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
        <BoardTranscriptDialog />
        <EndedChats />
        <RecordingsCard agents={board.agents} />
        <TeamQuickRepliesCard />
      </div>
    </section>
  );
}

const SET_STATES: { value: string; label: string; request: AgentPresenceRequest }[] = [
  { value: 'available', label: 'Available', request: { state: 'available' } },
  ...BREAK_REASONS.map((r) => ({
    value: `break:${r.code}`,
    label: `Break: ${r.label}`,
    request: { state: 'break' as const, reasonCode: r.code },
  })),
  { value: 'offline', label: 'Offline', request: { state: 'offline' } },
];

/** A supervisor sets an agent's state (the authority refuses it while they hold a request, and says so). */
function SetAgentState({ agents }: { agents: AgentView[] }) {
  const c = useConsole();
  const { busy } = useStore(c.board);
  const [who, setWho] = useState('');
  const [to, setTo] = useState('');
  const state = SET_STATES.find((x) => x.value === to);
  return (
    <form
      className="row-actions set-state"
      aria-label="Set an agent's state"
      onSubmit={(e) => {
        e.preventDefault();
        if (who && state) void c.board.setAgentPresence(who, state.request);
      }}
    >
      <select aria-label="Agent" value={who} onChange={(e) => setWho(e.target.value)}>
        <option value="">Agent…</option>
        {agents.map((a) => (
          <option key={a.staffId} value={a.staffId}>
            {a.displayName}
          </option>
        ))}
      </select>
      <select aria-label="New state" value={to} onChange={(e) => setTo(e.target.value)}>
        <option value="">State…</option>
        {SET_STATES.map((s) => (
          <option key={s.value} value={s.value}>
            {s.label}
          </option>
        ))}
      </select>
      <button type="submit" className="button" disabled={!who || !state || !!busy}>
        {busy?.startsWith('presence:') ? 'Setting…' : 'Set state'}
      </button>
    </form>
  );
}

/** Take over an assigned request, or offer any live request to another agent. */
function RequestActions({
  request,
  agents,
  requests,
}: {
  request: RequestView;
  agents: AgentView[];
  requests: RequestView[];
}) {
  const c = useConsole();
  const { busy } = useStore(c.board);
  const staff = c.session.staff;
  const [to, setTo] = useState('');
  if (request.state !== 'assigned' && request.state !== 'offered' && request.state !== 'waiting')
    return <span className="muted">—</span>;
  const mine = request.agentId === staff?.staffId;
  const candidates = reassignCandidates(request, agents, requests);
  return (
    <div className="row-actions">
      {request.state === 'assigned' && !mine && <MonitorControls request={request} />}
      {request.state === 'assigned' && !mine && (
        <button
          type="button"
          className="button"
          disabled={!!busy}
          aria-label={`Take over ${request.customerName}`}
          onClick={() => {
            // The supervisor confirms first, told what happens to the holder and the customer.
            const holder = agents.find((a) => a.staffId === request.agentId)?.displayName ?? null;
            if (!window.confirm(takeOverConfirmText(request, holder))) return;
            void c.board.takeOver(request, (r) => c.work.adopt(r));
          }}
        >
          {busy === `takeOver:${request.requestId}` ? 'Taking over…' : 'Take over'}
        </button>
      )}
      <select
        aria-label={`Reassign ${request.customerName} to`}
        value={to}
        onChange={(e) => setTo(e.target.value)}
      >
        <option value="">Reassign to…</option>
        {candidates.map((a) => (
          <option key={a.staffId} value={a.staffId}>
            {a.displayName}
          </option>
        ))}
      </select>
      <button
        type="button"
        className="button"
        disabled={!to || !!busy}
        aria-label={`Reassign ${request.customerName}`}
        onClick={() => void c.board.reassign(request, to).then((ok) => ok && setTo(''))}
      >
        {busy === `reassign:${request.requestId}` ? 'Reassigning…' : 'Reassign'}
      </button>
    </div>
  );
}
