import { Invitation, Inviter, RequestPendingError, SessionState, type Session } from 'sip.js';
import type { IncomingResponse } from 'sip.js/lib/core/index.js';
import { DTMF_RELAY_TYPE, formatDtmfRelay } from '../../../browser-common/dtmf-relay.ts';
import { NO_MEDIA_PATH_BYE_REASON } from '../../../browser-common/media-path.ts';
import type { CallAnswer, HangUpReason } from './softphone.ts';

/** The call on the line: the customer's (ticketed INVITE), a colleague's, or one the agent dialled. */
export interface Live {
  session: Inviter | Invitation;
  requestId: string | null;
  outgoing: boolean;
  held: boolean;
  /** Settles the pending call()/dial() promise. */
  settle: { resolve: (a: CallAnswer) => void; reject: (e: Error) => void } | null;
  ended: boolean;
  /** Stops watching the call's peer connection for a failed media path (browser-common/media-path.ts). */
  unwatchMedia?: () => void;
  /** The SIP server or the far end no longer knows the call (dialogGone): it stays marked as lost (lost-call.ts). */
  lost?: boolean;
}

/** The consult leg of a warm transfer (the live call is held meanwhile). */
export interface ConsultCall {
  session: Inviter;
  peer: string;
}

export const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** Why an INVITE failed, in words for the agent. */
export function statusText(r: IncomingResponse): string {
  const code = r.message.statusCode;
  const known: Record<number, string> = {
    403: 'the device refused the call (ticket not accepted)',
    404: 'the device is not reachable',
    480: 'the customer’s device is not connected right now',
    486: 'the customer is busy on another call',
    487: 'the call was cancelled',
    488: 'the device could not agree on audio',
    603: 'the customer declined the call',
  };
  return known[code ?? 0] ?? `the call failed (${code} ${r.message.reasonPhrase})`;
}

/**
 * Send the initial INVITE: `onAccept` gets the 2xx, `onFail` the refusal (in words,
 * after `failure`) or the error; every sip.js promise is caught.
 */
export function sendInvite(
  inviter: Inviter,
  failure: string,
  onFail: (e: Error) => void,
  onAccept?: (r: IncomingResponse) => void,
): void {
  inviter
    .invite({
      requestDelegate: {
        ...(onAccept ? { onAccept } : {}),
        onReject: (r) => onFail(new Error(`${failure}: ${statusText(r)}`)),
      },
    })
    .catch((e: unknown) => onFail(toError(e)));
}

/** The BYE's Reason header (RFC 3326) per HangUpReason: wording for the far end, nothing more. */
const BYE_REASON: Record<HangUpReason, string> = {
  transferred: 'Reason: SIP;cause=200;text="transferred"',
  'no-media-path': NO_MEDIA_PATH_BYE_REASON,
};

/** End a session whatever its state: BYE (with its Reason, when given), CANCEL, decline (603), or a local dispose. */
export async function terminate(s: Inviter | Invitation, reason?: HangUpReason): Promise<void> {
  try {
    if (s.state === SessionState.Established)
      await s.bye(reason ? { requestOptions: { extraHeaders: [BYE_REASON[reason]] } } : undefined);
    else if (s instanceof Inviter && s.state === SessionState.Establishing) await s.cancel();
    else if (
      s instanceof Invitation &&
      s.state !== SessionState.Terminated &&
      s.state !== SessionState.Terminating
    )
      await s.reject({ statusCode: 603 });
    else await s.dispose();
  } catch {
    // The transport may be down: dispose locally so the line does not stay stuck.
    await s.dispose().catch(() => undefined);
  }
}

/** A re-INVITE's final refusal, with its status code. */
export class ReinviteRefusedError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'ReinviteRefusedError';
  }
}

/**
 * The call no longer exists beyond this console: 481 or 408 to a request inside the
 * dialog (RFC 3261 12.2.1.2: the UAC terminates the dialog), or 404 from the SIP server
 * that no longer knows the far end's connection. E.g. the console's network was cut for
 * longer than the SIP server's grace, which hung the customer up meanwhile.
 */
export const dialogGone = (e: unknown): boolean =>
  e instanceof ReinviteRefusedError && [404, 408, 481].includes(e.statusCode);

/**
 * A re-INVITE (hold, resume, or an ICE restart after a reconnect); resolves only
 * when the far end accepts it (2xx), rejects otherwise. Later re-INVITEs (a session
 * refresh) offer `held` again without repeating the ICE restart.
 */
export function reinvite(
  session: Session,
  o: { hold: boolean; iceRestart: boolean; constraints: () => MediaStreamConstraints; held: () => boolean },
): Promise<void> {
  if (session.state !== SessionState.Established)
    return Promise.reject(new Error('The call is not established'));
  return new Promise<void>((resolve, reject) => {
    session
      .invite({
        sessionDescriptionHandlerOptions: {
          hold: o.hold,
          constraints: o.constraints(),
          ...(o.iceRestart ? { offerOptions: { iceRestart: true } } : {}),
        } as object,
        requestDelegate: {
          onAccept: () => resolve(),
          onReject: (r) =>
            reject(
              new ReinviteRefusedError(
                `${o.hold ? 'Hold' : o.iceRestart ? 'Media restart' : 'Resume'} refused by the other side (${r.message.statusCode} ${r.message.reasonPhrase})`,
                r.message.statusCode ?? 0,
              ),
            ),
        },
      })
      .catch((e: unknown) =>
        reject(
          e instanceof RequestPendingError
            ? new Error('A hold or resume is already in progress')
            : toError(e),
        ),
      );
  }).finally(() => {
    session.sessionDescriptionHandlerOptionsReInvite = {
      hold: o.held(),
      constraints: o.constraints(),
    } as object;
  });
}

/** DTMF as SIP INFO (application/dtmf-relay), one INFO per key, each waiting for its 2xx. */
export async function sendInfoDtmf(session: Session, digits: string): Promise<void> {
  for (const d of digits)
    await new Promise<void>((resolve, reject) => {
      session
        .info({
          requestOptions: {
            body: { contentDisposition: 'render', contentType: DTMF_RELAY_TYPE, content: formatDtmfRelay(d) },
          },
          requestDelegate: {
            onAccept: () => resolve(),
            onReject: (r) => reject(new Error(`DTMF ${d} refused (${r.message.statusCode})`)),
          },
        })
        .catch((e: unknown) => reject(toError(e)));
    });
}
