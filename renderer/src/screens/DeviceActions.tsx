import { useState, type FormEvent, type ReactNode } from 'react';
import type {
  AppScreen,
  CommandKind,
  CommandView,
  DeviceCommand,
  TextInputType,
} from '../../../protocol/src/device-control.ts';
import { Alert, Badge, WarnIcon } from '../components/ui.tsx';
import { Field } from '../components/Field.tsx';
import { timeOfDay, type Tone } from '../format.ts';
import { useConsole, useStore } from '../hooks.ts';
import { commandSummary, imageOf, isOpen, kindWords, money } from '../state/actions.ts';
import {
  checked,
  confirmCommand,
  formFields,
  menuItems,
  textCommand,
  type FieldType,
  type FormFieldDraft,
  type MenuItemDraft,
} from '../state/command-drafts.ts';
import { Photo } from './CustomerPanel.tsx';

type Composer =
  'fingerprint' | 'pin' | 'photo' | 'screenshot' | 'text' | 'menu' | 'form' | 'confirm' | 'navigate' | 'end';

const BUTTONS: { composer: Composer; kind: CommandKind; label: string }[] = [
  { composer: 'fingerprint', kind: 'verify', label: 'Ask for fingerprint' },
  { composer: 'pin', kind: 'verify', label: 'Ask for PIN' },
  { composer: 'photo', kind: 'photo', label: 'Ask for a photo' },
  { composer: 'screenshot', kind: 'screenshot', label: 'Ask for a screenshot' },
  { composer: 'text', kind: 'text', label: 'Ask a question' },
  { composer: 'menu', kind: 'menu', label: 'Send a menu' },
  { composer: 'form', kind: 'form', label: 'Send a form' },
  { composer: 'confirm', kind: 'confirm', label: 'Confirm a transaction' },
  { composer: 'navigate', kind: 'navigate', label: 'Open a screen' },
  { composer: 'end', kind: 'end', label: 'End control' },
];

const STATE_TEXT: Record<CommandView['state'], { text: string; tone: Tone }> = {
  pending: { text: 'Sent', tone: 'neutral' },
  shown: { text: 'On the device', tone: 'info' },
  done: { text: 'Done', tone: 'good' },
  declined: { text: 'Declined', tone: 'warn' },
  failed: { text: 'Failed', tone: 'bad' },
  expired: { text: 'Expired', tone: 'warn' },
  cancelled: { text: 'Cancelled', tone: 'neutral' },
};

const REASON_TEXT: Record<string, string> = {
  control_stopped: 'the customer stopped remote control',
  transferred: 'the request was transferred',
  superseded: 'control was ended',
  cancelled: 'withdrawn by the agent',
  request_ended: 'the request ended',
  expired: 'not answered in time',
};

/** Actions on the customer's device for the request in hand, and what came back. */
export function DeviceActions() {
  const c = useConsole();
  const s = useStore(c.actions);
  const [open, setOpen] = useState<Composer | null>(null);
  if (!s.target) return null;
  const stopped = s.control.stopped;
  return (
    <section className="card device-actions" aria-labelledby="actions-title">
      <div className="section-head">
        <h2 id="actions-title">Actions on the customer’s device</h2>
        <Badge tone={stopped ? 'bad' : 'good'}>
          {stopped ? 'Remote control stopped' : 'Remote control allowed'}
        </Badge>
      </div>
      {stopped && (
        <div className="control-stopped" role="alert" data-testid="control-stopped" id="control-stopped-text">
          <WarnIcon /> {s.target.customerName} stopped remote control
          {s.control.at ? ` at ${timeOfDay(s.control.at)}` : ''}. Their open requests were withdrawn and
          actions are disabled until they allow control again.
        </div>
      )}
      {s.error && <Alert onDismiss={() => c.actions.dismissError()}>{s.error}</Alert>}
      <div className="action-buttons" role="group" aria-label="Device actions">
        {BUTTONS.map((b) => {
          const why = c.actions.blocked(b.kind);
          return (
            <button
              key={b.composer}
              type="button"
              className={`button${open === b.composer ? ' current' : ''}${b.kind === 'end' ? ' danger' : ''}`}
              aria-expanded={open === b.composer}
              disabled={!!why}
              title={why ?? undefined}
              aria-describedby={why ? (stopped ? 'control-stopped-text' : `why-${b.composer}`) : undefined}
              onClick={() => setOpen(open === b.composer ? null : b.composer)}
            >
              {b.label}
            </button>
          );
        })}
      </div>
      <LevelReasons />
      {open && !c.actions.blocked(BUTTONS.find((b) => b.composer === open)!.kind) && (
        <ComposerForm composer={open} onDone={() => setOpen(null)} />
      )}
      <CommandList />
    </section>
  );
}

/** The reasons of disabled buttons, spelled out once (level gates, stopped control). */
function LevelReasons() {
  const c = useConsole();
  const { control } = useStore(c.actions);
  // A stop is said once, in the banner above.
  if (control.stopped) return null;
  const seen = new Map<string, string[]>();
  for (const b of BUTTONS) {
    const why = c.actions.blocked(b.kind);
    if (why) seen.set(why, [...(seen.get(why) ?? []), b.composer]);
  }
  if (seen.size === 0) return null;
  return (
    <ul className="gate-reasons">
      {[...seen].map(([why, composers]) => (
        <li key={why} className="muted small">
          {composers.map((k) => (
            <span key={k} id={`why-${k}`} hidden>
              {why}
            </span>
          ))}
          {composers.map((k) => BUTTONS.find((b) => b.composer === k)!.label).join(', ')}: {why}.
        </li>
      ))}
    </ul>
  );
}

function ComposerForm({ composer, onDone }: { composer: Composer; onDone: () => void }) {
  const c = useConsole();
  const { sending } = useStore(c.actions);
  const [problem, setProblem] = useState<string | null>(null);
  const submit =
    (make: () => { ok: true; value: DeviceCommand } | { ok: false; error: string }) => (e: FormEvent) => {
      e.preventDefault();
      const draft = make();
      if (!draft.ok) {
        setProblem(draft.error);
        return;
      }
      setProblem(null);
      void c.actions.send(draft.value).then((sent) => {
        if (sent) onDone();
      });
    };
  const props = { submit, problem, sending: !!sending };
  switch (composer) {
    case 'fingerprint':
    case 'pin':
      return <VerifyComposer factor={composer === 'pin' ? 'pin' : 'biometric'} {...props} />;
    case 'photo':
      return <PhotoComposer {...props} />;
    case 'screenshot':
      return <ScreenshotComposer {...props} />;
    case 'text':
      return <TextComposer {...props} />;
    case 'menu':
      return <MenuComposer {...props} />;
    case 'form':
      return <FormComposer {...props} />;
    case 'confirm':
      return <ConfirmComposer {...props} />;
    case 'navigate':
      return <NavigateComposer {...props} />;
    case 'end':
      return <EndComposer {...props} />;
  }
}

type Submit = (
  make: () => { ok: true; value: DeviceCommand } | { ok: false; error: string },
) => (e: FormEvent) => void;
interface ComposerProps {
  submit: Submit;
  problem: string | null;
  sending: boolean;
}

function ComposerShell({
  title,
  onSubmit,
  problem,
  sending,
  send,
  children,
}: {
  title: string;
  onSubmit: (e: FormEvent) => void;
  problem: string | null;
  sending: boolean;
  send: string;
  children: ReactNode;
}) {
  return (
    <form className="composer" aria-label={title} onSubmit={onSubmit}>
      <p className="eyebrow">{title}</p>
      {children}
      {problem && <p className="form-error">{problem}</p>}
      <button type="submit" className="button primary" disabled={sending}>
        {sending ? 'Sending…' : send}
      </button>
    </form>
  );
}

function VerifyComposer({
  factor,
  submit,
  problem,
  sending,
}: ComposerProps & { factor: 'biometric' | 'pin' }) {
  const [reason, setReason] = useState('Confirm it’s you before we continue');
  const what = factor === 'pin' ? 'PIN' : 'fingerprint or face';
  return (
    <ComposerShell
      title={`Ask for the ${what}`}
      onSubmit={submit(() => checked({ kind: 'verify', payload: { factor, reason: reason.trim() } }))}
      problem={problem}
      sending={sending}
      send={`Send ${factor === 'pin' ? 'PIN' : 'fingerprint'} request`}
    >
      <Field label="Reason shown to the customer">
        <input value={reason} maxLength={200} onChange={(e) => setReason(e.target.value)} />
      </Field>
    </ComposerShell>
  );
}

function PhotoComposer({ submit, problem, sending }: ComposerProps) {
  const [prompt, setPrompt] = useState('Please take a photo of your face');
  const [camera, setCamera] = useState<'front' | 'back'>('front');
  return (
    <ComposerShell
      title="Ask for a photo"
      onSubmit={submit(() => checked({ kind: 'photo', payload: { prompt: prompt.trim(), camera } }))}
      problem={problem}
      sending={sending}
      send="Send photo request"
    >
      <div className="row">
        <Field label="What to photograph">
          <input value={prompt} maxLength={200} onChange={(e) => setPrompt(e.target.value)} />
        </Field>
        <Field label="Camera">
          <select value={camera} onChange={(e) => setCamera(e.target.value as 'front' | 'back')}>
            <option value="front">Front (selfie)</option>
            <option value="back">Back</option>
          </select>
        </Field>
      </div>
    </ComposerShell>
  );
}

function ScreenshotComposer({ submit, problem, sending }: ComposerProps) {
  const [prompt, setPrompt] = useState('Share a screenshot of the app so I can see what you see');
  return (
    <ComposerShell
      title="Ask for a screenshot"
      onSubmit={submit(() => checked({ kind: 'screenshot', payload: { prompt: prompt.trim() } }))}
      problem={problem}
      sending={sending}
      send="Send screenshot request"
    >
      <Field label="Prompt shown to the customer">
        <input value={prompt} maxLength={200} onChange={(e) => setPrompt(e.target.value)} />
      </Field>
    </ComposerShell>
  );
}

const TEXT_TYPES: { value: TextInputType; label: string; prompt: string }[] = [
  { value: 'tracking', label: 'Tracking number', prompt: 'Type the tracking number from your parcel' },
  { value: 'email', label: 'Email address', prompt: 'Type the email address for the receipt' },
  { value: 'free', label: 'Free text', prompt: 'Describe what happened' },
];

function TextComposer({ submit, problem, sending }: ComposerProps) {
  const [input, setInput] = useState<TextInputType>('tracking');
  const [prompt, setPrompt] = useState(TEXT_TYPES[0]!.prompt);
  return (
    <ComposerShell
      title="Ask a question"
      onSubmit={submit(() => textCommand(input, prompt))}
      problem={problem}
      sending={sending}
      send="Send question"
    >
      <div className="row">
        <Field label="Answer type">
          <select
            value={input}
            onChange={(e) => {
              const t = TEXT_TYPES.find((x) => x.value === e.target.value)!;
              setInput(t.value);
              setPrompt(t.prompt);
            }}
          >
            {TEXT_TYPES.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Question">
          <input value={prompt} maxLength={200} onChange={(e) => setPrompt(e.target.value)} />
        </Field>
      </div>
    </ComposerShell>
  );
}

/** Labels with add/remove/rename; used to compose a menu and to edit it while it is live. */
export function MenuItemsEditor({
  items,
  onChange,
}: {
  items: MenuItemDraft[];
  onChange: (items: MenuItemDraft[]) => void;
}) {
  return (
    <ol className="menu-editor" aria-label="Menu options">
      {items.map((item, i) => (
        <li key={i}>
          <input
            aria-label={`Option ${i + 1}`}
            value={item.label}
            maxLength={200}
            onChange={(e) => onChange(items.map((x, j) => (j === i ? { ...x, label: e.target.value } : x)))}
          />
          <button
            type="button"
            className="link-button"
            aria-label={`Remove option ${i + 1}`}
            disabled={items.length <= 1}
            onClick={() => onChange(items.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </li>
      ))}
      {items.length < 20 && (
        <li>
          <button type="button" className="link-button" onClick={() => onChange([...items, { label: '' }])}>
            Add an option
          </button>
        </li>
      )}
    </ol>
  );
}

function MenuComposer({ submit, problem, sending }: ComposerProps) {
  const [title, setTitle] = useState('Which card is it about?');
  const [items, setItems] = useState<MenuItemDraft[]>([{ label: 'Debit card' }, { label: 'Credit card' }]);
  return (
    <ComposerShell
      title="Send a menu"
      onSubmit={submit(() => {
        const m = menuItems(items);
        return m.ok ? checked({ kind: 'menu', payload: { title: title.trim(), items: m.value } }) : m;
      })}
      problem={problem}
      sending={sending}
      send="Send menu"
    >
      <Field label="Menu title">
        <input value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
      </Field>
      <MenuItemsEditor items={items} onChange={setItems} />
    </ComposerShell>
  );
}

const FIELD_TYPES: { value: FieldType; label: string }[] = [
  { value: 'text', label: 'Text' },
  { value: 'email', label: 'Email' },
  { value: 'number', label: 'Number' },
  { value: 'select', label: 'Choice' },
  { value: 'checkbox', label: 'Tick box' },
];

function FormComposer({ submit, problem, sending }: ComposerProps) {
  const [title, setTitle] = useState('Delivery details');
  const [fields, setFields] = useState<FormFieldDraft[]>([
    { label: 'Address line', type: 'text', required: true, options: '' },
    { label: 'Postcode', type: 'text', required: true, options: '' },
  ]);
  const set = (i: number, patch: Partial<FormFieldDraft>) =>
    setFields(fields.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  return (
    <ComposerShell
      title="Send a form"
      onSubmit={submit(() => {
        const f = formFields(fields);
        return f.ok ? checked({ kind: 'form', payload: { title: title.trim(), fields: f.value } }) : f;
      })}
      problem={problem}
      sending={sending}
      send="Send form"
    >
      <Field label="Form title">
        <input value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
      </Field>
      <ol className="form-editor" aria-label="Form fields">
        {fields.map((f, i) => (
          <li key={i}>
            <input
              aria-label={`Field ${i + 1} label`}
              value={f.label}
              maxLength={200}
              onChange={(e) => set(i, { label: e.target.value })}
            />
            <select
              aria-label={`Field ${i + 1} type`}
              value={f.type}
              onChange={(e) => set(i, { type: e.target.value as FieldType })}
            >
              {FIELD_TYPES.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
            <label className="check">
              <input
                type="checkbox"
                checked={f.required}
                onChange={(e) => set(i, { required: e.target.checked })}
              />
              Required
            </label>
            <button
              type="button"
              className="link-button"
              aria-label={`Remove field ${i + 1}`}
              disabled={fields.length <= 1}
              onClick={() => setFields(fields.filter((_, j) => j !== i))}
            >
              Remove
            </button>
            {f.type === 'select' && (
              <input
                className="options"
                aria-label={`Field ${i + 1} choices (comma-separated)`}
                placeholder="Choices, comma-separated"
                value={f.options}
                onChange={(e) => set(i, { options: e.target.value })}
              />
            )}
          </li>
        ))}
        {fields.length < 30 && (
          <li>
            <button
              type="button"
              className="link-button"
              onClick={() =>
                setFields([...fields, { label: '', type: 'text', required: false, options: '' }])
              }
            >
              Add a field
            </button>
          </li>
        )}
      </ol>
    </ComposerShell>
  );
}

function ConfirmComposer({ submit, problem, sending }: ComposerProps) {
  const [t, setT] = useState({
    amount: '',
    currency: 'GBP',
    payee: '',
    reference: '',
    terms: 'I authorise this payment from my account. It cannot be reversed once sent.',
  });
  const set = (k: keyof typeof t) => (e: { target: { value: string } }) =>
    setT({ ...t, [k]: e.target.value });
  return (
    <ComposerShell
      title="Confirm a transaction on the device"
      onSubmit={submit(() => confirmCommand(t))}
      problem={problem}
      sending={sending}
      send="Send for confirmation"
    >
      <div className="row">
        <Field label="Amount">
          <input inputMode="decimal" value={t.amount} placeholder="250.00" onChange={set('amount')} />
        </Field>
        <Field label="Currency">
          <input value={t.currency} maxLength={3} onChange={set('currency')} />
        </Field>
      </div>
      <div className="row">
        <Field label="Payee">
          <input value={t.payee} maxLength={200} onChange={set('payee')} />
        </Field>
        <Field label="Reference">
          <input value={t.reference} maxLength={200} onChange={set('reference')} />
        </Field>
      </div>
      <Field label="Terms shown on the device">
        <textarea value={t.terms} maxLength={4000} onChange={set('terms')} />
      </Field>
    </ComposerShell>
  );
}

const SCREENS: { value: AppScreen; label: string }[] = [
  { value: 'home', label: 'Home' },
  { value: 'menu', label: 'Help menu' },
  { value: 'request', label: 'Their request' },
  { value: 'call', label: 'Call' },
  { value: 'account', label: 'Account' },
  { value: 'help', label: 'Help' },
];

function NavigateComposer({ submit, problem, sending }: ComposerProps) {
  const [screen, setScreen] = useState<AppScreen>('account');
  return (
    <ComposerShell
      title="Open a screen of the app"
      onSubmit={submit(() => checked({ kind: 'navigate', payload: { screen } }))}
      problem={problem}
      sending={sending}
      send="Open screen"
    >
      <Field label="Screen">
        <select value={screen} onChange={(e) => setScreen(e.target.value as AppScreen)}>
          {SCREENS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </Field>
    </ComposerShell>
  );
}

function EndComposer({ submit, problem, sending }: ComposerProps) {
  const [reason, setReason] = useState('');
  return (
    <ComposerShell
      title="End remote control"
      onSubmit={submit(() =>
        checked({ kind: 'end', payload: reason.trim() ? { reason: reason.trim() } : {} }),
      )}
      problem={problem}
      sending={sending}
      send="End control now"
    >
      <Field label="Message to the customer (optional)" hint="Open requests on the device are withdrawn.">
        <input value={reason} maxLength={200} onChange={(e) => setReason(e.target.value)} />
      </Field>
    </ComposerShell>
  );
}

function CommandList() {
  const c = useConsole();
  const { commands, loading } = useStore(c.actions);
  if (commands.length === 0)
    return <p className="muted small">{loading ? 'Loading…' : 'Nothing sent to the device yet.'}</p>;
  return (
    <ol className="commands" aria-label="Commands sent to the device">
      {[...commands].reverse().map((cmd) => (
        <CommandItem key={cmd.commandId} cmd={cmd} />
      ))}
    </ol>
  );
}

function CommandItem({ cmd }: { cmd: CommandView }) {
  const c = useConsole();
  const { busy, control } = useStore(c.actions);
  const [editing, setEditing] = useState<MenuItemDraft[] | null>(null);
  const st = STATE_TEXT[cmd.state];
  const open = isOpen(cmd);
  return (
    <li className={`command state-${cmd.state}`} data-kind={cmd.command.kind} data-state={cmd.state}>
      <div className="command-head">
        <span className="command-kind">{kindWords(cmd.command.kind)}</span>
        <Badge tone={st.tone}>{st.text}</Badge>
        <span className="muted small command-times">
          sent {timeOfDay(cmd.createdAt)}
          {cmd.shownAt ? ` · shown ${timeOfDay(cmd.shownAt)}` : ''}
          {cmd.finishedAt ? ` · ${st.text.toLowerCase()} ${timeOfDay(cmd.finishedAt)}` : ''}
          {cmd.revision > 1 ? ` · revision ${cmd.revision}` : ''}
        </span>
      </div>
      <p className="command-summary">{commandSummary(cmd.command)}</p>
      {cmd.state === 'done' && cmd.result && <Result cmd={cmd} />}
      {(cmd.state === 'failed' || cmd.state === 'cancelled' || cmd.state === 'expired') && cmd.reason && (
        <p className="muted small">Why: {REASON_TEXT[cmd.reason] ?? cmd.reason}</p>
      )}
      {cmd.state === 'declined' && <p className="small tone-text-warn">The customer declined.</p>}
      {open && !control.stopped && (
        <div className="actions">
          {cmd.command.kind === 'menu' && editing === null && (
            <button
              type="button"
              className="button"
              onClick={() => setEditing(cmd.command.kind === 'menu' ? [...cmd.command.payload.items] : [])}
            >
              Edit menu live
            </button>
          )}
          <button
            type="button"
            className="button"
            disabled={busy === cmd.commandId}
            onClick={() => void c.actions.cancel(cmd.commandId)}
          >
            Withdraw
          </button>
        </div>
      )}
      {open && editing && cmd.command.kind === 'menu' && (
        <form
          className="composer"
          aria-label="Edit the live menu"
          onSubmit={(e) => {
            e.preventDefault();
            const m = menuItems(editing);
            if (!m.ok || cmd.command.kind !== 'menu') return;
            void c.actions
              .updateMenu(cmd.commandId, cmd.command.payload.title, m.value)
              .then(() => setEditing(null));
          }}
        >
          <MenuItemsEditor items={editing} onChange={setEditing} />
          <div className="actions">
            <button type="submit" className="button primary" disabled={busy === cmd.commandId}>
              Update menu on the device
            </button>
            <button type="button" className="button" onClick={() => setEditing(null)}>
              Discard changes
            </button>
          </div>
        </form>
      )}
    </li>
  );
}

function Result({ cmd }: { cmd: CommandView }) {
  const c = useConsole();
  const { images } = useStore(c.actions);
  const { panel, photos } = useStore(c.panel);
  const r = cmd.result!;
  switch (r.kind) {
    case 'verify':
      return (
        <p className="result tone-text-good" data-testid="verify-result">
          {r.factor === 'biometric' ? 'Fingerprint or face' : 'PIN'} confirmed on the device at{' '}
          {timeOfDay(r.at)}: level {r.level}.
        </p>
      );
    case 'photo':
    case 'screenshot': {
      const id = imageOf(cmd)!;
      const enrolment = panel?.photos.enrolment ?? null;
      return (
        <div className="photos result" data-testid={`${r.kind}-result`}>
          <Photo
            title={r.kind === 'photo' ? 'Photo just taken' : 'Screenshot'}
            refAt={cmd.finishedAt}
            state={images[id]}
          />
          {r.kind === 'photo' && (
            <Photo
              title="Enrolment photo"
              refAt={enrolment?.at ?? null}
              state={enrolment ? photos[enrolment.photoId] : undefined}
            />
          )}
        </div>
      );
    }
    case 'text':
      return (
        <blockquote className="result" data-testid="text-result">
          {r.value}
        </blockquote>
      );
    case 'menu':
      return (
        <p className="result" data-testid="menu-result">
          Chose <strong>{r.label}</strong>
          {r.revision > 1 ? ` (from revision ${r.revision})` : ''}
        </p>
      );
    case 'form': {
      const fields = cmd.command.kind === 'form' ? cmd.command.payload.fields : [];
      return (
        <dl className="result form-values" data-testid="form-result">
          {Object.entries(r.values).map(([id, v]) => {
            const f = fields.find((x) => x.id === id);
            const shown =
              typeof v === 'boolean'
                ? v
                  ? 'Yes'
                  : 'No'
                : f?.type === 'select'
                  ? (f.options.find((o) => o.id === v)?.label ?? String(v))
                  : String(v);
            return (
              <div key={id}>
                <dt>{f?.label ?? id}</dt>
                <dd>{shown}</dd>
              </div>
            );
          })}
        </dl>
      );
    }
    case 'confirm': {
      const t = cmd.command.kind === 'confirm' ? cmd.command.payload.transaction : null;
      return (
        <div className="result confirmed" data-testid="confirm-result">
          <p className="tone-text-good">
            <strong>Confirmed on device</strong>
            {t ? `: ${money(t.amount, t.currency)} to ${t.payee} (ref. ${t.reference})` : ''}
          </p>
          <p className="muted small">
            Signed with the enrolled device key; signature verified by the authority at{' '}
            {timeOfDay(r.verifiedAt)}.
          </p>
        </div>
      );
    }
    case 'navigate':
      return <p className="result">The app shows the {r.screen} screen.</p>;
    case 'end':
      return <p className="result">Remote control ended.</p>;
    default: {
      const never: never = r;
      return <>{String(never)}</>;
    }
  }
}
