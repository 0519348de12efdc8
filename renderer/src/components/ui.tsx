import type { ReactNode } from 'react';
import type { VerificationState } from '../../../protocol/src/agent-desk.ts';
import { VERIFICATION_TONE, VERIFICATION_WORDS, type Tone } from '../format.ts';

export function Badge({
  tone = 'neutral',
  children,
  label,
}: {
  tone?: Tone;
  children: ReactNode;
  label?: string;
}) {
  return (
    <span className={`badge tone-${tone}`} aria-label={label}>
      {children}
    </span>
  );
}

/** The assurance level of a request or authentication (0-3). */
export function LevelBadge({ level }: { level: number }) {
  return (
    <span
      className="level-badge"
      aria-label={`Verification level ${level}`}
      title={`Verification level ${level}`}
    >
      <ShieldIcon />L{level}
    </span>
  );
}

export function VerificationBadge({ state, large = false }: { state: VerificationState; large?: boolean }) {
  const tone = VERIFICATION_TONE[state];
  return (
    <span className={`badge tone-${tone}${large ? ' badge-large' : ''}`} data-testid="verification-state">
      {tone === 'good' ? (
        <CheckIcon />
      ) : tone === 'bad' ? (
        <CrossIcon />
      ) : tone === 'warn' ? (
        <HalfIcon />
      ) : null}
      {VERIFICATION_WORDS[state]}
    </span>
  );
}

/** Three pips for levels 1-3: filled up to the level, a mark at the required level. */
export function LevelMeter({ level, required }: { level: number; required: number }) {
  return (
    <span className="meter" aria-hidden="true">
      {[1, 2, 3].map((n) => (
        <span
          key={n}
          className={`pip${n <= level ? ' on' : ''}${n === required ? ' required' : ''}${
            n <= level ? (level >= required ? ' good' : ' warn') : ''
          }`}
        />
      ))}
    </span>
  );
}

export function Kbd({ children }: { children: ReactNode }) {
  return <kbd className="kbd">{children}</kbd>;
}

export function Alert({
  tone = 'bad',
  children,
  onDismiss,
}: {
  tone?: Tone;
  children: ReactNode;
  onDismiss?: () => void;
}) {
  return (
    <div className={`alert tone-${tone}`} role="alert">
      <span>{children}</span>
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss} aria-label="Dismiss message">
          Dismiss
        </button>
      )}
    </div>
  );
}

const svg = {
  width: 14,
  height: 14,
  viewBox: '0 0 24 24',
  fill: 'none',
  stroke: 'currentColor',
  strokeWidth: 2.4,
  strokeLinecap: 'round' as const,
  strokeLinejoin: 'round' as const,
  'aria-hidden': true,
};

export const CheckIcon = () => (
  <svg {...svg}>
    <path d="m5 12 5 5 9-10" />
  </svg>
);
export const CrossIcon = () => (
  <svg {...svg}>
    <path d="M6 6l12 12M18 6 6 18" />
  </svg>
);
export const HalfIcon = () => (
  <svg {...svg}>
    <circle cx="12" cy="12" r="8" />
    <path d="M12 4v16" />
  </svg>
);
export const LockIcon = () => (
  <svg {...svg}>
    <rect x="5" y="11" width="14" height="9" rx="2" />
    <path d="M8 11V8a4 4 0 0 1 8 0v3" />
  </svg>
);
export const UnlockIcon = () => (
  <svg {...svg}>
    <rect x="5" y="11" width="14" height="9" rx="2" />
    <path d="M8 11V8a4 4 0 0 1 7.5-2" />
  </svg>
);
export const ShieldIcon = () => (
  <svg {...svg} width={12} height={12}>
    <path d="M12 3 5 6v5c0 4.5 3 8.3 7 10 4-1.7 7-5.5 7-10V6z" />
  </svg>
);
export const WarnIcon = () => (
  <svg {...svg}>
    <path d="M12 4 2.5 20h19z" />
    <path d="M12 10v4M12 17.5v.5" />
  </svg>
);
