import { useEffect, useRef, useState } from 'react';
import type { CustomerPanel } from '../../../protocol/src/agent-desk.ts';
import { errorText } from '../bridge/types.ts';
import { Alert } from '../components/ui.tsx';
import { internationalNumber, timeOfDay } from '../format.ts';
import { useConsole } from '../hooks.ts';

/**
 * A caller from the phone network who has the app: the holder texts them a single-use link;
 * they verify in the app (fingerprint or PIN) and the panel turns verified by itself (the
 * request's level changes). Shown for phone requests not yet at the level they need, except a
 * caller the agent identified (their number is not the customer's: the questions verify them).
 */
export function VerificationLink({ panel }: { panel: CustomerPanel }) {
  const c = useConsole();
  const requestId = panel.request.requestId;
  const [sending, setSending] = useState(false);
  const [sent, setSent] = useState<{ sentTo: string; at: string; expiresAt: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const current = useRef(requestId);
  useEffect(() => {
    current.current = requestId;
    setSent(null);
    setProblem(null);
  }, [requestId]);

  const v = panel.verification;
  const phone = panel.request.phone;
  if (!phone || phone.unknownCaller || (v.level >= v.requiredLevel && !sent)) return null;
  // The link goes to the number calling and must be the customer's: a caller the agent identified
  // by what they said calls from another (or a withheld) number, and the real customer could
  // confirm someone else's call. The questions verify them instead.
  if (phone.identifiedByAgent)
    return (
      <p className="muted small" data-testid="identified-caller-hint">
        Not calling from their registered number, so no link can be texted: verify them with the security
        questions.
      </p>
    );
  const holder = panel.request.state === 'assigned' && panel.request.fence !== null;
  const verified = v.level >= v.requiredLevel;
  // A link the authority texted as the call queued (or one sent from another screen).
  const texted = !sent && phone.linkTextedAt && phone.caller ? phone.linkTextedAt : null;

  const send = async () => {
    if (panel.request.fence === null) return;
    setSending(true);
    setProblem(null);
    try {
      const r = await c.bridge.invoke('panel.sendVerificationLink', {
        requestId,
        fence: panel.request.fence,
      });
      if (current.current !== requestId) return;
      setSent({ ...r, at: new Date().toISOString() });
    } catch (e) {
      if (current.current === requestId) setProblem(errorText(e));
    } finally {
      setSending(false);
    }
  };

  return (
    <div className="panel-section" role="group" aria-labelledby="verification-link-title">
      <h3 id="verification-link-title">Verify in the app</h3>
      {sent && (
        <p className="small" role="status" data-testid="verification-link-state">
          {verified
            ? `Verified in the app at level ${v.level} (link sent to ${sent.sentTo}).`
            : `Link sent to ${sent.sentTo} at ${timeOfDay(sent.at)}: waiting for the customer to verify in the app (it works once, until ${timeOfDay(sent.expiresAt)}).`}
        </p>
      )}
      {texted && !verified && (
        <p className="small" role="status" data-testid="verification-link-texted">
          A link was texted to {internationalNumber(phone.caller!)} at {timeOfDay(texted)}: waiting for the
          customer to verify in the app. Send a new one if it did not arrive.
        </p>
      )}
      {problem && <Alert>{problem}</Alert>}
      {!verified && (
        <>
          <button type="button" className="button" disabled={!holder || sending} onClick={() => void send()}>
            {sending ? 'Sending…' : sent ? 'Send a new link' : 'Text a verification link'}
          </button>
          {!holder && <p className="muted small">Accept the request to send the link.</p>}
        </>
      )}
    </div>
  );
}
