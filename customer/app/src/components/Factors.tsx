import { useEffect, useState, type FormEvent } from 'react';
import { Button, Icon } from './ui.tsx';

/** The PIN pad of a step-up: digits only, 4 to 12; used by the StepUp screen and the agent's verify card. */
export function PinForm(props: {
  id: string;
  busy: string | null;
  onSubmit: (pin: string) => void;
  variant?: 'primary' | 'secondary';
  label?: string;
  /** Until when (ms) the authority refuses PINs: the button waits with a countdown. */
  retryAt?: number | null;
}) {
  const [pin, setPin] = useState('');
  const [now, setNow] = useState(() => Date.now());
  const waitS = props.retryAt ? Math.ceil((props.retryAt - now) / 1000) : 0;
  useEffect(() => {
    if (waitS <= 0) return;
    const t = setTimeout(() => setNow(Date.now()), 1000);
    return () => clearTimeout(t);
  }, [waitS, now]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (waitS > 0) return;
    props.onSubmit(pin);
  };
  return (
    <form className="card form factor" onSubmit={submit}>
      <label htmlFor={props.id}>{props.label ?? 'Your PIN'}</label>
      <input
        id={props.id}
        type="password"
        inputMode="numeric"
        autoComplete="current-password"
        maxLength={12}
        value={pin}
        onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
      />
      <Button
        type="submit"
        variant={props.variant ?? 'primary'}
        busy={props.busy !== null}
        busyLabel={props.busy}
        disabled={pin.length < 4 || waitS > 0}
      >
        Confirm with PIN
      </Button>
      {waitS > 0 ? (
        <p className="help" role="timer" aria-live="polite">
          Too many wrong PINs: you can try again in {Math.floor(waitS / 60)}:
          {String(waitS % 60).padStart(2, '0')}.
        </p>
      ) : null}
    </form>
  );
}

/** The fingerprint prompt of a step-up: the platform authenticator asks for it (user verification required). */
export function FingerprintPrompt(props: { busy: string | null; onUse: () => void; label?: string }) {
  return (
    <div className="card factor">
      <div className="hero-icon">
        <Icon name="fingerprint" size={56} />
      </div>
      <Button onClick={props.onUse} busy={props.busy !== null} busyLabel={props.busy}>
        {props.label ?? 'Use fingerprint'}
      </Button>
    </div>
  );
}
