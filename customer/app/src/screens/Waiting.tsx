import { useEffect, useState } from 'react';
import type { RequestView } from '../../../../protocol/src/index.ts';
import { utcDay } from '../../../sdk/index.ts';
import type { AppController, AppState } from '../controller.ts';
import { Button, ErrorText, Icon, Notice, Screen } from '../components/ui.tsx';
import { HoldStatus } from './Call.tsx';
import { hourMinute, positionText, verifiedText, waitText } from '../format.ts';
import { SecurityNotices } from '../components/SecurityNotices.tsx';
import { useWakeStatus } from '../wake.ts';

const LEAD: Record<RequestView['state'], string> = {
  waiting: 'Your request is in. You can leave the app: we will call this phone.',
  offered: 'Your turn has come.',
  assigned: 'Your turn has come.',
  scheduled: 'You can leave the app: we will call this phone at the time you picked.',
  completed: 'This request is complete.',
  abandoned: 'This request was cancelled.',
};

type Slots = Awaited<ReturnType<AppController['loadSlots']>>['slots'];

function StatusCard({ r, feed }: { r: RequestView; feed: AppState['feed'] }) {
  let headline: string;
  let detail: string;
  // A chat request: the agent writes in the chat (a call only if they choose to call).
  const chat = r.channel === 'chat';
  switch (r.state) {
    case 'waiting':
      headline = positionText(r.position);
      detail = `Estimated wait: ${waitText(r.estimatedWaitSeconds).toLowerCase()}`;
      break;
    case 'offered':
      headline = chat ? 'An agent is about to join your chat' : 'An agent is about to call you';
      detail = chat
        ? 'Keep this app open. They see your verification first.'
        : 'Keep this app open. The call will show as verified.';
      break;
    case 'assigned':
      headline = 'An agent has your request';
      detail = chat ? 'They will write to you in the chat.' : 'They will call you in a moment.';
      break;
    case 'scheduled':
      headline = 'Callback booked';
      detail =
        r.callback.mode === 'slot'
          ? `We will call you between ${hourMinute(r.callback.slotStart)} and ${hourMinute(r.callback.slotEnd)} on ${new Date(r.callback.slotStart).toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long' })}.`
          : 'We will call you.';
      break;
    case 'completed':
    case 'abandoned':
      headline = 'This request has ended';
      detail = '';
      break;
    default: {
      const never: never = r.state;
      return never;
    }
  }
  return (
    <div className="card status" data-state={r.state}>
      <div aria-live="polite" aria-atomic="true">
        <p className="status-headline" data-testid="position">
          {headline}
        </p>
        <p className="status-detail" data-testid="wait">
          {detail}
        </p>
      </div>
      <p className={`feed feed-${feed}`}>
        <span className="dot" aria-hidden="true" />
        {feed === 'open'
          ? 'Live updates on'
          : feed === 'reconnecting'
            ? 'Reconnecting…'
            : feed === 'connecting'
              ? 'Connecting…'
              : 'Updates paused'}
      </p>
    </div>
  );
}

function SlotPicker({ app, busy, now }: { app: AppController; busy: boolean; now: number }) {
  const days = [
    { day: utcDay(now, 0), label: 'Today' },
    { day: utcDay(now, 1), label: 'Tomorrow' },
  ];
  const [day, setDay] = useState(days[0]!.day);
  const [slots, setSlots] = useState<Slots | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setSlots(null);
    app.loadSlots(day).then(
      (s) => live && setSlots(s.slots),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [app, day]);
  return (
    <div className="slots">
      <div className="tabs" role="group" aria-label="Day">
        {days.map((d) => (
          <button
            key={d.day}
            type="button"
            className="tab"
            aria-pressed={d.day === day}
            onClick={() => setDay(d.day)}
          >
            {d.label}
          </button>
        ))}
      </div>
      <ErrorText message={error} />
      {slots === null ? <p className="help">Loading times…</p> : null}
      {slots && slots.length === 0 ? <p className="help">No callback times left on this day.</p> : null}
      {slots && slots.length ? (
        <ul className="slot-grid" aria-label="Callback times">
          {slots.map((s) => (
            <li key={s.start}>
              <button
                type="button"
                className="slot"
                disabled={busy || s.free < 1}
                aria-label={`Book ${hourMinute(s.start)} to ${hourMinute(s.end)}`}
                onClick={() => void app.bookSlot(s.start)}
              >
                {hourMinute(s.start)}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** Explained on the call: the security questions are owed while the level is below the option's (an authority that does not say which: until the request ends). */
const questionsOwed = (r: RequestView): boolean => r.requiredLevel === undefined || r.level < r.requiredLevel;

export function Waiting({ state, app }: { state: AppState; app: AppController }) {
  const r = state.request;
  const [choosing, setChoosing] = useState(false);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const wake = useWakeStatus();
  useEffect(() => {
    if (r?.state === 'scheduled') setChoosing(false);
  }, [r?.state, r?.callback]);
  if (!r) return <Screen title="No open request" />;
  const busy = state.busy !== null;
  const canChangeCallback = r.state === 'waiting' || r.state === 'offered' || r.state === 'scheduled';
  const slotMode = r.callback.mode === 'slot';
  // "You can leave the app" only when the authority can wake this phone; otherwise say it plainly.
  const lead =
    (r.state === 'waiting' || r.state === 'scheduled') && wake.kind === 'unavailable'
      ? `Your request is in. Keep this app open: this phone cannot be woken when the agent is ready (${wake.reason}).`
      : r.channel === 'chat' && r.state === 'waiting'
        ? 'Your request is in. You can write in the chat now: the agent reads it when they join.'
        : LEAD[r.state];
  return (
    <Screen title={r.optionLabel} lead={lead}>
      <StatusCard r={r} feed={state.feed} />
      <p className="help verified-line">
        <Icon name="shield" size={16} />{' '}
        {verifiedText(state.authentication?.level === r.level ? state.authentication : { level: r.level })}.
        {r.verifyOnCall ? ' The agent sees it.' : ' The agent sees it: no security questions.'}
      </p>
      {r.verifyOnCall && r.state !== 'completed' && r.state !== 'abandoned' ? (
        <p className="help" role="status" data-testid="verify-on-call">
          {questionsOwed(r)
            ? 'The agent will ask you some security questions to confirm it’s you.'
            : 'You are verified for this request now: no more security questions.'}
        </p>
      ) : null}
      {r.state === 'scheduled' &&
        r.callback.mode === 'slot' &&
        r.verificationExpiresAt &&
        Date.parse(r.verificationExpiresAt) < Date.parse(r.callback.slotEnd) && (
          <p className="help" role="status" data-testid="slot-verification-warning">
            Your verification expires at {hourMinute(r.verificationExpiresAt)},{' '}
            {Date.parse(r.verificationExpiresAt) <= Date.parse(r.callback.slotStart) ? 'before' : 'during'}{' '}
            your callback. When we call, you will be asked to verify again with your PIN or fingerprint.
          </p>
        )}
      <HoldStatus state={state} agentName={r.agentName ?? null} />
      {state.chatWanted || state.chat ? (
        <Button data-testid="open-chat" onClick={() => app.openChat()}>
          Open the chat{state.chat?.unread ? ` (${state.chat.unread} new)` : ''}
        </Button>
      ) : null}
      <Notice message={state.notice} />
      <ErrorText message={state.error} />
      <SecurityNotices state={state} app={app} />

      {canChangeCallback ? (
        <section className="card" aria-labelledby="callback-title">
          <h2 id="callback-title" className="card-title">
            <Icon name="clock" size={18} /> How should we call you?
          </h2>
          <div className="choice" role="group" aria-label="Callback choice">
            <button
              type="button"
              className="choice-item"
              aria-pressed={!slotMode && !choosing}
              disabled={busy}
              onClick={() => {
                setChoosing(false);
                if (slotMode) void app.keepPlace();
              }}
            >
              <strong>Keep my place</strong>
              <span>We call as soon as an agent is free.</span>
            </button>
            <button
              type="button"
              className="choice-item"
              aria-pressed={slotMode || choosing}
              disabled={busy}
              onClick={() => setChoosing(true)}
            >
              <strong>{slotMode ? 'Change the time' : 'Pick a time'}</strong>
              <span>{slotMode ? 'Your callback is booked.' : 'Choose when we call you back.'}</span>
            </button>
          </div>
          {choosing ? <SlotPicker app={app} busy={busy} now={Date.now()} /> : null}
        </section>
      ) : null}

      {confirmCancel ? (
        <div
          className="card confirm"
          role="alertdialog"
          aria-labelledby="cancel-title"
          aria-describedby="cancel-text"
        >
          <p id="cancel-title" className="card-title">
            Cancel your request?
          </p>
          <p id="cancel-text">You will lose your place and any booked callback.</p>
          <div className="actions">
            <Button
              variant="danger"
              busy={busy}
              busyLabel={state.busy}
              onClick={() => void app.cancelRequest()}
            >
              Yes, cancel request
            </Button>
            <Button variant="secondary" disabled={busy} onClick={() => setConfirmCancel(false)}>
              Keep my request
            </Button>
          </div>
        </div>
      ) : (
        <div className="actions">
          <Button variant="danger-outline" onClick={() => setConfirmCancel(true)} disabled={busy}>
            Cancel request
          </Button>
          <Button variant="ghost" onClick={() => app.home()}>
            <Icon name="back" size={18} /> Home
          </Button>
        </div>
      )}
    </Screen>
  );
}
