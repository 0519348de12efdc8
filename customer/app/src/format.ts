import type { SecurityNoticeKind } from '../../../protocol/src/index.ts';
/** Display helpers: times in the phone's locale, waits in plain words. */

export const clock = (d: Date | string): string =>
  new Date(d).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const hourMinute = (d: Date | string): string =>
  new Date(d).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

export function waitText(seconds: number | null): string {
  if (seconds === null) return 'No agent is on duty right now';
  if (seconds < 60) return 'Less than a minute';
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return `About ${minutes} min`;
  return `About ${Math.round(minutes / 60)} h`;
}

export function positionText(position: number | null): string {
  if (position === null) return '';
  if (position === 1) return 'You are next';
  const suffix =
    position % 100 >= 11 && position % 100 <= 13
      ? 'th'
      : (({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[position % 10] ?? 'th');
  return `You are ${position}${suffix} in line`;
}

export const LEVEL_TEXT: Record<number, string> = {
  0: 'Not verified',
  1: 'Verified: this phone',
  2: 'Verified: this phone and your PIN or photo',
  3: 'Verified: this phone and your fingerprint',
};

/** Each factor as the "Verified: ..." line names it. */
const VERIFIED_BY: Record<string, string> = {
  device: 'this phone',
  pin: 'your PIN',
  biometric: 'your fingerprint',
  photo: 'your photo',
  knowledge: 'your security answers',
};

/**
 * How this phone is verified now, from the factors really used ("Verified: this phone and
 * your PIN"), never the level's general meaning ("your PIN or photo"). Without the factors
 * (an authority that does not send them) the level's line.
 */
export function verifiedText(a: { level: number; factors?: readonly { kind: string }[] } | null): string {
  if (!a || a.level === 0) return LEVEL_TEXT[0]!;
  const kinds = [...new Set((a.factors ?? []).map((f) => f.kind))];
  if (!kinds.length) return LEVEL_TEXT[a.level] ?? LEVEL_TEXT[0]!;
  const words = kinds.map((k) => VERIFIED_BY[k] ?? k);
  return `Verified: ${words.length === 1 ? words[0] : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`}`;
}

export const FACTOR_TEXT: Record<string, string> = {
  device: 'This phone’s key',
  pin: 'PIN',
  biometric: 'Fingerprint',
  photo: 'Photo',
  knowledge: 'Security questions',
};

/** A change to how the customer is verified, made on another of their devices. */
export const NOTICE_TEXT: Record<SecurityNoticeKind, string> = {
  'device.enrolled': 'A new phone was set up for your account',
  'pin.set': 'Your PIN was set or changed',
  'biometric.added': 'A fingerprint or face was added',
  'photo.enrolled': 'Your reference photo was replaced',
};

export const LEVEL_NEEDS: Record<number, string> = {
  0: 'No check',
  1: 'This phone',
  2: 'PIN',
  3: 'Fingerprint',
};

export const duration = (seconds: number): string =>
  `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
