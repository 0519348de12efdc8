import { Username, type StaffRole } from '../../../protocol/src/index.ts';

const RANK: Record<StaffRole, number> = { agent: 1, supervisor: 2, admin: 3 };

/** The role of a user's groups: the highest one the map gives any of them; undefined when none matches. */
export function roleOfGroups(
  groups: readonly string[],
  map: Readonly<Record<string, StaffRole>>,
): StaffRole | undefined {
  let best: StaffRole | undefined;
  for (const g of groups) {
    const role = Object.hasOwn(map, g) ? map[g] : undefined;
    if (role && (!best || RANK[role] > RANK[best])) best = role;
  }
  return best;
}

/**
 * The account name in a claim: lower-cased; with `domain`, "name@domain" gives "name" and
 * any other domain nothing. Undefined unless it is a valid Verified Desk username.
 */
export function usernameFromClaim(v: unknown, domain: string | undefined): string | undefined {
  if (typeof v !== 'string') return undefined;
  let name = v.trim().toLowerCase();
  const at = name.lastIndexOf('@');
  if (domain !== undefined && at >= 0) {
    if (name.slice(at + 1) !== domain.toLowerCase()) return undefined;
    name = name.slice(0, at);
  }
  return Username.safeParse(name).success ? name : undefined;
}

/**
 * A native app's loopback redirect (RFC 8252 section 7.3): http on 127.0.0.1 or [::1] with
 * a port, no credentials, no query or fragment ("localhost" is not accepted: it may resolve
 * elsewhere).
 */
export function isLoopbackRedirect(uri: string): boolean {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return false;
  }
  return (
    u.protocol === 'http:' &&
    (u.hostname === '127.0.0.1' || u.hostname === '[::1]') &&
    u.port !== '' &&
    u.username === '' &&
    u.password === '' &&
    u.search === '' &&
    u.hash === ''
  );
}
