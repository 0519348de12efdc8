import { useEffect, useState } from 'react';
import type { VerifiedCall } from '../../../sdk/index.ts';
import type { AppController, AppState } from '../controller.ts';
import { Button, ErrorText, Icon, Screen } from '../components/ui.tsx';
import { clock, duration } from '../format.ts';

export const verifiedCallTitle = (call: VerifiedCall): string =>
  `Verified call from ${call.company} — ${call.agentName}`;

export function Incoming({ state, app, call }: { state: AppState; app: AppController; call: VerifiedCall }) {
  return (
    <Screen title={verifiedCallTitle(call)} className="call-screen incoming">
      <div className="call-badge">
        <Icon name="shield" size={20} /> Verified by this phone
      </div>
      <div className="ring" aria-hidden="true">
        <Icon name="phone" size={44} />
      </div>
      <p className="call-explain">
        The call’s ticket is signed by {call.company} and names your request on this phone. It arrived at{' '}
        <time dateTime={call.receivedAt.toISOString()}>{clock(call.receivedAt)}</time>.
      </p>
      <RecordedNotice call={call} />
      <ErrorText message={state.error} />
      <div className="call-actions">
        <Button
          variant="decline"
          onClick={() => app.decline()}
          disabled={state.busy !== null}
          aria-label="Decline call"
        >
          Decline
        </Button>
        <Button
          variant="answer"
          onClick={() => void app.answer()}
          busy={state.busy !== null}
          busyLabel={state.busy}
          aria-label="Answer call"
        >
          Answer
        </Button>
      </div>
    </Screen>
  );
}

/** Said on the ringing and the live call when the company records it. */
function RecordedNotice({ call }: { call: VerifiedCall }) {
  if (!call.recorded) return null;
  return (
    <p className="call-badge" data-testid="call-recorded" role="note">
      <span aria-hidden="true">●</span> <span>This call is recorded</span>
    </p>
  );
}

function Elapsed({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return <span className="elapsed">{duration(Math.max(0, Math.round((now - since) / 1000)))}</span>;
}

export function InCall(props: {
  state: AppState;
  app: AppController;
  call: VerifiedCall;
  verifiedAt: string;
  since: number;
  micError: string | null;
  continuedFrom?: string | undefined;
}) {
  const { state, app, call } = props;
  const first = call.agentName.split(' ')[0];
  return (
    <Screen title={`On a call with ${call.agentName}`} className="call-screen in-call">
      <p className="call-sub">
        {call.company} · <Elapsed since={props.since} />
      </p>
      <p className="call-badge">
        <Icon name="check" size={18} />
        <span>
          Verified call · <time dateTime={props.verifiedAt}>{clock(props.verifiedAt)}</time>
        </span>
      </p>
      {props.continuedFrom !== undefined && (
        <p className="call-badge" role="status" data-testid="call-continued">
          <Icon name="check" size={18} />
          <span>You are now with {call.agentName}</span>
        </p>
      )}
      <p className="call-explain">Your phone proved with its key that it answered this call.</p>
      <RecordedNotice call={call} />
      <HoldStatus state={state} agentName={call.agentName} />
      <ErrorText message={props.micError ? `Microphone unavailable: ${props.micError}` : null} />
      {state.keys && (
        <p className="help" data-testid="dtmf-received">
          Keys from {first}: <strong>{state.keys}</strong>
        </p>
      )}
      <div className="call-controls" role="group" aria-label="Call controls">
        <button type="button" className="round" aria-pressed={state.muted} onClick={() => app.toggleMute()}>
          <Icon name="mic" />
          <span>Mute</span>
        </button>
        <button
          type="button"
          className="round"
          aria-pressed={state.speaker}
          onClick={() => app.toggleSpeaker()}
        >
          <Icon name="speaker" />
          <span>Speaker</span>
        </button>
        <button type="button" className="round round-hangup" onClick={() => app.hangUp()}>
          <Icon name="phone" />
          <span>Hang up</span>
        </button>
      </div>
      <p className="call-explain">
        If {first} asks you for a fingerprint, a photo or to confirm a payment, it appears above. You can
        always say no.
      </p>
    </Screen>
  );
}

/**
 * The agent's call ended because the request moved to a colleague: the customer stays with
 * the request and the colleague's verified call is answered by itself (never "Call ended").
 */
export function Continuing({
  app,
  from,
  toAgent,
}: {
  app: AppController;
  from: VerifiedCall;
  toAgent: string | null;
}) {
  return (
    <Screen
      title={toAgent ? `Connecting you to ${toAgent}…` : 'Connecting you to your next agent…'}
      className="call-screen in-call continuing"
    >
      <p className="call-sub">{from.company}</p>
      <div className="ring" aria-hidden="true">
        <Icon name="phone" size={44} />
      </div>
      <p className="call-explain" role="status">
        {from.agentName} passed your request on. Stay here: the next verified call for this request is
        answered by itself, and you will not need to verify again.
      </p>
      <div className="call-controls" role="group" aria-label="Call controls">
        <button type="button" className="round round-hangup" onClick={() => app.hangUp()}>
          <Icon name="phone" />
          <span>Hang up</span>
        </button>
      </div>
    </Screen>
  );
}

/** The words when a call ended because no sound could pass (the console says it to the agent in its own terms). */
export const NO_SOUND_PATH =
  'The call could not carry any sound: your network and the bank’s could not reach each other. Please try again from another network, or ask the bank to call you back.';

export function CallEnded({
  app,
  call,
  seconds,
  noMediaPath = false,
}: {
  app: AppController;
  call: VerifiedCall;
  seconds: number;
  noMediaPath?: boolean;
}) {
  return (
    <Screen
      title="Call ended"
      lead={
        noMediaPath ? NO_SOUND_PATH : `Your verified call with ${call.agentName} lasted ${duration(seconds)}.`
      }
    >
      <Button onClick={() => app.afterCall()}>Done</Button>
    </Screen>
  );
}

/** "You are on hold" while the agent holds the call; "… is consulting a colleague" while a warm transfer is open. */
export function HoldStatus({ state, agentName }: { state: AppState; agentName: string | null }) {
  if (!state.consulting && !state.onHold) return null;
  const first = agentName?.split(' ')[0] ?? null;
  return (
    <div className="hold-status" role="status" data-testid="hold-status">
      <Icon name="clock" size={20} />
      {state.consulting ? (
        <p>
          <strong>Your agent is consulting a colleague</strong>
          <span>
            {first ? `${first} is` : 'Your agent is'} talking to a colleague about your request. Please stay
            on the line: you will not need to explain again.
          </span>
        </p>
      ) : (
        <p>
          <strong>You are on hold</strong>
          <span>
            {first ? `${first} will be` : 'Your agent will be'} back with you shortly. Please stay on the
            line.
          </span>
        </p>
      )}
    </div>
  );
}
