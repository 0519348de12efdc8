import type { VerificationState } from '../../protocol/src/agent-desk.ts';
import type { FactorKind } from '../../protocol/src/identity.ts';
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import type { PhoneCallView, Presence } from '../../protocol/src/pipeline.ts';

/** 42 -> "0:42", 725 -> "12:05", 3723 -> "1:02:03". */
export function clockDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A call or hold timer: "02:05" (mm:ss), "1:02:05" past the hour; never negative. */
export function timerText(sinceMs: number, now: number): string {
  const s = Math.max(0, Math.floor((now - sinceMs) / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The same time for a screen reader: "2 minutes 5 seconds", "1 hour 2 minutes". */
export function spokenDuration(sinceMs: number, now: number): string {
  const s = Math.max(0, Math.floor((now - sinceMs) / 1000));
  const unit = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = h
    ? [unit(h, 'hour'), unit(m, 'minute')]
    : m
      ? [unit(m, 'minute'), unit(s % 60, 'second')]
      : [unit(s, 'second')];
  return parts.join(' ');
}

/** Seconds between an ISO time and now (never negative). */
export const secondsSince = (iso: string, now: number): number => Math.max(0, (now - Date.parse(iso)) / 1000);

/** "just now", "4 min ago", "3 h ago", "2 days ago". */
export function ago(iso: string, now: number): string {
  const s = secondsSince(iso, now);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  const d = Math.round(s / 86_400);
  return `${d} day${d === 1 ? '' : 's'} ago`;
}

/** "1 chat", "3 chats". */
export const chatCount = (n: number): string => `${n} ${n === 1 ? 'chat' : 'chats'}`;

/** Times of day to the minute: seconds are noise to an agent (durations keep theirs). */
const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});
const dateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });

export const timeOfDay = (iso: string): string => timeFormat.format(new Date(iso));
export const dateTime = (iso: string): string => dateTimeFormat.format(new Date(iso));
export const dateOnly = (iso: string): string => dateFormat.format(new Date(iso));

/** Never a bare yes/no. */
export const VERIFICATION_WORDS: Record<VerificationState, string> = {
  verified: 'Verified',
  partially_verified: 'Partially verified',
  not_verified: 'Not verified',
  failed: 'Failed',
};

export type Tone = 'neutral' | 'good' | 'warn' | 'bad' | 'info';

export const VERIFICATION_TONE: Record<VerificationState, Tone> = {
  verified: 'good',
  partially_verified: 'warn',
  not_verified: 'neutral',
  failed: 'bad',
};

/** What each assurance level means (docs/architecture.md, Identity). */
export const LEVEL_TEXT: Record<number, string> = {
  0: 'No verification',
  1: 'Device key',
  2: 'Device key + PIN or photo',
  3: 'Device key + biometric',
};

export const FACTOR_TEXT: Record<FactorKind, string> = {
  device: 'Device key',
  pin: 'PIN',
  biometric: 'Fingerprint or face',
  photo: 'Photo',
  knowledge: 'Knowledge questions',
};

/** The level line of the panel head: "Level 2 · this request needs 1" (never "Level 3 of 2 required"). */
export const levelLine = (level: number, required: number): string =>
  `Level ${level} · this request needs ${required}`;

/**
 * How this customer was verified, from the factors they really used ("Device key + PIN"),
 * not the level's general meaning ("Device key + PIN or photo"). Each kind once, in the
 * order first used.
 */
export function verifiedWith(factors: readonly { kind: FactorKind }[]): string {
  const kinds = [...new Set(factors.map((f) => f.kind))];
  return kinds.length ? kinds.map((k) => FACTOR_TEXT[k]).join(' + ') : LEVEL_TEXT[0]!;
}

/** The idle card's line for the presence "missed": an offer that timed out, or one the agent passed on. */
export const missedLine = (declined: boolean): string =>
  declined
    ? 'You passed on an offer. Go available again when you are ready.'
    : 'You missed an offer. Go available again when you are ready.';

export const PRESENCE_TEXT: Record<Presence, string> = {
  available: 'Available',
  busy: 'Busy',
  wrap_up: 'Wrap-up',
  break: 'On break',
  missed: 'Missed an offer',
  offline: 'Offline',
};

export const PRESENCE_TONE: Record<Presence, Tone> = {
  available: 'good',
  busy: 'info',
  wrap_up: 'info',
  break: 'neutral',
  missed: 'warn',
  offline: 'neutral',
};

export const REQUEST_STATE_TEXT = {
  waiting: 'Waiting',
  offered: 'Offered',
  assigned: 'With an agent',
  scheduled: 'Callback booked',
  completed: 'Completed',
  abandoned: 'Left',
} as const;

/** The last characters of a device id: enough to tell devices apart, no more. */
export const shortId = (id: string): string => `…${id.slice(-8)}`;

/** A secure field's value in words; the shapes come from the customer's account record. */
export function fieldValue(value: unknown): string[] {
  if (value === null || value === undefined) return ['—'];
  if (typeof value === 'string' || typeof value === 'number') return [String(value)];
  if (Array.isArray(value)) return value.length ? value.flatMap((v) => fieldValue(v).join(' · ')) : ['None'];
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.amount === 'number' && typeof o.currency === 'string') {
      try {
        return [
          new Intl.NumberFormat(undefined, { style: 'currency', currency: o.currency }).format(o.amount),
        ];
      } catch {
        return [`${o.amount} ${o.currency}`];
      }
    }
    if (typeof o.id === 'string' && typeof o.item === 'string')
      return [[o.id, o.item, typeof o.status === 'string' ? o.status : null].filter(Boolean).join(' · ')];
    return [
      Object.entries(o)
        .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(', '),
    ];
  }
  return [String(value)];
}

/**
 * The footer's link: when the page's own link to the console host is down, say so
 * (the authority may be fine); otherwise main's link to the authority.
 */
export function statusBarLink(
  link: string,
  authority: string | null,
): { label: 'Console host' | 'Authority'; text: string } {
  if (link !== 'open') return { label: 'Console host', text: 'unreachable' };
  if (authority === null) return { label: 'Authority', text: '…' };
  return { label: 'Authority', text: authority };
}

/**
 * History's wrap-up column: a request handed off (transferred, taken over, reassigned:
 * never completed on this console) owed no wrap-up here; a completed one without one is flagged.
 */
export function historyWrapUp(entry: {
  completedAt: string | null;
  wrapUpState: 'none' | 'pending' | 'sent';
}): { text: string; tone: 'muted' | 'warn' | 'good' } {
  if (entry.wrapUpState === 'sent') return { text: 'Sent', tone: 'good' };
  if (entry.wrapUpState === 'pending') return { text: 'Pending', tone: 'warn' };
  // Not completed on this console: handed off, or still in hand (then it is owed at completion).
  if (!entry.completedAt) return { text: 'Not owed', tone: 'muted' };
  return { text: 'Not recorded', tone: 'warn' };
}

/** An E.164 number as people write it internationally ("+44 7911 123456"); unreadable ones as given. */
export function internationalNumber(e164: string): string {
  return parsePhoneNumberFromString(e164)?.formatInternational() ?? e164;
}

/**
 * The advice under a phone caller's "Phoned in from …" line: while the request is at level 0
 * the caller ID is all there is, so the agent verifies with the security questions; once the
 * customer has verified (the texted link on their phone, or the questions) the line says so
 * and that the caller ID played no part: the voice itself is still the phone network's.
 */
export function phonedInAdvice(level: number): string {
  return level > 0
    ? `Verified at level ${level} since the call came in (the verification below), not by the caller ID. The voice is still the phone network’s.`
    : 'A caller ID can be forged: verify the caller with the security questions before anything secure.';
}

/**
 * The panel's voice line for a caller from the phone network (issue 14): the channel said
 * honestly ("voice: phone network, caller ID matches") and weaker than a call bound to the
 * verified device. The caller ID recognises, never verifies: "not verified" in every case.
 */
export function phoneVoiceLine(phone: PhoneCallView, customerName: string): string {
  const from = phone.caller ? internationalNumber(phone.caller) : null;
  const [matches, who] =
    from === null
      ? [
          'caller ID withheld',
          phone.identifiedByAgent ? `the caller says they are ${customerName}` : 'unknown caller',
        ]
      : phone.unknownCaller
        ? ['caller ID matches no customer', 'unknown caller']
        : phone.identifiedByAgent
          ? [
              'caller ID does not match',
              `not a number registered to ${customerName}; the caller says they are ${customerName}`,
            ]
          : ['caller ID matches', `number registered to ${customerName}`];
  return (
    `Voice: phone network, ${matches}. Phoned in from ${from ?? 'a withheld number'} — ${who} (not verified).` +
    ' Weaker than a call bound to the verified device: a caller ID can be forged.'
  );
}
