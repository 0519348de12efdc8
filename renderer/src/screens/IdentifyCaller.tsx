import { useEffect, useRef, useState } from 'react';
import type { CustomerPanel } from '../../../protocol/src/agent-desk.ts';
import { errorText } from '../bridge/types.ts';
import { Alert } from '../components/ui.tsx';
import { useConsole } from '../hooks.ts';

/** What the agent typed reads as a phone number (digits, spaces, "+", brackets, dashes), else a customer reference. */
const looksLikeNumber = (text: string) => /^\+?[\d\s().-]{6,}$/.test(text);

/**
 * A caller from the phone network nobody recognised (withheld, or a number no customer
 * has): the holder asks who is calling and types the registered phone number or customer
 * reference the caller gives. The request becomes that customer's, still not verified: the
 * panel then offers that customer's security questions.
 */
export function IdentifyCaller({ panel }: { panel: CustomerPanel }) {
  const c = useConsole();
  const requestId = panel.request.requestId;
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const current = useRef(requestId);
  useEffect(() => {
    current.current = requestId;
    setText('');
    setProblem(null);
  }, [requestId]);

  if (!panel.request.phone?.unknownCaller) return null;
  const holder = panel.request.state === 'assigned' && panel.request.fence !== null;

  const identify = async () => {
    const said = text.trim();
    if (panel.request.fence === null || !said) return;
    setBusy(true);
    setProblem(null);
    try {
      await c.bridge.invoke('panel.identifyCaller', {
        requestId,
        fence: panel.request.fence,
        ...(looksLikeNumber(said) ? { number: said } : { reference: said }),
      });
    } catch (e) {
      if (current.current === requestId) setProblem(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="panel-section" role="group" aria-labelledby="identify-caller-title">
      <h3 id="identify-caller-title">Who is calling?</h3>
      <p className="small">
        Nobody is registered with this number. Ask the caller for their registered phone number or customer
        reference; then ask their security questions.
      </p>
      {problem && <Alert>{problem}</Alert>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void identify();
        }}
      >
        <label>
          Registered phone number or customer reference
          <input
            value={text}
            maxLength={100}
            disabled={!holder || busy}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <button type="submit" className="button" disabled={!holder || busy || !text.trim()}>
          {busy ? 'Finding…' : 'Find the customer'}
        </button>
      </form>
      {!holder && <p className="muted small">Accept the request to identify the caller.</p>}
    </div>
  );
}
