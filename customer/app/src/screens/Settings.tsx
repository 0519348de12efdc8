import { useState, type FormEvent } from 'react';
import type { AppController, AppState } from '../controller.ts';
import { PhotoCapture } from '../components/PhotoCapture.tsx';
import { Button, ErrorText, Icon, Notice, Screen } from '../components/ui.tsx';

interface Props {
  state: AppState;
  app: AppController;
}

function Back({ app, to = 'settings' }: { app: AppController; to?: 'settings' | 'home' }) {
  return (
    <Button variant="ghost" onClick={() => (to === 'home' ? app.home() : app.skipTo({ name: 'settings' }))}>
      <Icon name="back" size={18} /> {to === 'home' ? 'Home' : 'Settings'}
    </Button>
  );
}

function PinInput(props: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  hint?: string;
}) {
  return (
    <>
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="password"
        inputMode="numeric"
        autoComplete={props.id === 'current-pin' ? 'current-password' : 'new-password'}
        maxLength={12}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value.replace(/\D/g, ''))}
        aria-describedby={props.hint ? `${props.id}-help` : undefined}
      />
      {props.hint ? (
        <p id={`${props.id}-help`} className="help">
          {props.hint}
        </p>
      ) : null}
    </>
  );
}

/** Settings: what this phone has set up, and adding a fingerprint or photo later, changing the PIN, removing the phone. */
export function Settings({ state, app }: Props) {
  const e = state.enrolled;
  const rows: { name: string; detail: string; action: string; go: () => void }[] = [
    {
      name: 'PIN',
      detail: e?.pin ? 'Set up' : 'Not set up',
      action: e?.pin ? 'Change PIN' : 'Choose a PIN',
      go: () => app.skipTo({ name: 'change-pin' }),
    },
    {
      name: 'Fingerprint',
      detail: e?.biometric ? 'Set up' : 'Not set up',
      action: e?.biometric ? 'Add another fingerprint' : 'Add a fingerprint',
      go: () => app.skipTo({ name: 'add-fingerprint' }),
    },
    {
      name: 'Photo',
      detail: e?.photo ? 'Set up' : 'Not set up',
      action: e?.photo ? 'Replace your photo' : 'Add a photo',
      go: () => app.skipTo({ name: 'add-photo' }),
    },
  ];
  return (
    <Screen title="Settings" lead="How this phone proves it is you.">
      <Notice message={state.notice} />
      <ErrorText message={state.error} />
      <ul className="link-list" aria-label="Ways to verify">
        {rows.map((r) => (
          <li key={r.name}>
            <button type="button" className="link-row" onClick={r.go} disabled={state.busy !== null}>
              <span>
                {r.action}
                <small>
                  {r.name}: {r.detail}
                </small>
              </span>
              <Icon name="chevron" size={18} />
            </button>
          </li>
        ))}
      </ul>
      <section className="card" aria-labelledby="remove-title">
        <h2 id="remove-title" className="card-title">
          This phone
        </h2>
        <p className="help">
          Lost it, selling it or giving it away? Remove it from your account: it can no longer verify you.
        </p>
        <Button variant="danger-outline" onClick={() => app.skipTo({ name: 'remove-phone' })}>
          Remove this phone
        </Button>
      </section>
      <Back app={app} to="home" />
    </Screen>
  );
}

export function ChangePin({ state, app }: Props) {
  const [current, setCurrent] = useState('');
  const [pin, setPin] = useState('');
  const [repeat, setRepeat] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void app.changePin(current, pin, repeat);
  };
  const waiting = state.retryAt !== null && state.retryAt > Date.now();
  return (
    <Screen title="Change your PIN" lead="Enter the PIN you use now, then choose a new one.">
      <form onSubmit={submit} className="form">
        <PinInput id="current-pin" label="Current PIN" value={current} onChange={setCurrent} />
        <PinInput
          id="new-pin"
          label="New PIN"
          value={pin}
          onChange={setPin}
          hint="4 to 12 digits, not a sequence or a repeat such as 1234 or 1111."
        />
        <PinInput id="repeat-pin" label="Repeat new PIN" value={repeat} onChange={setRepeat} />
        <ErrorText message={state.error} />
        <Button type="submit" busy={state.busy !== null} busyLabel={state.busy} disabled={waiting}>
          Save new PIN
        </Button>
      </form>
      <Back app={app} />
    </Screen>
  );
}

export function AddFingerprint({ state, app }: Props) {
  const may = state.setup?.biometric ?? false;
  const has = state.enrolled?.biometric ?? false;
  let why: string | null = null;
  if (!state.biometricAvailable)
    why =
      'This phone has no fingerprint or face sensor that the browser can use, so a fingerprint cannot be added here. Your PIN and photo still work.';
  else if (!may && !has)
    why =
      'A fingerprint can be added only in the first 30 minutes after setting up this phone, or after checking a fingerprint you already have. To add one now, remove this phone in Settings and set it up again with a new code from the bank.';
  return (
    <Screen
      title={has ? 'Add another fingerprint' : 'Add a fingerprint'}
      lead="Some requests, such as changing a card limit, need a fingerprint or face check."
    >
      <div className="hero-icon">
        <Icon name="fingerprint" size={64} />
      </div>
      {why ? (
        <p className="help" role="status" data-testid="fingerprint-why">
          {why}
        </p>
      ) : (
        <p className="help">
          {may
            ? 'Touch the sensor when your phone asks.'
            : 'First check the fingerprint you already have, then add the new one.'}
        </p>
      )}
      <ErrorText message={state.error} />
      {why ? null : (
        <Button
          onClick={() => void app.addFingerprintLater()}
          busy={state.busy !== null}
          busyLabel={state.busy}
        >
          {may ? 'Add fingerprint' : 'Check fingerprint and add'}
        </Button>
      )}
      <Back app={app} />
    </Screen>
  );
}

export function AddPhoto({ state, app }: Props) {
  const needsPin = (state.authentication?.level ?? 0) < 2 && !state.setup?.photo;
  const [pin, setPin] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <Screen
      title={state.enrolled?.photo ? 'Replace your photo' : 'Add a photo of yourself'}
      lead="Agents can compare it with a photo you take when you ask for help."
    >
      {needsPin ? (
        <div className="form">
          <PinInput
            id="photo-pin"
            label="Your PIN"
            value={pin}
            onChange={setPin}
            hint="Your PIN confirms it is you changing the photo."
          />
        </div>
      ) : null}
      <PhotoCapture
        useLabel="Save this photo"
        busy={state.busy}
        onUse={(p) => {
          if (needsPin && !/^[0-9]{4,12}$/.test(pin))
            return setProblem('Enter your PIN first (4 to 12 digits).');
          setProblem(null);
          void app.addPhotoLater(p, needsPin ? pin : null);
        }}
      />
      <ErrorText message={problem ?? state.error} />
      <Back app={app} />
    </Screen>
  );
}

export function RemovePhone({ state, app }: Props) {
  return (
    <Screen title="Remove this phone?" lead="This phone will no longer be able to verify you.">
      <ul className="help">
        <li>Any open request from this phone ends, and any call with an agent stops.</li>
        <li>Your account, your PIN and your photo stay as they are.</li>
        <li>To use this phone again, you will need a new set-up code from the bank.</li>
      </ul>
      <ErrorText message={state.error} />
      <div className="actions">
        <Button
          variant="danger"
          onClick={() => void app.removePhone()}
          busy={state.busy !== null}
          busyLabel={state.busy}
        >
          Remove this phone
        </Button>
        <Back app={app} />
      </div>
    </Screen>
  );
}
