import type { ReactNode } from 'react';
import { Alert } from '../components/ui.tsx';
import {
  clockDuration,
  PRESENCE_TEXT,
  PRESENCE_TONE,
  secondsSince,
  statusBarLink,
  timeOfDay,
} from '../format.ts';
import { useConsole, useNow, useSoftphone, useStore } from '../hooks.ts';
import { SHORTCUTS } from '../shortcuts.ts';
import { BREAK_REASONS, nextPresenceText, presenceMenu, presenceRequestOf } from '../state/agent.ts';
import { myStatsText } from '../state/stats.ts';
import { IncomingCall } from './CallControls.tsx';
import { isSupervisor, type ScreenName } from '../state/console.ts';

const SCREENS: { name: ScreenName; label: string; supervisor?: boolean }[] = [
  { name: 'desk', label: 'Desk' },
  { name: 'history', label: 'History' },
  { name: 'settings', label: 'Settings' },
  { name: 'board', label: 'Board', supervisor: true },
  { name: 'reports', label: 'Reports', supervisor: true },
];

/** The console frame: top bar (navigation, presence, user), banners, the screen, the status bar. */
export function Shell({ children }: { children: ReactNode }) {
  const c = useConsole();
  const screen = useStore(c.navigation);
  const staff = c.session.staff;
  const wrapUp = useStore(c.wrapUp);
  const agent = useStore(c.agent);
  const calls = useStore(c.calls);
  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Verified Desk
        </div>
        <nav aria-label="Screens" className="tabs">
          {SCREENS.filter((s) => !s.supervisor || isSupervisor(staff)).map((s) => (
            <button
              key={s.name}
              type="button"
              className={`tab${screen === s.name ? ' current' : ''}`}
              aria-current={screen === s.name ? 'page' : undefined}
              onClick={() => c.navigation.show(s.name)}
            >
              {s.label}
            </button>
          ))}
        </nav>
        <PresenceControl />
        <div className="user">
          <span className="user-name">{staff?.displayName}</span>
          <span className="user-role">{staff?.role}</span>
        </div>
        <button
          type="button"
          className="button ghost"
          onClick={() => void c.session.logout()}
          disabled={!!wrapUp.item}
          title={wrapUp.item ? 'Save the wrap-up before you sign out' : undefined}
        >
          Sign out
        </button>
      </header>
      <ConnectionBanner />
      {agent.error && (
        <div className="banner-slot">
          <Alert onDismiss={() => c.agent.dismissError()}>{agent.error}</Alert>
        </div>
      )}
      <IncomingCall />
      {calls.dial && (
        <div className="banner-slot">
          <Alert tone="info" onDismiss={() => c.calls.dismissDial()}>
            Click-to-dial {calls.dial}: the console cannot place this call now (the softphone is not ready, or
            a phone number needs a telephone gateway).
          </Alert>
        </div>
      )}
      <div className="screen">{children}</div>
      <StatusBar />
    </div>
  );
}

function PresenceControl() {
  const c = useConsole();
  const { agent, changing } = useStore(c.agent);
  const { stats } = useStore(c.myStats);
  const now = useNow();
  if (!agent) return <div className="presence" />;
  const reason = BREAK_REASONS.find((r) => r.code === agent.reasonCode)?.label ?? agent.reasonCode;
  const menu = presenceMenu(agent);
  const next = nextPresenceText(agent);
  const choose = (value: string) => {
    const request = presenceRequestOf(value);
    if (request) void c.agent.setPresence(request);
  };
  return (
    <div className="presence">
      <span
        className={`presence-state tone-${PRESENCE_TONE[agent.presence]}`}
        role="status"
        aria-label="Your presence"
      >
        <span className="dot" aria-hidden="true" />
        <span data-testid="presence">
          {PRESENCE_TEXT[agent.presence]}
          {agent.presence === 'break' && reason ? `: ${reason}` : ''}
        </span>
        <span className="presence-time">{clockDuration(secondsSince(agent.since, now))}</span>
      </span>
      <select
        aria-label="Change presence"
        value={menu.value}
        disabled={!!changing}
        onChange={(e) => choose(e.target.value)}
      >
        {menu.choices.map((o) => (
          <option key={o.value} value={o.value} disabled={o.disabled}>
            {o.label}
          </option>
        ))}
      </select>
      {next && (
        <span className="presence-next" data-testid="presence-next">
          {next}
        </span>
      )}
      {agent.setBy && (
        <span className="presence-set-by" data-testid="presence-set-by">
          Set by {agent.setBy.displayName} at {timeOfDay(agent.since)}
        </span>
      )}
      {!agent.onShift && <span className="muted small">Off shift</span>}
      {stats && (
        <span className="presence-next" data-testid="my-stats" title="My stats (today)">
          {myStatsText(stats)}
        </span>
      )}
    </div>
  );
}

function ConnectionBanner() {
  const c = useConsole();
  const { link, authority } = useStore(c.connection);
  let text: string | null = null;
  let tone: 'warn' | 'bad' | 'info' = 'warn';
  if (link === 'reconnecting') {
    text = 'The connection to the console host dropped. Reconnecting…';
  } else if (authority === 'reconnecting') {
    text =
      'The authority is unreachable. Reconnecting… Wrap-ups are kept on this computer and sent when it is back.';
  } else if (authority === 'offline') {
    text = 'Not connected to the authority.';
    tone = 'bad';
  } else if (authority === 'connecting' || link === 'connecting') {
    text = 'Connecting…';
    tone = 'info';
  }
  if (!text) return null;
  return (
    <div className={`connection-banner tone-${tone}`} role="status" data-testid="connection-banner">
      {text}
    </div>
  );
}

function StatusBar() {
  const c = useConsole();
  const { authority, link } = useStore(c.connection);
  const { outbox } = useStore(c.wrapUp);
  const phone = useSoftphone();
  const linkText = statusBarLink(link, authority);
  return (
    <footer className="statusbar" aria-label="Status">
      <span data-testid="authority-status">
        {linkText.label}: <strong>{linkText.text}</strong>
      </span>
      <span data-testid="outbox-status">
        Outbox:{' '}
        <strong>
          {outbox === null
            ? '…'
            : outbox.pending > 0
              ? `${outbox.pending} wrap-up${outbox.pending === 1 ? '' : 's'} pending`
              : 'all sent'}
        </strong>
        {outbox?.lastError && outbox.pending > 0 ? (
          <span className="muted"> · {outbox.lastError}</span>
        ) : null}
      </span>
      <span data-testid="softphone-status">
        Softphone: <strong>{phone.present ? phone.line : 'No softphone connected'}</strong>
      </span>
      <span className="shortcuts" aria-label="Keyboard shortcuts">
        {SHORTCUTS.map((s) => (
          <span key={s.action}>
            <kbd className="kbd">{s.label}</kbd> {SHORTCUT_WORDS[s.action]}
          </span>
        ))}
      </span>
    </footer>
  );
}

const SHORTCUT_WORDS = {
  accept: 'accept',
  reject: 'reject',
  hangUp: 'hang up',
  hold: 'hold',
  mute: 'mute',
} as const;
