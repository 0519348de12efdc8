import { useState, type FormEvent } from 'react';
import { Button, Icon } from './ui.tsx';

/** The PIN pad of a step-up: digits only, 4 to 12; used by the StepUp screen and the agent's verify card. */
export function PinForm(props: {
  id: string;
  busy: string | null;
  onSubmit: (pin: string) => void;
  variant?: 'primary' | 'secondary';
  label?: string;
}) {
  const [pin, setPin] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
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
        disabled={pin.length < 4}
      >
        Confirm with PIN
      </Button>
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
