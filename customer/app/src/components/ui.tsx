import { useEffect, useRef, type ButtonHTMLAttributes, type ReactNode } from 'react';

/** A screen: its heading takes focus when it appears, so screen readers announce the new step. */
export function Screen(props: { title: string; lead?: ReactNode; children?: ReactNode; className?: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [props.title]);
  return (
    <section className={`screen ${props.className ?? ''}`} aria-labelledby="screen-title">
      <h1 id="screen-title" ref={heading} tabIndex={-1}>
        {props.title}
      </h1>
      {props.lead ? <p className="lead">{props.lead}</p> : null}
      {props.children}
    </section>
  );
}

type Variant = 'primary' | 'secondary' | 'danger' | 'danger-outline' | 'ghost' | 'answer' | 'decline';

export function Button({
  variant = 'primary',
  busy,
  busyLabel,
  children,
  className,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: Variant;
  busy?: boolean;
  busyLabel?: string | null;
}) {
  return (
    <button
      type="button"
      className={`btn btn-${variant} ${className ?? ''}`}
      aria-busy={busy || undefined}
      {...rest}
      disabled={rest.disabled || busy}
    >
      {busy && busyLabel ? busyLabel : children}
    </button>
  );
}

export function ErrorText({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

export function Notice({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="notice" role="status">
      {message}
    </p>
  );
}

const paths = {
  shield: 'M12 2 4 5v6c0 5.2 3.4 9.7 8 11 4.6-1.3 8-5.8 8-11V5z',
  check: 'm5 12.5 4.2 4.2L19 7',
  phone:
    'M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1A17 17 0 0 1 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1z',
  block: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM5.6 5.6l12.8 12.8',
  chevron: 'm9 6 6 6-6 6',
  back: 'm15 6-6 6 6 6',
  mic: 'M12 15a3 3 0 0 0 3-3V6a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm6-3a6 6 0 0 1-12 0M12 18v3',
  speaker: 'M4 9v6h4l5 4V5L8 9zm12.5-1.5a6 6 0 0 1 0 9M19 5a9.5 9.5 0 0 1 0 14',
  clock: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm0 4v5l3 2',
  fingerprint:
    'M7 11a5 5 0 0 1 10 0v1c0 2.5-.5 4.8-1.5 6.8M12 11v2c0 3-.8 5.8-2.2 8M9.5 11a2.5 2.5 0 0 1 5 0v1.5M4.5 9a8 8 0 0 1 15 0M20 13.5c0 1.5-.2 3-.6 4.4M4 13c0 2 .5 4 1.5 5.5',
  camera: 'M4 8h3l2-3h6l2 3h3v11H4zM12 17a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z',
} as const;

export function Icon({ name, size = 24 }: { name: keyof typeof paths; size?: number }) {
  const filled = name === 'shield';
  return (
    <svg
      className={`icon icon-${name}`}
      width={size}
      height={size}
      viewBox="0 0 24 24"
      aria-hidden="true"
      focusable="false"
      fill={filled ? 'currentColor' : 'none'}
      stroke={filled ? 'none' : 'currentColor'}
      strokeWidth={2}
      strokeLinecap="round"
      strokeLinejoin="round"
    >
      <path d={paths[name]} />
    </svg>
  );
}
