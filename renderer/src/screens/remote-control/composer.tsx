import type { FormEvent, ReactNode } from 'react';
import type { DeviceCommand } from '../../../../protocol/src/device-control.ts';

/** The composers, one per button of the remote-control section (a kind may have two: fingerprint and PIN). */
export type Composer =
  'fingerprint' | 'pin' | 'photo' | 'screenshot' | 'text' | 'menu' | 'form' | 'confirm' | 'navigate' | 'end';

export type Submit = (
  make: () => { ok: true; value: DeviceCommand } | { ok: false; error: string },
) => (e: FormEvent) => void;

export interface ComposerProps {
  submit: Submit;
  problem: string | null;
  sending: boolean;
}

export function ComposerShell({
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
