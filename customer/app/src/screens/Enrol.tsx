import { useState, type FormEvent } from 'react';
import type { AppController, AppState } from '../controller.ts';
import { PhotoCapture } from '../components/PhotoCapture.tsx';
import { newPinProblem } from '../state/problems.ts';
import { Button, ErrorText, Icon, Notice, Screen } from '../components/ui.tsx';

interface Props {
  state: AppState;
  app: AppController;
}

function Steps({ current }: { current: number }) {
  const names = ['Code', 'PIN', 'Fingerprint', 'Photo'];
  return (
    <ol className="steps" aria-label="Set-up steps">
      {names.map((n, i) => (
        <li
          key={n}
          className={i < current ? 'done' : i === current ? 'current' : ''}
          aria-current={i === current ? 'step' : undefined}
        >
          {n}
        </li>
      ))}
    </ol>
  );
}

export function Welcome({ state, app }: Props) {
  const [code, setCode] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void app.enrol(code);
  };
  return (
    <Screen
      title="Set up verified help"
      lead="Your phone will prove it is you before an agent calls, so nobody has to ask you security questions."
    >
      <Steps current={0} />
      <Notice message={state.notice} />
      <form onSubmit={submit} className="form">
        <label htmlFor="code">Enrolment code</label>
        <input
          id="code"
          name="code"
          autoComplete="one-time-code"
          autoCapitalize="characters"
          spellCheck={false}
          placeholder="ABCD-EFGH-JKLM"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          aria-describedby="code-help"
          required
        />
        <p id="code-help" className="help">
          From your bank’s letter or online banking.
        </p>
        <ErrorText message={state.error} />
        <Button
          type="submit"
          busy={state.busy !== null}
          busyLabel={state.busy}
          disabled={code.trim().length < 6}
        >
          Continue
        </Button>
      </form>
    </Screen>
  );
}

export function PinSetup({ state, app }: Props) {
  const [pin, setPin] = useState('');
  const [repeat, setRepeat] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const problem = newPinProblem(pin, repeat);
    if (problem) return setProblem(problem);
    setProblem(null);
    void app.setPin(pin);
  };
  return (
    <Screen
      title="Choose a PIN"
      lead={`Welcome, ${state.customerName ?? ''}. You will use this PIN to confirm it is you.`}
    >
      <Steps current={1} />
      <form onSubmit={submit} className="form">
        <label htmlFor="pin">New PIN</label>
        <input
          id="pin"
          type="password"
          inputMode="numeric"
          autoComplete="new-password"
          maxLength={12}
          value={pin}
          onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
          aria-describedby="pin-help"
        />
        <p id="pin-help" className="help">
          4 to 12 digits, not a sequence or a repeat such as 1234 or 1111.
        </p>
        <label htmlFor="pin-repeat">Repeat PIN</label>
        <input
          id="pin-repeat"
          type="password"
          inputMode="numeric"
          autoComplete="new-password"
          maxLength={12}
          value={repeat}
          onChange={(e) => setRepeat(e.target.value.replace(/\D/g, ''))}
        />
        <ErrorText message={problem ?? state.error} />
        <Button type="submit" busy={state.busy !== null} busyLabel={state.busy}>
          Save PIN
        </Button>
      </form>
    </Screen>
  );
}

export function FingerprintSetup({ state, app }: Props) {
  return (
    <Screen
      title="Add your fingerprint"
      lead="Some requests, such as changing a card limit, need a fingerprint or face check."
    >
      <Steps current={2} />
      <div className="hero-icon">
        <Icon name="fingerprint" size={64} />
      </div>
      {state.biometricAvailable ? null : (
        <p className="help">This phone has no fingerprint or face sensor that the browser can use.</p>
      )}
      <ErrorText message={state.error} />
      <div className="actions">
        <Button
          onClick={() => void app.addFingerprint()}
          busy={state.busy !== null}
          busyLabel={state.busy}
          disabled={!state.biometricAvailable}
        >
          Add fingerprint
        </Button>
        <Button
          variant="ghost"
          onClick={() => app.skipTo({ name: 'enrol-photo' })}
          disabled={state.busy !== null}
        >
          Not now
        </Button>
      </div>
    </Screen>
  );
}

export function PhotoSetup({ state, app }: Props) {
  return (
    <Screen
      title="Add a photo of yourself"
      lead="Agents can compare it with a photo you take when you ask for help."
    >
      <Steps current={3} />
      <Notice message={state.notice} />
      <PhotoCapture
        useLabel="Use this photo"
        busy={state.busy}
        onUse={(p) => void app.uploadEnrolmentPhoto(p)}
      />
      <ErrorText message={state.error} />
      <Button variant="ghost" onClick={() => app.skipTo({ name: 'home' })} disabled={state.busy !== null}>
        Not now
      </Button>
    </Screen>
  );
}
