import { z } from 'zod';
import { IsoTime, OpaqueId, ShortText } from './common.ts';
import { DeviceId } from './keys.ts';
import { SessionId } from './sessions.ts';
import { SipCallId, SipUserName } from './sip.ts';

/** JWS "typ" of a call ticket, and of the device's answer to it. */
export const CALL_TICKET_TYP = 'vd-call+jwt';
export const CALL_PROOF_TYP = 'vd-call-proof+jwt';
/** SIP header carrying the ticket on the INVITE, and the device's proof on the 200 OK. */
export const CALL_TICKET_HEADER = 'X-VD-Call-Ticket';
export const CALL_PROOF_HEADER = 'X-VD-Device-Proof';
/** Set by the SIP server on a call whose media passes its media server (Kamailio + rtpengine): "anchored". */
export const MEDIA_HEADER = 'X-VD-Media';
/** Set by the SIP server on an INVITE (and its 200 OK) whose call the media server records: "on". */
export const RECORDING_HEADER = 'X-VD-Recording';
/** Set by the SIP server on a call from the phone network it puts through to a console: the request it is for. */
export const REQUEST_HEADER = 'X-VD-Request';

/**
 * Claims of a call ticket, signed by the authority (keys at /.well-known/jwks.json).
 * The device rings only for a ticket that verifies, names its own device and one of
 * its live sessions, has not expired and was never seen before.
 */
export const CallTicketClaims = z.object({
  iss: z.literal('verified-desk').describe('Issuer: always "verified-desk".'),
  sid: SessionId.describe("The customer's service session."),
  dev: DeviceId.describe('The device to call.'),
  rid: OpaqueId.describe('The request the call is for.'),
  agt: OpaqueId.describe('The calling agent.'),
  agn: ShortText.describe("The agent's display name (shown on the device)."),
  org: ShortText.describe('The company name (shown on the device).'),
  fence: z.number().int().min(1).describe('The fencing number the agent holds the request under.'),
  jti: z.string().min(8).max(64).describe('Unique ticket id: a device rings once per ticket.'),
  iat: z.number().int().describe('Issued at (seconds since the epoch).'),
  exp: z.number().int().describe('Expires at (seconds since the epoch).'),
});
export type CallTicketClaims = z.infer<typeof CallTicketClaims>;

/** JWS "typ" of a phone call ticket: it lets the holder's call out through the trunk to one number. */
export const PHONE_CALL_TICKET_TYP = 'vd-phone-call+jwt';

/**
 * Claims of a phone call ticket (a callback to a customer's phone number through the
 * trunk), signed by the authority like a device's call ticket and carried the same way
 * (the INVITE's X-VD-Call-Ticket header). The SIP server lets the INVITE out only to
 * `tel`, for the agent `agt`, with the company's caller ID `cid`.
 */
export const PhoneCallTicketClaims = z.object({
  iss: z.literal('verified-desk').describe('Issuer: always "verified-desk".'),
  rid: OpaqueId.describe('The callback request the call is for.'),
  agt: OpaqueId.describe('The calling agent (the holder).'),
  tel: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/)
    .describe("The number the call may go to (E.164): the customer's registered number."),
  cid: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/)
    .describe("The company's caller ID the call shows (E.164)."),
  fence: z.number().int().min(1).describe('The fencing number the agent holds the request under.'),
  jti: z.string().min(8).max(64).describe('Unique ticket id: one call out per ticket.'),
  iat: z.number().int().describe('Issued at (seconds since the epoch).'),
  exp: z.number().int().describe('Expires at (seconds since the epoch).'),
});
export type PhoneCallTicketClaims = z.infer<typeof PhoneCallTicketClaims>;

export const CallTicketRequest = z.strictObject({
  fence: z.number().int().min(1).describe('The fencing number the agent holds the request under.'),
});
export const CallTicket = z.strictObject({
  ticket: z
    .string()
    .max(4096)
    .describe(
      `The compact JWS (ES256, typ ${CALL_TICKET_TYP}) to put in the ${CALL_TICKET_HEADER} header of the INVITE.`,
    ),
  expiresAt: IsoTime.describe('When the ticket expires.'),
  claims: CallTicketClaims.describe("The ticket's claims, decoded."),
});
export type CallTicket = z.infer<typeof CallTicket>;

/** The device's proof: a JWS by the device key over the ticket's SHA-256 (base64url) and its time. */
export const CallProofClaims = z.strictObject({
  tkt: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  iat: z.number().int(),
});
export const CallProofRequest = z.strictObject({
  ticket: z.string().max(4096).describe(`The call ticket from the INVITE's ${CALL_TICKET_HEADER} header.`),
  proof: z
    .string()
    .max(4096)
    .describe(
      `Compact JWS by the device key (ES256, typ ${CALL_PROOF_TYP}) with claims tkt (base64url SHA-256 of the ticket) and iat (seconds).`,
    ),
});
export const CallProofResult = z.strictObject({
  verified: z.literal(true).describe('Always true: the call is bound to this device.'),
  requestId: OpaqueId.describe('The request of the call.'),
  sessionId: SessionId.describe('The service session of the call.'),
  at: IsoTime.describe('When it was recorded.'),
});

/**
 * The agent's console reports what the device put on its 200 OK (the proof header,
 * or null when it was missing): the authority checks it against the ticket and the
 * device's key, records it and audits a missing or failed proof.
 */
export const CallAnswerRequest = z.strictObject({
  fence: z.number().int().min(1).describe('The fencing number the agent holds the request under.'),
  ticket: z.string().max(4096).describe('The call ticket the agent called with.'),
  proof: z
    .string()
    .max(4096)
    .nullable()
    .describe(`The ${CALL_PROOF_HEADER} header of the 200 OK, or null when it had none.`),
  callId: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[\x21-\x7e]+$/, 'a SIP Call-ID')
    .optional()
    .describe(
      'The SIP Call-ID of the call: when the media server records it, the recording is kept with the request.',
    ),
});
export const CallAnswerResult = z.union([
  z.strictObject({
    verified: z.literal(true).describe('The device proved it answered this call.'),
    at: IsoTime.describe('When it was verified.'),
  }),
  z.strictObject({
    verified: z.literal(false).describe('The answer does not prove the device (recorded and audited).'),
    reason: ShortText.describe('Why not (no proof, unknown device, bad signature, ...).'),
  }),
]);
export type CallAnswerResult = z.infer<typeof CallAnswerResult>;

/** The console's call to the device ended (hung up on either side, or failed after it was answered). */
export const CallEndRequest = z.strictObject({
  fence: z.number().int().min(1).describe('The fencing number the agent called under.'),
  ticket: z.string().max(4096).describe('The call ticket the agent called with.'),
});
export type CallEndRequest = z.infer<typeof CallEndRequest>;
export const CallEndResult = z.strictObject({
  ended: z
    .boolean()
    .describe('True when this report ended the call; false when it had ended already or was never proven.'),
  at: IsoTime.describe('When the call ended as the authority records it (now, or the earlier end).'),
});
export type CallEndResult = z.infer<typeof CallEndResult>;

/**
 * The SIP server (Kamailio) saw the dialog of a call to a device end: the INVITE that
 * started it carried `ticket` and was authenticated as `sipUser`.
 */
export const SipCallEndRequest = z.strictObject({
  ticket: z
    .string()
    .max(4096)
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'a compact JWS')
    .describe(`The ${CALL_TICKET_HEADER} header of the INVITE that started the dialog.`),
  sipUser: SipUserName.describe(
    'The INVITE\'s authenticated caller (the From user the SIP server checked against the credentials): the ticket\'s agent, "a-<staff id>".',
  ),
  callId: SipCallId.optional().describe(
    "The dialog's Call-ID (for the audit row; left out when it has unusual characters).",
  ),
  cause: z
    .enum(['bye', 'timeout'])
    .describe(
      "How the dialog ended: a BYE from either side passed through the SIP server (bye), or the SIP server ended it itself, with a BYE to both sides (timeout: a party's connection gone past the grace, keepalives unanswered, or the longest call allowed).",
    ),
});
export type SipCallEndRequest = z.infer<typeof SipCallEndRequest>;
export const SipCallEndResult = CallEndResult.extend({
  requestId: OpaqueId.describe('The request the call was for.'),
  ended: z
    .boolean()
    .describe(
      "True when this report ended the call; false when it had ended already (the console's report or an earlier one).",
    ),
});
export type SipCallEndResult = z.infer<typeof SipCallEndResult>;
