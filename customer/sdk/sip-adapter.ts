import type { Invitation } from 'sip.js';
import { CALL_PROOF_HEADER, CALL_TICKET_HEADER, RECORDING_HEADER } from '../../protocol/src/index.ts';
import type { IncomingCallGuard, ScreenResult } from './call-guard.ts';

/** The part of a sip.js Invitation the guard needs (kept structural so the SDK does not bundle sip.js). */
export interface InvitationLike {
  request: { getHeader(name: string): string | undefined };
  reject(options?: { statusCode?: number; reasonPhrase?: string }): Promise<void>;
}

// Compile-time check that a real sip.js Invitation fits.
export const asInvitationLike = (i: Invitation): InvitationLike => i;

/**
 * For the sip.js delegate's onInvite: screen the INVITE's call ticket before
 * anything rings. A blocked call is rejected with 403 and never reaches the user;
 * a verified one is returned for the app to ring.
 */
export async function screenInvitation(
  guard: IncomingCallGuard,
  invitation: InvitationLike,
): Promise<ScreenResult> {
  const result = await guard.screen(invitation.request.getHeader(CALL_TICKET_HEADER));
  if (result.verdict === 'blocked')
    await invitation.reject({ statusCode: 403, reasonPhrase: 'Unverified call' });
  // Set by the company's SIP server (it removes any such header a caller sent) when its media server records the call.
  else if (invitation.request.getHeader(RECORDING_HEADER) === 'on') result.call.recorded = true;
  return result;
}

/** The header that carries the device's proof on the 200 OK (Invitation.accept({ extraHeaders })). */
export const proofHeader = (proof: string): string => `${CALL_PROOF_HEADER}: ${proof}`;
