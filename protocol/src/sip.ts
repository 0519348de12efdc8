import { z } from 'zod';
import { IsoTime } from './common.ts';

/** SIP user names: "a-<staff id>" for agents, "d-<device id>" for devices (address of record user part). */
export const sipUserForAgent = (staffId: string): string => `a-${staffId}`;
export const sipUserForDevice = (deviceId: string): string => `d-${deviceId}`;

/** A SIP Call-ID as a carrier sends it: the characters of RFC 3261's `word`, minus quoting and escapes. */
export const SipCallId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9@.:_+~!%*()<>[\]{}?/'`-]+$/, 'a SIP Call-ID');

/** A SIP user as the SIP server authenticated it ("a-<staff id>", "d-<device id>"). */
export const SipUserName = z.string().regex(/^[-A-Za-z0-9_]{1,100}$/, 'a SIP user');

/** WebSocket path of the embedded SIP edge (RFC 7118, subprotocol "sip"). */
export const SIP_WS_PATH = '/sip';

/** One ICE server, as RTCPeerConnection takes it (RTCIceServer). */
export const IceServer = z.strictObject({
  urls: z.array(z.string().max(300)).min(1).max(8).describe('turn:, turns:, stun: or stuns: URIs.'),
  username: z
    .string()
    .max(200)
    .optional()
    .describe('TURN REST API username: "<expiry unix seconds>:<user>".'),
  credential: z
    .string()
    .max(200)
    .optional()
    .describe('TURN REST API password: base64 HMAC-SHA1 of the username with the TURN secret.'),
});
export type IceServer = z.infer<typeof IceServer>;

/** How calls find a media path: the ICE servers to use and whether only relayed paths are allowed. */
export const IceSettings = z.strictObject({
  servers: z.array(IceServer).max(8).describe('ICE servers; empty: peer to peer only.'),
  transportPolicy: z
    .enum(['all', 'relay'])
    .describe('"relay": only candidates through TURN (RTCPeerConnection iceTransportPolicy).'),
  expiresAt: IsoTime.nullable().describe('When the TURN credentials stop working; null without TURN.'),
});
export type IceSettings = z.infer<typeof IceSettings>;

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
  ice: IceSettings.describe('ICE servers (TURN with short-lived credentials) and policy for the calls.'),
});
export type SipCredentials = z.infer<typeof SipCredentials>;
