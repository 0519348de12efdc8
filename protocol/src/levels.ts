import type { AssuranceLevel } from './common.ts';
import type { FactorKind } from './identity.ts';

/**
 * Assurance level from the factors of one authentication (DESIGN.md):
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
