import { useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import type { ConfirmReceipt, FormField } from '../../../../protocol/src/index.ts';
import {
  formatAmount,
  SCREEN_TEXT,
  type AgentCommand,
  type AgentCommandOf,
  type FormDraft,
} from '../../../sdk/index.ts';
import type { AppController, AppState } from '../controller.ts';
import { clock, hourMinute } from '../format.ts';
import { FingerprintPrompt, PinForm } from './Factors.tsx';
import { PhotoCapture } from './PhotoCapture.tsx';
import { Button, ErrorText, Icon, Notice } from './ui.tsx';

type CardProps<K extends AgentCommand['kind']> = {
  card: AgentCommandOf<K>;
  app: AppController;
  busy: string | null;
  error: { message: string; fields: Record<string, string> } | null;
};

/** One card: who asks and what, the card's own controls, and Decline. Acknowledged once it is on screen. */
function CommandCard(props: {
  card: AgentCommand;
  app: AppController;
  busy: string | null;
  error: string | null;
  detail?: ReactNode;
  children?: ReactNode;
}) {
  const { card, app, busy } = props;
  const titleId = useId();
  useEffect(() => app.commandShown(card.commandId), [app, card.commandId]);
  return (
    <article className="card command-card" aria-labelledby={titleId} data-kind={card.kind}>
      <header className="command-head">
        <span className="command-agent" aria-hidden="true">
          {card.agentName.charAt(0)}
        </span>
        <div>
          <h3 id={titleId} className="command-title">
            {card.title}
          </h3>
          <p className="help">
            <time dateTime={card.receivedAt.toISOString()}>{clock(card.receivedAt)}</time>
            {card.revision > 1 ? <span className="badge updated"> · Updated</span> : null}
          </p>
        </div>
      </header>
      {props.detail ? <div className="command-detail">{props.detail}</div> : null}
      {props.children}
      <ErrorText message={props.error} />
      <Button
        variant="ghost"
        className="command-decline"
        disabled={busy !== null}
        onClick={() => void app.declineCommand(card.commandId)}
      >
        Decline
      </Button>
    </article>
  );
}

function VerifyCard({ card, app, busy, error }: CardProps<'verify'>) {
  const p = card.command.payload;
  return (
    <CommandCard card={card} app={app} busy={busy} error={error?.message ?? null} detail={<p>{p.reason}</p>}>
      {p.factor === 'biometric' ? (
        <FingerprintPrompt busy={busy} onUse={() => void app.verifyCommandWithFingerprint(card.commandId)} />
      ) : (
        <PinForm
          id={`pin-${card.commandId}`}
          busy={busy}
          onSubmit={(pin) => void app.verifyCommandWithPin(card.commandId, pin)}
        />
      )}
    </CommandCard>
  );
}

function PhotoCard({ card, app, busy, error }: CardProps<'photo'>) {
  const p = card.command.payload;
  return (
    <CommandCard card={card} app={app} busy={busy} error={error?.message ?? null} detail={<p>{p.prompt}</p>}>
      <PhotoCapture
        useLabel="Send photo"
        busy={busy}
        facing={p.camera === 'back' ? 'environment' : 'user'}
        onUse={(photo) => void app.sendCommandImage(card.commandId, photo)}
      />
    </CommandCard>
  );
}

/** A picture of this app's screen, shown to the customer before it is sent. */
function ScreenshotCard({ card, app, busy, error }: CardProps<'screenshot'>) {
  const [shot, setShot] = useState<{ blob: Blob; url: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [taking, setTaking] = useState(false);
  useEffect(() => () => (shot ? URL.revokeObjectURL(shot.url) : undefined), [shot]);
  const take = async () => {
    setProblem(null);
    setTaking(true);
    try {
      const blob = await app.captureScreen();
      setShot({ blob, url: URL.createObjectURL(blob) });
    } catch (e) {
      setProblem(`The picture could not be taken: ${(e as Error).message}`);
    } finally {
      setTaking(false);
    }
  };
  return (
    <CommandCard
      card={card}
      app={app}
      busy={busy}
      error={error?.message ?? problem}
      detail={<p>{card.command.payload.prompt}</p>}
    >
      {shot ? (
        <>
          <img className="screenshot-preview" src={shot.url} alt="Picture of your screen" />
          <p className="help">This is what will be sent. Nothing else leaves your phone.</p>
          <Button
            busy={busy !== null}
            busyLabel={busy}
            onClick={() => void app.sendCommandImage(card.commandId, shot.blob)}
          >
            Send
          </Button>
        </>
      ) : (
        <Button
          busy={taking}
          busyLabel="Taking the picture…"
          disabled={busy !== null}
          onClick={() => void take()}
        >
          Take a picture of this screen
        </Button>
      )}
    </CommandCard>
  );
}

const TEXT_HINT = {
  tracking: '6 to 40 letters and digits, as printed on the parcel.',
  email: 'For example name@example.com.',
  free: null,
} as const;

function TextCard({ card, app, busy, error }: CardProps<'text'>) {
  const p = card.command.payload;
  const [value, setValue] = useState('');
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void app.answerCommandText(card.commandId, value);
  };
  const hint = TEXT_HINT[p.input];
  return (
    <CommandCard card={card} app={app} busy={busy} error={null}>
      <form className="form" onSubmit={submit} noValidate>
        <label htmlFor={id}>{p.prompt}</label>
        {p.input === 'free' ? (
          <textarea
            id={id}
            value={value}
            maxLength={p.maxLength}
            rows={3}
            onChange={(e) => setValue(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-error` : undefined}
          />
        ) : (
          <input
            id={id}
            type={p.input === 'email' ? 'email' : 'text'}
            inputMode={p.input === 'email' ? 'email' : 'text'}
            autoCapitalize={p.input === 'tracking' ? 'characters' : 'off'}
            autoComplete={p.input === 'email' ? 'email' : 'off'}
            value={value}
            onChange={(e) => setValue(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-error` : hint ? `${id}-hint` : undefined}
          />
        )}
        {hint ? (
          <p className="help" id={`${id}-hint`}>
            {hint}
          </p>
        ) : null}
        {error ? (
          <p className="error" role="alert" id={`${id}-error`}>
            {error.message}
          </p>
        ) : null}
        <Button type="submit" busy={busy !== null} busyLabel={busy}>
          Send
        </Button>
      </form>
    </CommandCard>
  );
}

function MenuCard({ card, app, busy, error }: CardProps<'menu'>) {
  const p = card.command.payload;
  return (
    <CommandCard card={card} app={app} busy={busy} error={error?.message ?? null}>
      <p className="command-subtitle">{p.title}</p>
      {card.revision > 1 ? (
        <p className="help" role="status">
          {card.agentName.split(' ')[0]} changed the options.
        </p>
      ) : null}
      <ul className="command-menu" aria-label={p.title}>
        {p.items.map((i) => (
          <li key={i.id}>
            <button
              type="button"
              className="choice-item"
              disabled={busy !== null}
              onClick={() => void app.chooseCommandItem(card.commandId, i.id)}
            >
              <strong>{i.label}</strong>
            </button>
          </li>
        ))}
      </ul>
    </CommandCard>
  );
}

function FieldInput(props: {
  field: FormField;
  value: string | boolean | undefined;
  error: string | undefined;
  onChange: (v: string | boolean) => void;
  idPrefix: string;
}) {
  const { field: f, error } = props;
  const id = `${props.idPrefix}-${f.id}`;
  const describedBy = error ? `${id}-error` : undefined;
  const label = `${f.label}${f.required ? '' : ' (optional)'}`;
  let input: ReactNode;
  switch (f.type) {
    case 'checkbox':
      return (
        <div className="field field-check">
          <input
            id={id}
            type="checkbox"
            checked={props.value === true}
            onChange={(e) => props.onChange(e.target.checked)}
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
          />
          <label htmlFor={id}>{label}</label>
          {error ? (
            <p className="field-error" id={`${id}-error`}>
              {error}
            </p>
          ) : null}
        </div>
      );
    case 'select':
      input = (
        <select
          id={id}
          value={typeof props.value === 'string' ? props.value : ''}
          onChange={(e) => props.onChange(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
        >
          <option value="">Choose…</option>
          {f.options.map((o) => (
            <option key={o.id} value={o.id}>
              {o.label}
            </option>
          ))}
        </select>
      );
      break;
    case 'text':
    case 'email':
    case 'number':
      input = (
        <input
          id={id}
          type={f.type === 'email' ? 'email' : 'text'}
          inputMode={f.type === 'number' ? 'decimal' : f.type === 'email' ? 'email' : 'text'}
          maxLength={f.type === 'text' ? f.maxLength : undefined}
          value={typeof props.value === 'string' ? props.value : ''}
          onChange={(e) => props.onChange(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
        />
      );
      break;
    default: {
      const never: never = f;
      return never;
    }
  }
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {input}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

function FormCard({ card, app, busy, error }: CardProps<'form'>) {
  const p = card.command.payload;
  const [draft, setDraft] = useState<FormDraft>({});
  const idPrefix = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void app.submitCommandForm(card.commandId, draft);
  };
  return (
    <CommandCard card={card} app={app} busy={busy} error={error?.message ?? null}>
      <form className="form" onSubmit={submit} noValidate aria-label={p.title}>
        <p className="command-subtitle">{p.title}</p>
        {p.fields.map((f) => (
          <FieldInput
            key={f.id}
            field={f}
            idPrefix={idPrefix}
            value={draft[f.id]}
            error={error?.fields[f.id]}
            onChange={(v) => setDraft((d) => ({ ...d, [f.id]: v }))}
          />
        ))}
        <Button type="submit" busy={busy !== null} busyLabel={busy}>
          Send
        </Button>
      </form>
    </CommandCard>
  );
}

function ConfirmCard({ card, app, busy, error, state }: CardProps<'confirm'> & { state: AppState }) {
  const p = card.command.payload;
  const t = p.transaction;
  // A fingerprint when the customer has one; the PIN entered now otherwise (or when they choose it).
  const hasFingerprint = state.enrolled?.biometric === true;
  const [usePin, setUsePin] = useState(!hasFingerprint);
  return (
    <CommandCard card={card} app={app} busy={busy} error={error?.message ?? null}>
      <p className="amount" data-testid="confirm-amount">
        {formatAmount(t)}
      </p>
      <dl className="transaction">
        <dt>To</dt>
        <dd data-testid="confirm-payee">{t.payee}</dd>
        <dt>From</dt>
        <dd data-testid="confirm-account">{p.account ?? 'Account not named: do not confirm'}</dd>
        <dt>Reference</dt>
        <dd>{t.reference}</dd>
        <dt>Terms</dt>
        <dd className="terms">{t.terms}</dd>
      </dl>
      <p className="help">
        <Icon name="shield" size={14} /> Your {usePin ? 'PIN' : 'fingerprint'} confirms exactly this amount,
        payee and account; nothing else can be paid with it.
      </p>
      {usePin ? (
        <PinForm
          id={`confirm-pin-${card.commandId}`}
          busy={busy}
          label="Enter your PIN to confirm this payment"
          onSubmit={(pin) => void app.confirmCommandTransaction(card.commandId, { kind: 'pin', pin })}
        />
      ) : (
        <FingerprintPrompt
          busy={busy}
          label="Confirm with fingerprint"
          onUse={() => void app.confirmCommandTransaction(card.commandId, { kind: 'biometric' })}
        />
      )}
      {hasFingerprint ? (
        <Button variant="ghost" disabled={busy !== null} onClick={() => setUsePin((x) => !x)}>
          {usePin ? 'Use fingerprint instead' : 'Use PIN instead'}
        </Button>
      ) : null}
    </CommandCard>
  );
}

const FACTOR_WORD = { biometric: 'fingerprint', pin: 'PIN' } as const;

/** The receipt of a payment confirmed on this phone. */
export function ReceiptCard({ receipt, onDismiss }: { receipt: ConfirmReceipt; onDismiss?: () => void }) {
  const at = new Date(receipt.at);
  return (
    <section className="card receipt" aria-label={`Receipt ${receipt.receiptId}`} data-testid="receipt">
      <header className="command-head">
        <Icon name="check" size={20} />
        <div>
          <h3 className="command-title">Payment confirmed</h3>
          <p className="help">
            Receipt <strong data-testid="receipt-id">{receipt.receiptId}</strong>
          </p>
        </div>
      </header>
      <p className="amount">{formatAmount(receipt)}</p>
      <dl className="transaction">
        <dt>To</dt>
        <dd>{receipt.payee}</dd>
        <dt>From</dt>
        <dd>{receipt.account}</dd>
        <dt>Reference</dt>
        <dd>{receipt.reference}</dd>
        <dt>Confirmed</dt>
        <dd>
          with {FACTOR_WORD[receipt.factor]} at <time dateTime={receipt.at}>{hourMinute(at)}</time>
        </dd>
      </dl>
      {onDismiss ? (
        <Button variant="ghost" onClick={onDismiss}>
          Done
        </Button>
      ) : null}
    </section>
  );
}

function NavigateCard({ card, app, busy, error }: CardProps<'navigate'>) {
  const screen = card.command.payload.screen;
  return (
    <CommandCard card={card} app={app} busy={busy} error={error?.message ?? null}>
      <Button
        busy={busy !== null}
        busyLabel={busy}
        onClick={() => void app.navigateCommand(card.commandId, screen)}
      >
        Open {SCREEN_TEXT[screen]}
      </Button>
    </CommandCard>
  );
}

function Card({ card, state, app }: { card: AgentCommand; state: AppState; app: AppController }) {
  const busy = state.commandBusy[card.commandId] ?? null;
  const error = state.commandErrors[card.commandId] ?? null;
  switch (card.kind) {
    case 'verify':
      return <VerifyCard card={card} app={app} busy={busy} error={error} />;
    case 'photo':
      return <PhotoCard card={card} app={app} busy={busy} error={error} />;
    case 'screenshot':
      return <ScreenshotCard card={card} app={app} busy={busy} error={error} />;
    case 'text':
      return <TextCard card={card} app={app} busy={busy} error={error} />;
    case 'menu':
      return <MenuCard card={card} app={app} busy={busy} error={error} />;
    case 'form':
      return <FormCard card={card} app={app} busy={busy} error={error} />;
    case 'confirm':
      return <ConfirmCard card={card} app={app} busy={busy} error={error} state={state} />;
    case 'navigate':
      return <NavigateCard card={card} app={app} busy={busy} error={error} />;
    case 'end':
      // `end` never becomes a card: the SDK answers it and the app shows a notice.
      return null;
    default: {
      const never: never = card;
      return never;
    }
  }
}

/**
 * The agent's requests on this phone, over any screen while a request is open: one card
 * per verified command, "Stop all" always within reach, and what happened (control
 * stopped, ended, a new agent after a transfer, a command refused by the SDK).
 */
export function AgentCommands({ state, app }: { state: AppState; app: AppController }) {
  const r = state.request;
  if (!r) return null;
  const agentFirst = r.agentName?.split(' ')[0] ?? 'The agent';
  const active = r.state === 'assigned' || state.commands.length > 0;
  if (!active && !state.controlStopped && !state.controlNotice && !state.refusedCommand && !state.lastReceipt)
    return null;
  const busy = state.busy !== null;
  return (
    <section className="agent-commands" aria-labelledby="agent-commands-title" data-no-capture>
      <div className="control-bar">
        <h2 id="agent-commands-title">
          {state.controlStopped
            ? `Requests from ${agentFirst} are stopped`
            : state.commands.length
              ? `Requests from ${agentFirst}`
              : `${agentFirst} can send requests to this phone`}
        </h2>
        {state.controlStopped ? null : (
          <Button
            variant="danger-outline"
            className="stop-all"
            disabled={busy}
            onClick={() => void app.stopAll()}
          >
            Stop all
          </Button>
        )}
      </div>
      {state.controlStopped ? (
        <div className="card stopped" role="status">
          <p className="card-title">Control is stopped</p>
          <p className="help">The agent cannot send requests to this phone until you allow it again.</p>
          <Button
            variant="secondary"
            busy={busy}
            busyLabel={state.busy}
            onClick={() => void app.allowAgain()}
          >
            Allow again
          </Button>
        </div>
      ) : null}
      {state.controlNotice ? (
        <div className="notice-row">
          <Notice message={state.controlNotice} />
          <button
            type="button"
            className="btn-dismiss"
            aria-label="Dismiss notice"
            onClick={() => app.dismissControlNotice()}
          >
            ×
          </button>
        </div>
      ) : null}
      {state.lastReceipt ? (
        <ReceiptCard receipt={state.lastReceipt} onDismiss={() => app.dismissReceipt()} />
      ) : null}
      {state.commands.length ? (
        <div className="command-cards">
          {state.commands.map((c) => (
            <Card key={c.commandId} card={c} state={state} app={app} />
          ))}
        </div>
      ) : null}
      {state.refusedCommand ? (
        <p className="refused" role="status">
          <Icon name="block" size={14} />
          <span>
            <time dateTime={state.refusedCommand.at.toISOString()}>{clock(state.refusedCommand.at)}</time> ·{' '}
            {state.refusedCommand.text}
          </span>
          <button
            type="button"
            className="btn-dismiss"
            aria-label="Dismiss ignored request"
            onClick={() => app.dismissRefused()}
          >
            ×
          </button>
        </p>
      ) : null}
    </section>
  );
}
