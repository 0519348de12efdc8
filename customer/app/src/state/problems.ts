import { weakPinReason } from '../../../../protocol/src/identity.ts';
import { AuthorityError } from '../../../sdk/index.ts';

/** What the customer reads when the phone could not reach the bank (never a raw "Failed to fetch"). */
export const OFFLINE_MESSAGE =
  'You are offline, so this was not sent. Check your Wi-Fi or mobile data: we will try again as soon as you are back online.';

/** The phone could not reach the authority at all (no answer, not a refusal). */
export function isUnreachable(e: unknown): boolean {
  if (e instanceof AuthorityError) return e.status === 0;
  if (e instanceof TypeError && /fetch|network|load failed/i.test(e.message)) return true;
  return typeof navigator !== 'undefined' && navigator.onLine === false && e instanceof Error;
}

/** Seconds to wait before trying again that the authority gave with a refusal (wrong PINs, throttling), or null. */
export function retryAfterOf(e: unknown): number | null {
  if (!(e instanceof AuthorityError)) return null;
  const d = e.details as { retryAfterSeconds?: unknown } | undefined;
  const s = d?.retryAfterSeconds;
  return typeof s === 'number' && s > 0 ? s : null;
}

/** Why a PIN being chosen is refused before it is sent (the authority refuses it too). */
export function newPinProblem(pin: string, repeat: string): string | null {
  if (!/^[0-9]{4,12}$/.test(pin)) return 'A PIN is 4 to 12 digits.';
  const weak = weakPinReason(pin);
  if (weak) return `This PIN is too easy to guess (${weak}). Choose another.`;
  if (pin !== repeat) return 'The two PINs are different.';
  return null;
}
