import { z } from 'zod';
import { IsoTime, OpaqueId, ShortText } from './common.ts';
import { DeviceId } from './keys.ts';
import { SessionId } from './sessions.ts';

/** JWS "typ" of a call ticket, and of the device's answer to it. */
export const CALL_TICKET_TYP = 'vd-call+jwt';
export const CALL_PROOF_TYP = 'vd-call-proof+jwt';
/** SIP header carrying the ticket on the INVITE, and the device's proof on the 200 OK. */
export const CALL_TICKET_HEADER = 'X-VD-Call-Ticket';
export const CALL_PROOF_HEADER = 'X-VD-Device-Proof';

/**
 * Claims of a call ticket, signed by the authority (keys at /.well-known/jwks.json).
 * The device rings only for a ticket that verifies, names its own device and one of
 * its live sessions, has not expired and was never seen before.
 */
export const CallTicketClaims = z.object({
  iss: z.literal('verified-desk'),
  sid: SessionId,
  dev: DeviceId,
  rid: OpaqueId,
  agt: OpaqueId,
  agn: ShortText,
  org: ShortText,
  fence: z.number().int().min(1),
  jti: z.string().min(8).max(64),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type CallTicketClaims = z.infer<typeof CallTicketClaims>;

export const CallTicketRequest = z.strictObject({ fence: z.number().int().min(1) });
export const CallTicket = z.strictObject({
  ticket: z.string().max(4096),
  expiresAt: IsoTime,
  claims: CallTicketClaims,
});
export type CallTicket = z.infer<typeof CallTicket>;

/** The device's proof: a JWS by the device key over the ticket's SHA-256 (base64url) and its time. */
export const CallProofClaims = z.strictObject({
  tkt: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  iat: z.number().int(),
});
export const CallProofRequest = z.strictObject({ ticket: z.string().max(4096), proof: z.string().max(4096) });
export const CallProofResult = z.strictObject({
  verified: z.literal(true),
  requestId: OpaqueId,
  sessionId: SessionId,
  at: IsoTime,
});

/**
 * The agent's console reports what the device put on its 200 OK (the proof header,
 * or null when it was missing): the authority checks it against the ticket and the
 * device's key, records it and audits a missing or failed proof.
 */
export const CallAnswerRequest = z.strictObject({
  fence: z.number().int().min(1),
  ticket: z.string().max(4096),
  proof: z.string().max(4096).nullable(),
});
export const CallAnswerResult = z.union([
  z.strictObject({ verified: z.literal(true), at: IsoTime }),
  z.strictObject({ verified: z.literal(false), reason: ShortText }),
]);
export type CallAnswerResult = z.infer<typeof CallAnswerResult>;
