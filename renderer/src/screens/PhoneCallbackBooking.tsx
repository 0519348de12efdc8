import { useEffect, useRef, useState } from 'react';
import type { CustomerPanel } from '../../../protocol/src/agent-desk.ts';
import { errorText } from '../bridge/types.ts';
import { Alert } from '../components/ui.tsx';
import { useConsole } from '../hooks.ts';

/**
 * "Call them back later" for the request the agent holds: a callback to the customer's
 * registered phone number through the phone network (for a customer without the app, or
 * one who has to hang up now). It becomes a voice request of its own in the same option's
 * queue, offered to the next free agent, who presses "Call +44 …". The number field is only
 * needed when the customer has several registered numbers.
 */
export function PhoneCallbackBooking({ panel }: { panel: CustomerPanel }) {
  const c = useConsole();
  const requestId = panel.request.requestId;
  const [open, setOpen] = useState(false);
  const [number, setNumber] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [booked, setBooked] = useState<string | null>(null);
  const current = useRef(requestId);
  useEffect(() => {
    current.current = requestId;
    setOpen(false);
    setNumber('');
    setProblem(null);
    setBooked(null);
  }, [requestId]);

  const r = panel.request;
  // Only the holder books, and only for somebody known (an unknown caller is identified first).
  if (r.state !== 'assigned' || r.fence === null || r.phone?.unknownCaller || r.phoneCallback) return null;

  const book = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const out = await c.bridge.invoke('panel.bookPhoneCallback', {
        customerId: r.customerId,
        optionId: r.optionId,
        ...(number.trim() ? { number: number.trim() } : {}),
      });
      if (current.current === requestId) setBooked(out.number);
    } catch (e) {
      if (current.current === requestId) setProblem(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="panel-section" role="group" aria-labelledby="phone-callback-title">
      <h3 id="phone-callback-title">Call back later</h3>
      {booked ? (
        <p className="small" role="status" data-testid="phone-callback-booked">
          Callback booked to {booked}: the next free agent calls them.
        </p>
      ) : open ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void book();
          }}
        >
          <label className="field">
            <span>Number (only if they have several registered)</span>
            <input
              className="input"
              value={number}
              onChange={(e) => setNumber(e.target.value)}
              autoComplete="off"
              inputMode="tel"
            />
          </label>
          <button type="submit" className="button" disabled={busy}>
            {busy ? 'Booking…' : 'Book the callback'}
          </button>
        </form>
      ) : (
        <button type="button" className="button" onClick={() => setOpen(true)}>
          Book a phone callback
        </button>
      )}
      {problem && <Alert>{problem}</Alert>}
    </div>
  );
}
