import type { ReactNode } from 'react';
import type { BlockedCall } from '../../../sdk/index.ts';
import { clock } from '../format.ts';
import { Icon } from './ui.tsx';

/** The blocked-call alert: shown over any screen the moment a call without a valid ticket is refused. */
export function BlockedBanner({
  blocked,
  onDismiss,
}: {
  blocked: BlockedCall | null;
  onDismiss: () => void;
}) {
  if (!blocked) return null;
  return (
    <div className="blocked-banner" role="alert" aria-labelledby="blocked-title">
      <Icon name="block" />
      <div className="blocked-text">
        <p id="blocked-title" className="blocked-title">
          Unverified call blocked
        </p>
        <p className="blocked-meta">
          <time dateTime={blocked.at.toISOString()}>{clock(blocked.at)}</time> · {blocked.detail}
        </p>
      </div>
      <button
        type="button"
        className="btn-dismiss"
        onClick={onDismiss}
        aria-label="Dismiss blocked call alert"
      >
        ×
      </button>
    </div>
  );
}

export function Layout(props: {
  company: string | null;
  customerName: string | null;
  banner: ReactNode;
  /** The agent's requests and "Stop all", over any screen while a request is open. */
  commands?: ReactNode;
  children: ReactNode;
  dark?: boolean;
}) {
  return (
    <div className={`app ${props.dark ? 'app-dark' : ''}`}>
      <header className="topbar">
        <span className="brand">
          <Icon name="shield" size={22} />
          <span>{props.company ?? 'Verified Desk'}</span>
        </span>
        {props.customerName ? <span className="who">{props.customerName}</span> : null}
      </header>
      {props.banner}
      <main className="content">
        {props.commands}
        {props.children}
      </main>
    </div>
  );
}
