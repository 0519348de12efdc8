import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { z } from 'zod';
import {
  CALL_TICKET_TYP,
  CallTicketClaims,
  type CallProofResult,
  type CallTicketClaims as Claims,
} from '../../protocol/src/index.ts';
import { Emitter } from './emitter.ts';

/** The authority's record of the device's proof (POST /v1/device/call-proofs). */
export type CallProofAnswer = z.infer<typeof CallProofResult>;

/** Why a call was refused before it could ring. */
export type BlockReason =
  | 'missing' // no ticket at all
  | 'malformed' // not a JWS, or claims outside the protocol
  | 'forged' // not signed by the authority's published keys
  | 'wrong-type' // signed, but not a call ticket
  | 'expired'
  | 'other-device'
  | 'other-session'
  | 'replayed'
  | 'unverifiable'; // the authority's keys could not be fetched: fail closed

export const BLOCK_REASON_TEXT: Record<BlockReason, string> = {
  missing: 'The call carried no ticket from the company.',
  malformed: 'The call carried an unreadable ticket.',
  forged: 'The ticket was not signed by the company.',
  'wrong-type': 'The ticket was not a call ticket.',
  expired: 'The ticket had expired.',
  'other-device': 'The ticket was for another phone.',
  'other-session': 'The ticket was not for your current request.',
  replayed: 'The ticket had already been used.',
  unverifiable: "The company's keys could not be checked.",
};

export interface BlockedCall {
  at: Date;
  reason: BlockReason;
  detail: string;
}

/** A call whose ticket verified: it may ring. */
export interface VerifiedCall {
  ticket: string;
  claims: Claims;
  receivedAt: Date;
  /** "Verified call from <company> — <agent name>" */
  company: string;
  agentName: string;
  /** The company's SIP server says the call is recorded (X-VD-Recording: on): the app tells the customer. */
  recorded?: boolean;
}

export type ScreenResult =
  { verdict: 'ring'; call: VerifiedCall } | { verdict: 'blocked'; blocked: BlockedCall };

/** What the guard needs from the device it protects. */
export interface GuardedDevice {
  /** The device id (key thumbprint), or null before enrolment. */
  deviceId(): string | null;
  /** Whether `sessionId` is one of this device's live service sessions. */
  isLiveSession(sessionId: string): boolean;
  /** Sign the call proof with the device key and send it to the authority (POST /v1/device/call-proofs). */
  proveCall(ticket: string): Promise<{ proof: string; result: CallProofAnswer }>;
}

/** Ticket ids already seen, remembered until the ticket's expiry (persisted by the caller if it likes). */
export interface SeenTickets {
  has(jti: string): boolean;
  add(jti: string, expiresAtMs: number): void;
}

export class MemorySeenTickets implements SeenTickets {
  private readonly seen = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}
  has(jti: string): boolean {
    return this.seen.has(jti);
  }
  add(jti: string, expiresAtMs: number): void {
    const now = this.now();
    for (const [k, exp] of this.seen) if (exp < now) this.seen.delete(k);
    this.seen.set(jti, expiresAtMs);
  }
  entries(): [string, number][] {
    return [...this.seen];
  }
}

export interface IncomingCallGuardOptions {
  /** The authority's published keys: createRemoteJWKSet(new URL('/.well-known/jwks.json', origin)). */
  keys: JWTVerifyGetKey;
  device: GuardedDevice;
  seen?: SeenTickets;
  now?: () => number;
  /** Allowed clock difference with the authority when checking expiry (default 5 s). */
  clockToleranceSeconds?: number;
}

export interface GuardEvents extends Record<string, unknown> {
  blocked: BlockedCall;
  ringing: VerifiedCall;
}

/**
 * Decides whether an incoming call may ring. The caller (the sip.js delegate, or
 * the app's automation entry point) passes the ticket from the INVITE's
 * X-VD-Call-Ticket header. It rings only if the ticket verifies against the
 * authority's published keys, is a call ticket (typ), has not expired, names this
 * device and one of its live sessions, and its id was never seen before. Anything
 * else is a 'blocked' event with the time and the reason, and never rings.
 */
export class IncomingCallGuard extends Emitter<GuardEvents> {
  private readonly seen: SeenTickets;
  private readonly now: () => number;

  constructor(private readonly opts: IncomingCallGuardOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.seen = opts.seen ?? new MemorySeenTickets(this.now);
  }

  async screen(ticket: string | null | undefined): Promise<ScreenResult> {
    const receivedAt = new Date(this.now());
    const block = (reason: BlockReason, detail = BLOCK_REASON_TEXT[reason]): ScreenResult => {
      const blocked: BlockedCall = { at: receivedAt, reason, detail };
      this.emit('blocked', blocked);
      return { verdict: 'blocked', blocked };
    };
    if (!ticket) return block('missing');
    if (ticket.length > 4096 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(ticket))
      return block('malformed');

    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(ticket, this.opts.keys, {
        algorithms: ['ES256'],
        typ: CALL_TICKET_TYP,
        issuer: 'verified-desk',
        currentDate: new Date(this.now()),
        clockTolerance: this.opts.clockToleranceSeconds ?? 5,
      }));
    } catch (e) {
      return block(...classify(e));
    }
    const parsed = CallTicketClaims.safeParse(payload);
    if (!parsed.success) return block('malformed');
    const claims = parsed.data;
    const own = this.opts.device.deviceId();
    if (!own || claims.dev !== own) return block('other-device');
    if (!this.opts.device.isLiveSession(claims.sid)) return block('other-session');
    // Check and record in one synchronous step: two deliveries of one ticket cannot both ring.
    if (this.seen.has(claims.jti)) return block('replayed');
    this.seen.add(claims.jti, claims.exp * 1000);

    const call: VerifiedCall = { ticket, claims, receivedAt, company: claims.org, agentName: claims.agn };
    this.emit('ringing', call);
    return { verdict: 'ring', call };
  }

  /** The customer answered: prove possession of the device key for this ticket. */
  answer(call: VerifiedCall): Promise<{ proof: string; result: CallProofAnswer }> {
    return this.opts.device.proveCall(call.ticket);
  }
}

function classify(e: unknown): [BlockReason, string?] {
  if (e instanceof errors.JWTExpired) return ['expired'];
  if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSNoMatchingKey)
    return ['forged'];
  if (e instanceof errors.JWKSMultipleMatchingKeys) return ['forged'];
  if (e instanceof errors.JWTClaimValidationFailed)
    return e.claim === 'typ' ? ['wrong-type'] : e.claim === 'iss' ? ['forged'] : ['malformed'];
  if (e instanceof errors.JOSEAlgNotAllowed) return ['forged'];
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) return ['unverifiable'];
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return ['malformed'];
  if (e instanceof TypeError) return ['unverifiable']; // fetch failed
  return ['malformed'];
}
