import { Kbd } from '../components/ui.tsx';
import { useConsole, useSoftphone, useStore } from '../hooks.ts';
import { shortcutFor } from '../shortcuts.ts';

/** Call, hold, mute, hang up: wired to the Softphone; says plainly when there is none. */
export function CallControls() {
  const c = useConsole();
  const phone = useSoftphone();
  const { busy, message } = useStore(c.calls);
  const inCall = phone.line === 'connected' || phone.line === 'held';
  const hangUp = shortcutFor('hangUp');
  const hold = shortcutFor('hold');
  const mute = shortcutFor('mute');
  return (
    <div className="call-controls" role="group" aria-label="Call controls">
      <button
        type="button"
        className="button"
        disabled={!phone.present || phone.line !== 'ready' || !!busy}
        onClick={() => void c.calls.callCustomer()}
      >
        {busy === 'calling' ? 'Calling…' : 'Call customer'}
      </button>
      <button
        type="button"
        className="button"
        aria-pressed={phone.line === 'held'}
        disabled={!inCall || !!busy}
        onClick={() => void c.calls.toggleHold()}
        aria-keyshortcuts={hold.aria}
      >
        {phone.line === 'held' ? 'Resume' : 'Hold'} <Kbd>{hold.label}</Kbd>
      </button>
      <button
        type="button"
        className="button"
        aria-pressed={phone.muted}
        disabled={!inCall}
        onClick={() => c.calls.toggleMute()}
        aria-keyshortcuts={mute.aria}
      >
        {phone.muted ? 'Unmute' : 'Mute'} <Kbd>{mute.label}</Kbd>
      </button>
      <button
        type="button"
        className="button danger"
        disabled={!inCall && phone.line !== 'calling'}
        onClick={() => void c.calls.hangUp()}
        aria-keyshortcuts={hangUp.aria}
      >
        Hang up <Kbd>{hangUp.label}</Kbd>
      </button>
      <span className="call-status" role="status" data-testid="call-status">
        {message ??
          (phone.present ? lineText[phone.line] : 'No softphone connected: call controls are inactive.')}
      </span>
    </div>
  );
}

const lineText = {
  disconnected: 'Softphone disconnected',
  connecting: 'Softphone connecting…',
  ready: 'Ready to call',
  calling: 'Ringing the customer…',
  connected: 'On the call',
  held: 'Customer on hold',
  ending: 'Ending the call…',
  failed: 'The softphone failed',
} as const;
