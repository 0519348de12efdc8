import { z } from 'zod';
import { IsoTime } from './common.ts';

/** SIP user names: "a-<staff id>" for agents, "d-<device id>" for devices (address of record user part). */
export const sipUserForAgent = (staffId: string): string => `a-${staffId}`;
export const sipUserForDevice = (deviceId: string): string => `d-${deviceId}`;

/** WebSocket path of the embedded SIP edge (RFC 7118, subprotocol "sip"). */
export const SIP_WS_PATH = '/sip';

/** Ephemeral SIP credentials (auth_ephemeral scheme) and where to register. */
export const SipCredentials = z.strictObject({
  username: z.string().max(200),
  password: z.string().max(200),
  user: z.string().max(100),
  domain: z.string().max(200),
  aor: z.string().max(300),
  /** The SIP edge's WebSocket URL when the authority embeds it; null when a separate SIP server (Kamailio) is configured. */
  wsUrl: z.string().max(2048).nullable(),
  expiresAt: IsoTime,
});
export type SipCredentials = z.infer<typeof SipCredentials>;
