import { useEffect, useRef, useState } from 'react';
import type { PhoneCallbackView } from '../../../protocol/src/index.ts';
import { Kbd } from '../components/ui.tsx';
import { spokenDuration, timerText } from '../format.ts';
import { useConsole, useNow, useSoftphone, useStore } from '../hooks.ts';
import { shortcutFor } from '../shortcuts.ts';
import { lostCallRequestId } from '../softphone/lost-call.ts';
import type { DtmfMethod, SoftphoneSnapshot } from '../softphone/softphone.ts';
import { CoachedMarker } from './Monitor.tsx';

/** Call, hold, mute, keypad, hang up: wired to the Softphone; says plainly when there is none. */
export function CallControls() {
  const c = useConsole();
  const phone = useSoftphone();
  const { busy, message, recording, keypadOpen } = useStore(c.calls);
  const work = useStore(c.work);
  const inCall = phone.line === 'connected' || phone.line === 'held';
  // The page went away mid-call (reload, crash, closed): the agent is told, the request is still theirs.
  const lost =
    phone.line === 'ready' &&
    !message &&
    c.work.focusRequestId !== null &&
    lostCallRequestId() === c.work.focusRequestId;
  // A caller from the phone network has no device to call: the call is theirs, on the phone line.
  const phoneCaller = work.phase === 'active' ? (work.request.phone ?? null) : null;
  // A callback to a phone number (a customer without the app): called through the trunk.
  const callback = work.phase === 'active' ? (work.request.phoneCallback ?? null) : null;
  const hangUp = shortcutFor('hangUp');
  const hold = shortcutFor('hold');
  const mute = shortcutFor('mute');
  // After accept, calling is the next action: the call button is primary and takes the focus.
  const next = work.phase === 'active' && c.calls.callIsNext(work.request);
  const requestId = work.phase === 'active' ? work.request.requestId : null;
  const callButton = useRef<HTMLButtonElement>(null);
  const focused = useRef<string | null>(null);
  useEffect(() => {
    if (!next || !requestId || focused.current === requestId) return;
    focused.current = requestId;
    callButton.current?.focus();
  }, [next, requestId]);
  const callClass = next ? 'button primary' : 'button';
  return (
    <div className="call-area">
      <div className="call-controls" role="group" aria-label="Call controls">
        {callback ? (
          <button
            type="button"
            ref={callButton}
            data-testid="call-button"
            className={callClass}
            disabled={!phone.present || phone.line !== 'ready' || !!busy}
            onClick={() => void c.calls.callBack()}
          >
            {busy === 'calling' ? `Calling ${callback.shown}…` : `Call ${callback.shown}`}
          </button>
        ) : phoneCaller ? (
          <button
            type="button"
            ref={callButton}
            data-testid="call-button"
            className={callClass}
            disabled={!phone.present || phone.line !== 'ready' || !!busy || !!phoneCaller.endedAt}
            onClick={() => void c.calls.connectCaller()}
          >
            {busy === 'calling' ? 'Putting through…' : 'Take the call'}
          </button>
        ) : (
          <button
            type="button"
            ref={callButton}
            data-testid="call-button"
            className={callClass}
            disabled={!phone.present || phone.line !== 'ready' || !!busy}
            onClick={() => void c.calls.callCustomer()}
          >
            {busy === 'calling' ? 'Calling…' : 'Call customer'}
          </button>
        )}
        <button
          type="button"
          className="button"
          aria-pressed={phone.line === 'held'}
          disabled={!inCall || !!busy}
          onClick={() => void c.calls.toggleHold()}
          aria-keyshortcuts={hold.aria}
        >
          {busy === 'holding' ? 'Waiting for the other side…' : phone.line === 'held' ? 'Resume' : 'Hold'}{' '}
          <Kbd>{hold.label}</Kbd>
        </button>
        <button
          type="button"
          className="button"
          aria-pressed={phone.muted}
          disabled={!inCall}
          onClick={() => c.calls.toggleMute()}
          aria-keyshortcuts={mute.aria}
        >
          {phone.muted ? 'Unmute' : 'Mute'} <Kbd>{mute.label}</Kbd>
        </button>
        <button
          type="button"
          className="button danger"
          disabled={!inCall && phone.line !== 'calling'}
          onClick={() => void c.calls.hangUp()}
          aria-keyshortcuts={hangUp.aria}
        >
          Hang up <Kbd>{hangUp.label}</Kbd>
        </button>
        {inCall && (
          <button
            type="button"
            className="button"
            aria-expanded={!!keypadOpen}
            aria-controls="dtmf-keypad"
            data-testid="keypad-toggle"
            onClick={() => c.calls.toggleKeypad()}
          >
            Keypad
          </button>
        )}
        {inCall && recording && (
          <button
            type="button"
            className="button"
            data-testid="recording-toggle"
            aria-pressed={recording.state === 'paused'}
            disabled={!!busy}
            onClick={() => void c.calls.toggleRecording()}
          >
            {recording.state === 'paused' ? 'Resume recording' : 'Pause recording'}
          </button>
        )}
        {inCall && recording && (
          <span
            className={recording.state === 'paused' ? 'small tone-text-bad' : 'small tone-text-good'}
            role="status"
            data-testid="recording-state"
          >
            {recording.state === 'paused' ? '○ Recording paused' : '● Recording'}
          </span>
        )}
        {inCall && <CallTimers phone={phone} />}
        {inCall && <CoachedMarker requestId={phone.requestId} />}
        <span className="call-status" role="status" data-testid="call-status">
          {lost
            ? 'Call lost — call again'
            : (message ??
              (phoneCaller && phone.line === 'ready'
                ? phoneCaller.endedAt
                  ? 'The call on the phone line has ended.'
                  : 'Phoned in: the caller is waiting on the phone line. Take the call to talk.'
                : callback && phone.line === 'ready'
                  ? callback.endedAt
                    ? `The call to ${callback.shown} has ended: ${callbackEnd(callback)} (${callback.attempts}×). Call again if needed.`
                    : callback.placedAt
                      ? `Called back on ${callback.shown} (${callback.attempts}×): call again if needed.`
                      : `A callback: the customer has no app. Call ${callback.shown} through the phone network.`
                  : lineStatus(phone)))}
        </span>
      </div>
      {inCall && keypadOpen && <Keypad />}
      {inCall && <QualityMeter phone={phone} />}
    </div>
  );
}

/** How a callback's latest call out ended, in the agent's words. */
function callbackEnd(cb: PhoneCallbackView): string {
  switch (cb.endReason) {
    case 'customer_hung_up':
      return 'the customer hung up';
    case 'agent_hung_up':
      return 'you hung up';
    case 'cancelled':
      return 'cancelled before an answer';
    case 'not_answered':
      return cb.endStatus === 486 || cb.endStatus === 600
        ? 'the line was busy'
        : `not answered${cb.endStatus ? ` (SIP ${cb.endStatus})` : ''}`;
    default:
      return 'ended';
  }
}

export function lineStatus(phone: SoftphoneSnapshot): string {
  if (!phone.present) return 'No softphone connected: call controls are inactive.';
  if (phone.registration === 'reconnecting' && (phone.line === 'connected' || phone.line === 'held'))
    return `${lineText[phone.line]} · reconnecting to the SIP server…`;
  if (phone.line === 'failed' || phone.line === 'connecting') return phone.reason ?? lineText[phone.line];
  // Why the last call ended, when the softphone ended it (no media path): until the next call.
  if (phone.line === 'ready' && phone.reason) return `${phone.reason}. ${lineText.ready}`;
  const who =
    phone.peer && (phone.line === 'connected' || phone.line === 'calling') ? ` (${phone.peer})` : '';
  return lineText[phone.line] + who;
}

const lineText = {
  disconnected: 'Softphone disconnected',
  connecting: 'Softphone connecting…',
  ready: 'Ready to call',
  calling: 'Ringing…',
  incoming: 'Incoming call',
  connected: 'On the call',
  held: 'On hold',
  ending: 'Ending the call…',
  failed: 'The softphone failed',
} as const;

/** Time on the call and on hold, from when the line connected and was held (not from rendering). */
function CallTimers({ phone }: { phone: SoftphoneSnapshot }) {
  const now = useNow();
  if (!phone.connectedAt) return null;
  return (
    <span className="call-timers">
      <span
        className="call-timer"
        role="timer"
        aria-label={`On the call for ${spokenDuration(phone.connectedAt, now)}`}
        data-testid="call-timer"
      >
        Call {timerText(phone.connectedAt, now)}
      </span>
      {phone.line === 'held' && phone.heldAt && (
        <span
          className="call-timer tone-text-warn"
          role="timer"
          aria-label={`On hold for ${spokenDuration(phone.heldAt, now)}`}
          data-testid="hold-timer"
        >
          On hold {timerText(phone.heldAt, now)}
        </span>
      )}
    </span>
  );
}

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;

const METHOD_TEXT: Record<DtmfMethod, string> = {
  rfc4733: 'Tones go inside the audio stream as RFC 4733 telephone events.',
  info: 'Tones go as SIP INFO messages (application/dtmf-relay), for a far end that ignores RFC 4733.',
};

/** DTMF keypad: RFC 4733 telephone events by default, SIP INFO when the far end needs it. */
function Keypad() {
  const c = useConsole();
  const phone = useSoftphone();
  const [method, setMethod] = useState<DtmfMethod>('rfc4733');
  return (
    <div className="keypad-area" id="dtmf-keypad">
      <div className="keypad" role="group" aria-label="Keypad (DTMF)">
        {KEYS.map((k) => (
          <button
            key={k}
            type="button"
            className="button key"
            disabled={phone.line !== 'connected'}
            aria-label={`Send DTMF ${k}`}
            onClick={() => void c.calls.sendDtmf(k, method)}
          >
            {k}
          </button>
        ))}
      </div>
      <div className="keypad-side">
        <label className="small">
          Send as{' '}
          <select
            value={method}
            onChange={(e) => setMethod(e.target.value as DtmfMethod)}
            aria-label="DTMF method"
          >
            <option value="rfc4733">RFC 4733 (in audio)</option>
            <option value="info">SIP INFO</option>
          </select>
        </label>
        <p className="small muted" data-testid="dtmf-method">
          {METHOD_TEXT[method]}
        </p>
        {phone.line === 'held' && <p className="small">Resume the call to send tones.</p>}
        <p className="small muted" data-testid="dtmf-sent">
          Sent: {phone.dtmf || '—'}
        </p>
      </div>
    </div>
  );
}

const MEDIA_PATH_HINT =
  'Media server: the call passes the company’s media server (it can be recorded and listened in to). TURN relay: it passes the TURN server. Direct: peer to peer.';

function QualityMeter({ phone }: { phone: SoftphoneSnapshot }) {
  const q = phone.quality;
  if (!q) return <p className="small muted quality">Measuring call quality…</p>;
  const fmt = (v: number | null, unit: string, digits = 0) =>
    v === null ? '—' : `${v.toFixed(digits)} ${unit}`;
  return (
    <div className="quality" data-testid="call-quality" aria-label="Call quality">
      <span className={q.warnings.length ? 'tone-text-bad' : 'tone-text-good'}>
        MOS {q.mos === null ? '—' : q.mos.toFixed(1)}
      </span>
      <span>RTT {fmt(q.rttMs, 'ms')}</span>
      <span>Jitter {fmt(q.jitterMs, 'ms', 1)}</span>
      <span>Loss {fmt(q.lossPct, '%', 1)}</span>
      <span data-testid="media-path" title={MEDIA_PATH_HINT}>
        {phone.anchored
          ? 'Media via the media server'
          : q.relayed
            ? 'Media via TURN relay'
            : q.relayed === false
              ? 'Media direct'
              : 'Media path…'}
      </span>
      {q.warnings.map((w) => (
        <span key={w} className="tone-text-bad" role="alert">
          {w}
        </span>
      ))}
    </div>
  );
}

/** A colleague calling (a consult before a warm transfer): ring, answer or decline, from any screen. */
export function IncomingCall() {
  const c = useConsole();
  const phone = useSoftphone();
  const { busy } = useStore(c.calls);
  if (phone.line === 'incoming')
    return (
      <div className="banner-slot">
        <div className="incoming" role="alertdialog" aria-label="Incoming call">
          <strong>Incoming call from {phone.peer}</strong>
          <button
            type="button"
            className="button primary"
            disabled={!!busy}
            onClick={() => void c.calls.answer()}
          >
            Answer
          </button>
          <button type="button" className="button danger" onClick={() => void c.calls.hangUp()}>
            Decline call
          </button>
        </div>
      </div>
    );
  if (phone.requestId === null && (phone.line === 'connected' || phone.line === 'held'))
    return (
      <div className="banner-slot">
        <div className="incoming" role="group" aria-label="Call with a colleague">
          <strong>
            {phone.line === 'held' ? 'On hold' : 'On a call'} with {phone.peer}
          </strong>
          <button type="button" className="button" onClick={() => void c.calls.toggleHold()}>
            {phone.line === 'held' ? 'Resume' : 'Hold'}
          </button>
          <button type="button" className="button danger" onClick={() => void c.calls.hangUp()}>
            Hang up
          </button>
        </div>
      </div>
    );
  return null;
}
