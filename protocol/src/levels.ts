import type { AssuranceLevel } from './common.ts';
import type { FactorKind } from './identity.ts';

/** The factors a customer sets up on a device (the device key itself is set up by enrolment). */
export type SetupFactor = 'pin' | 'biometric' | 'photo';

/**
 * Adding or replacing a factor needs at least the level that factor grants: a PIN or the
 * enrolment photo (the reference a verification photo is compared with) grants 2, a
 * biometric 3. The only other way is the enrolment's own authentication (opened with the
 * one-time code) within SETUP_WINDOW_MS of enrolment. So the device key alone (level 1)
 * can never add a factor and climb by itself.
 */
export const FACTOR_SETUP_LEVEL: Readonly<Record<SetupFactor, AssuranceLevel>> = Object.freeze({
  pin: 2,
  biometric: 3,
  photo: 2,
});

/** How long after enrolment the enrolment's authentication may set up factors. */
export const SETUP_WINDOW_MS = 30 * 60_000;

/**
 * Assurance level from the factors of one authentication (docs/architecture.md, Identity):
 * 0 none, 1 device (or knowledge answers alone), 2 device + PIN, photo or knowledge,
 * 3 device + biometric.
 */
export function assuranceLevel(factors: Iterable<FactorKind>): AssuranceLevel {
  const set = new Set(factors);
  if (set.has('device')) {
    if (set.has('biometric')) return 3;
    if (set.has('pin') || set.has('photo') || set.has('knowledge')) return 2;
    return 1;
  }
  return set.has('knowledge') ? 1 : 0;
}
