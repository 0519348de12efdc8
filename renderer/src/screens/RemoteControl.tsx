import { useState } from 'react';
import type { CommandKind } from '../../../protocol/src/device-control.ts';
import { Alert, Badge, WarnIcon } from '../components/ui.tsx';
import { timeOfDay } from '../format.ts';
import { useConsole, useStore } from '../hooks.ts';
import { CommandList } from './remote-control/CommandList.tsx';
import type { Composer } from './remote-control/composer.tsx';
import { ComposerForm } from './remote-control/ComposerForm.tsx';

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

/** Remote control of the customer's device for the request in hand: the composers, and what came back. */
export function RemoteControl() {
  const c = useConsole();
  const s = useStore(c.remoteControl);
  const [open, setOpen] = useState<Composer | null>(null);
  if (!s.target) return null;
  const stopped = s.control.stopped;
  return (
    <section className="card remote-control" aria-labelledby="remote-control-title">
      <div className="section-head">
        <h2 id="remote-control-title">Actions on the customer’s device</h2>
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
      {s.error && <Alert onDismiss={() => c.remoteControl.dismissError()}>{s.error}</Alert>}
      <div className="action-buttons" role="group" aria-label="Device actions">
        {BUTTONS.map((b) => {
          const why = c.remoteControl.blocked(b.kind);
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
      {open && !c.remoteControl.blocked(BUTTONS.find((b) => b.composer === open)!.kind) && (
        <ComposerForm composer={open} onDone={() => setOpen(null)} />
      )}
      <CommandList />
    </section>
  );
}

/** The reasons of disabled buttons, spelled out once (level gates, stopped control). */
function LevelReasons() {
  const c = useConsole();
  const { control } = useStore(c.remoteControl);
  // A stop is said once, in the banner above.
  if (control.stopped) return null;
  const seen = new Map<string, string[]>();
  for (const b of BUTTONS) {
    const why = c.remoteControl.blocked(b.kind);
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
