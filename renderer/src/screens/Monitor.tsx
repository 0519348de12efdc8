import type { MonitorMode } from '../../../protocol/src/monitoring.ts';
import type { RequestView } from '../../../protocol/src/pipeline.ts';
import { Badge } from '../components/ui.tsx';
import { useConsole, useStore } from '../hooks.ts';

const MODE_TEXT: Record<MonitorMode, string> = {
  listen: 'Listening',
  whisper: 'Whispering to the agent',
  barge: 'On the call (barge)',
};

/**
 * The board's monitoring buttons for an assigned request's call (through the media
 * server): Listen, then Whisper (the agent hears you), Barge (the customer hears you too),
 * Listen only, and Leave. The authority refuses calls it cannot monitor, and says why.
 */
export function MonitorControls({ request }: { request: RequestView }) {
  const c = useConsole();
  const m = useStore(c.monitor);
  const name = request.customerName;
  const here = m.requestId === request.requestId;
  if (!here)
    return (
      <button
        type="button"
        className="button"
        disabled={!!m.busy}
        aria-label={`Listen to ${name}'s call`}
        onClick={() => void c.monitor.listen(request)}
      >
        Listen
      </button>
    );
  const button = (mode: MonitorMode, label: string, aria: string) => (
    <button
      type="button"
      className="button"
      disabled={!!m.busy || m.mode === mode || !m.mode}
      aria-pressed={m.mode === mode}
      aria-label={aria}
      onClick={() => void c.monitor.setMode(mode)}
    >
      {m.busy === mode ? `${label}…` : label}
    </button>
  );
  return (
    <div className="row-actions" role="group" aria-label={`Monitoring ${name}'s call`}>
      <span role="status" data-testid="monitor-state">
        <Badge tone={m.mode === 'listen' ? 'info' : 'warn'}>
          {m.busy === 'listen' ? 'Connecting…' : m.mode ? MODE_TEXT[m.mode] : '—'}
        </Badge>
      </span>
      {button('whisper', 'Whisper', `Whisper to the agent on ${name}'s call`)}
      {button('barge', 'Barge', `Barge into ${name}'s call`)}
      {m.mode !== 'listen' && button('listen', 'Listen only', `Listen only to ${name}'s call`)}
      <button
        type="button"
        className="button"
        disabled={m.busy === 'leave'}
        aria-label={`Leave ${name}'s call`}
        onClick={() => void c.monitor.leave()}
      >
        Leave
      </button>
    </div>
  );
}

/** The agent's marker while a supervisor talks on their call. */
export function CoachedMarker({ requestId }: { requestId: string | null }) {
  const c = useConsole();
  const { coached } = useStore(c.monitor);
  if (!coached || (requestId && coached.requestId !== requestId)) return null;
  return (
    <span className="small tone-text-bad" role="status" data-testid="monitor-coached">
      {coached.mode === 'listen'
        ? `${coached.supervisorName} is listening to this call`
        : coached.mode === 'whisper'
          ? `${coached.supervisorName} is whispering to you (the customer does not hear)`
          : `${coached.supervisorName} joined the call (the customer hears them)`}
    </span>
  );
}

/** The monitoring refusal of the board, if any. */
export function MonitorError() {
  const c = useConsole();
  const { error } = useStore(c.monitor);
  if (!error) return null;
  return (
    <p className="small tone-text-bad" role="alert" data-testid="monitor-error">
      {error}{' '}
      <button type="button" className="button" onClick={() => c.monitor.dismiss()}>
        Dismiss
      </button>
    </p>
  );
}
