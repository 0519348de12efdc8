import type { RequestView } from '../../../protocol/src/pipeline.ts';
import { timeOfDay } from '../format.ts';

/** "4 min ago", "just now", "2 h ago". */
export function agoText(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

export interface ReachabilityText {
  text: string;
  tone: 'good' | 'warn' | 'bad' | 'neutral';
  /** Longer explanation (the offer and the active request). */
  detail: string | null;
}

/** What the console says about the customer's phone: online, offline since, being woken, or not wakeable. */
export function reachabilityText(r: RequestView, now: number): ReachabilityText | null {
  const x = r.reachability;
  if (!x) return null;
  const first = r.customerName.split(' ')[0] ?? r.customerName;
  if (x.online) return { text: 'Phone online', tone: 'good', detail: null };
  const seen = x.lastSeenAt ? `last seen ${agoText(x.lastSeenAt, now)}` : 'not seen since the request';
  if (x.wokenAt && r.state === 'assigned')
    return {
      text: `Waking ${first}’s phone…`,
      tone: 'warn',
      detail: `${first} left the app; a notification asks them to open it (${seen}). Call when the phone shows online.`,
    };
  return {
    text: `Phone offline — ${seen}`,
    tone: x.wakeable ? 'warn' : 'bad',
    detail: x.wakeable
      ? `${first} left the app. Accepting sends a notification to wake the phone.`
      : `${first}’s phone cannot be woken (no notifications): it answers only while the app is open.`,
  };
}

export function ReachabilityBadge({
  request,
  now,
  detail = false,
}: {
  request: RequestView;
  now: number;
  detail?: boolean;
}) {
  const t = reachabilityText(request, now);
  if (!t) return null;
  return (
    <span
      className={`reachability tone-text-${t.tone}`}
      data-testid="reachability"
      data-online={String(request.reachability?.online)}
    >
      {t.text}
      {detail && t.detail && <span className="muted small reachability-detail"> · {t.detail}</span>}
    </span>
  );
}

/** The verification the request carries expires before its booked slot ends: what the agent must do. */
export function slotVerificationWarning(r: RequestView): string | null {
  if (r.callback.mode !== 'slot' || !r.verificationExpiresAt) return null;
  const expires = Date.parse(r.verificationExpiresAt);
  if (expires >= Date.parse(r.callback.slotEnd)) return null;
  const when = expires <= Date.parse(r.callback.slotStart) ? 'before' : 'during';
  return `Verification expires at ${timeOfDay(r.verificationExpiresAt)}, ${when} the booked slot (${timeOfDay(r.callback.slotStart)}–${timeOfDay(r.callback.slotEnd)}): ask for a fresh verification on the call.`;
}

export function SlotVerificationWarning({ request }: { request: RequestView }) {
  const text = slotVerificationWarning(request);
  return text ? (
    <p className="small tone-text-warn" data-testid="slot-verification-warning">
      {text}
    </p>
  ) : null;
}
