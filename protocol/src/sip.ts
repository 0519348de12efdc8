import { z } from 'zod';
import { IsoTime } from './common.ts';

/** SIP user names: "a-<staff id>" for agents, "d-<device id>" for devices (address of record user part). */
export const sipUserForAgent = (staffId: string): string => `a-${staffId}`;
export const sipUserForDevice = (deviceId: string): string => `d-${deviceId}`;

/** WebSocket path of the embedded SIP edge (RFC 7118, subprotocol "sip"). */
export const SIP_WS_PATH = '/sip';

/** Ephemeral SIP credentials (auth_ephemeral scheme) and where to register. */
export const SipCredentials = z.strictObject({
  username: z.string().max(200).describe('SIP digest username: "<expiry unix seconds>:<user>".'),
  password: z
    .string()
    .max(200)
    .describe('SIP digest password: base64 HMAC-SHA1 of the username with the shared secret.'),
  user: z.string().max(100).describe('SIP user: "a-<staffId>" for an agent, "d-<deviceId>" for a device.'),
  domain: z.string().max(200).describe('SIP domain to register in.'),
  aor: z.string().max(300).describe('Address of record, "sip:<user>@<domain>".'),
  /** The SIP edge's WebSocket URL when the authority embeds it; null when a separate SIP server (Kamailio) is configured. */
  wsUrl: z
    .string()
    .max(2048)
    .nullable()
    .describe('The SIP-over-WebSocket URL to register with (subprotocol "sip").'),
  expiresAt: IsoTime.describe('When the credentials stop working: fetch new ones before.'),
});
export type SipCredentials = z.infer<typeof SipCredentials>;
