import type { IceSettings } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Config } from '../config.ts';
import { ephemeralCredentials } from '../sip/credentials.ts';

/**
 * The ICE settings a console or device gets with its SIP credentials. TURN servers get
 * credentials of the TURN REST API that coturn checks with `use-auth-secret`: username
 * "<expiry>:<user>", password base64(HMAC-SHA1(turn secret, username)) — the scheme of
 * the SIP credentials, with coturn's own secret. Only logged-in staff and authenticated
 * devices reach this (the route's auth), so only they can relay through the TURN server.
 */
export function iceSettings(
  config: Pick<Config, 'turnUrls' | 'turnSecret' | 'turnCredentialSeconds' | 'iceTransportPolicy'>,
  user: string,
  nowMs: number,
): IceSettings {
  const turn = config.turnUrls.filter((u) => u.startsWith('turn'));
  const stun = config.turnUrls.filter((u) => u.startsWith('stun'));
  const servers: IceSettings['servers'] = [];
  let expiresAt: string | null = null;
  if (turn.length > 0 && config.turnSecret) {
    const c = ephemeralCredentials(config.turnSecret, user, config.turnCredentialSeconds, nowMs);
    servers.push({ urls: turn, username: c.username, credential: c.password });
    expiresAt = iso(c.expiresAt);
  }
  if (stun.length > 0) servers.push({ urls: stun });
  return { servers, transportPolicy: config.iceTransportPolicy, expiresAt };
}
