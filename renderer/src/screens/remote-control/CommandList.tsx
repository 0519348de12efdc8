import { useState } from 'react';
import type { CommandView } from '../../../../protocol/src/device-control.ts';
import { Badge } from '../../components/ui.tsx';
import { timeOfDay, type Tone } from '../../format.ts';
import { useConsole, useStore } from '../../hooks.ts';
import { menuItems, type MenuItemDraft } from '../../state/command-drafts.ts';
import { commandSummary, isOpen, kindWords } from '../../state/remote-control.ts';
import { CommandResult } from './CommandResult.tsx';
import { MenuItemsEditor } from './MenuItemsEditor.tsx';

const STATE_TEXT: Record<CommandView['state'], { text: string; tone: Tone }> = {
  pending: { text: 'Sent', tone: 'neutral' },
  shown: { text: 'On the device', tone: 'info' },
  done: { text: 'Done', tone: 'good' },
  declined: { text: 'Declined', tone: 'warn' },
  failed: { text: 'Failed', tone: 'bad' },
  expired: { text: 'Expired', tone: 'warn' },
  cancelled: { text: 'Cancelled', tone: 'neutral' },
};

const REASON_TEXT: Record<string, string> = {
  control_stopped: 'the customer stopped remote control',
  transferred: 'the request was transferred',
  superseded: 'control was ended',
  cancelled: 'withdrawn by the agent',
  request_ended: 'the request ended',
  expired: 'not answered in time',
};

/** The commands sent for the request in hand, newest first, each with its state and result. */
export function CommandList() {
  const c = useConsole();
  const { commands, loading } = useStore(c.remoteControl);
  if (commands.length === 0)
    return <p className="muted small">{loading ? 'Loading…' : 'Nothing sent to the device yet.'}</p>;
  return (
    <ol className="commands" aria-label="Commands sent to the device">
      {[...commands].reverse().map((cmd) => (
        <CommandItem key={cmd.commandId} cmd={cmd} />
      ))}
    </ol>
  );
}

function CommandItem({ cmd }: { cmd: CommandView }) {
  const c = useConsole();
  const { busy, control } = useStore(c.remoteControl);
  const [editing, setEditing] = useState<MenuItemDraft[] | null>(null);
  const st = STATE_TEXT[cmd.state];
  const open = isOpen(cmd);
  return (
    <li className={`command state-${cmd.state}`} data-kind={cmd.command.kind} data-state={cmd.state}>
      <div className="command-head">
        <span className="command-kind">{kindWords(cmd.command.kind)}</span>
        <Badge tone={st.tone}>{st.text}</Badge>
        <span className="muted small command-times">
          sent {timeOfDay(cmd.createdAt)}
          {cmd.shownAt ? ` · shown ${timeOfDay(cmd.shownAt)}` : ''}
          {cmd.finishedAt ? ` · ${st.text.toLowerCase()} ${timeOfDay(cmd.finishedAt)}` : ''}
          {cmd.revision > 1 ? ` · revision ${cmd.revision}` : ''}
        </span>
      </div>
      <p className="command-summary">{commandSummary(cmd.command)}</p>
      {cmd.state === 'done' && cmd.result && <CommandResult cmd={cmd} />}
      {(cmd.state === 'failed' || cmd.state === 'cancelled' || cmd.state === 'expired') && cmd.reason && (
        <p className="muted small">Why: {REASON_TEXT[cmd.reason] ?? cmd.reason}</p>
      )}
      {cmd.state === 'declined' && <p className="small tone-text-warn">The customer declined.</p>}
      {open && !control.stopped && (
        <div className="actions">
          {cmd.command.kind === 'menu' && editing === null && (
            <button
              type="button"
              className="button"
              onClick={() => setEditing(cmd.command.kind === 'menu' ? [...cmd.command.payload.items] : [])}
            >
              Edit menu live
            </button>
          )}
          <button
            type="button"
            className="button"
            disabled={busy === cmd.commandId}
            onClick={() => void c.remoteControl.cancel(cmd.commandId)}
          >
            Withdraw
          </button>
        </div>
      )}
      {open && editing && cmd.command.kind === 'menu' && (
        <form
          className="composer"
          aria-label="Edit the live menu"
          onSubmit={(e) => {
            e.preventDefault();
            const m = menuItems(editing);
            if (!m.ok || cmd.command.kind !== 'menu') return;
            void c.remoteControl
              .updateMenu(cmd.commandId, cmd.command.payload.title, m.value)
              .then(() => setEditing(null));
          }}
        >
          <MenuItemsEditor items={editing} onChange={setEditing} />
          <div className="actions">
            <button type="submit" className="button primary" disabled={busy === cmd.commandId}>
              Update menu on the device
            </button>
            <button type="button" className="button" onClick={() => setEditing(null)}>
              Discard changes
            </button>
          </div>
        </form>
      )}
    </li>
  );
}
