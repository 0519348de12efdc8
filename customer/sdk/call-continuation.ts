import type { RequestView } from '../../protocol/src/index.ts';
import type { VerifiedCall } from './call-guard.ts';
import { Emitter } from './emitter.ts';
import { LIVE_STATES } from './request-follower.ts';

/**
 * The phone after its agent's call ended because the request moved to another holder
 * (a transfer, a take-over, a reassign): the customer stays "on the line" for that
 * request and the new holder's call is answered without ringing.
 */
export interface ContinuingCall {
  requestId: string;
  sessionId: string;
  /** The fence of the call that ended: only a ticket with a higher fence continues it. */
  fence: number;
  /** The agent of the call that ended. */
  fromAgent: string;
  /** The request's holder (or the agent it is offered to) as the feed names it, or null (back in a queue). */
  toAgent: string | null;
  /**
   * 'pending': the far end hung up while the request is open, and the feed has not yet shown
   * the move (it usually has: the authority tells the phone before the old console hangs up);
   * 'continuing': the feed shows the request held (or offered) under a higher fence.
   */
  phase: 'pending' | 'continuing';
  /**
   * Why the old console said it hung up: the text of its BYE's Reason header (RFC 3326,
   * e.g. "transferred"). Wording only (say "Connecting you…" at once), never a decision.
   */
  hint: string | null;
}

/**
 * Why the continuing state ended: 'resumed' (the new holder's call was answered), 'customer'
 * (the customer hung up), 'request-ended' (the request is over or no longer followed),
 * 'not-moved' (the far end hung up and the request did not move within the grace period:
 * an ordinary end of call).
 */
export type ContinuationEnd = 'resumed' | 'customer' | 'request-ended' | 'not-moved';

export interface CallContinuationEvents extends Record<string, unknown> {
  /** The continuing state began or changed (phase, the next agent's name). */
  change: ContinuingCall;
  ended: { continuing: ContinuingCall; reason: ContinuationEnd };
}

export interface CallContinuationOptions {
  /** The followed request as the feed last showed it. */
  request: () => RequestView | null;
  /** How long a hung-up call waits for the feed to show a move before it is simply ended (default 4,000 ms). */
  graceMs?: number;
}

/**
 * The continuation rule. Only the far end's hang-up (a remote BYE) of an answered call
 * of the open request starts it; a call the customer hung up, declined or missed never
 * does. While it lasts, `admits(call)` is true only for a call whose ticket already
 * passed the IncomingCallGuard (authority signature, type, expiry, this device, a live
 * session, never seen) AND names the same request and the same session AND a fence
 * higher than the ended call's: the new holder's call, which the phone answers without
 * ringing. Any other call rings as before. The ticket's fence is the authority's word
 * that the holder changed, so a BYE header (which anyone on the path could add) only
 * changes wording.
 */
export class CallContinuation extends Emitter<CallContinuationEvents> {
  current: ContinuingCall | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: CallContinuationOptions) {
    super();
  }

  /**
   * An answered call ended. `by` 'remote' (the agent's side hung up) starts the continuing
   * state when the call's request is still open; anything else ends any continuing state.
   */
  callEnded(call: VerifiedCall, by: 'remote' | 'local' | 'cancelled', reason: string | null = null): void {
    if (by !== 'remote') {
      if (by === 'local') this.stop('customer');
      return;
    }
    const r = this.opts.request();
    if (!r || r.requestId !== call.claims.rid || r.sessionId !== call.claims.sid || !LIVE_STATES.has(r.state))
      return;
    this.clearTimer();
    this.current = {
      requestId: call.claims.rid,
      sessionId: call.claims.sid,
      fence: call.claims.fence,
      fromAgent: call.agentName,
      toAgent: null,
      phase: 'pending',
      hint: reason ? (/text="([^"]{1,64})"/.exec(reason)?.[1] ?? null) : null,
    };
    this.requestChanged(r);
    if (this.current?.phase === 'pending') {
      this.emit('change', this.current);
      this.timer = setTimeout(() => this.stop('not-moved'), this.opts.graceMs ?? 4000);
    }
  }

  /** The feed's view of the request: a move confirms the state, the end of the request ends it. */
  requestChanged(r: RequestView | null): void {
    const c = this.current;
    if (!c) return;
    if (!r || r.requestId !== c.requestId || r.sessionId !== c.sessionId || !LIVE_STATES.has(r.state))
      return this.stop('request-ended');
    if (r.fence <= c.fence) return;
    const toAgent = r.agentName ?? null;
    if (c.phase === 'continuing' && c.toAgent === toAgent) return;
    this.clearTimer();
    this.current = { ...c, phase: 'continuing', toAgent };
    this.emit('change', this.current);
  }

  /** Whether `call` (a call the guard let ring) continues the ended one: answer it without ringing. */
  admits(call: VerifiedCall): boolean {
    const c = this.current;
    return (
      c !== null &&
      call.claims.rid === c.requestId &&
      call.claims.sid === c.sessionId &&
      call.claims.fence > c.fence
    );
  }

  /** End the continuing state (the customer hung up, the call was answered, the request ended). */
  stop(reason: ContinuationEnd): void {
    const c = this.current;
    this.clearTimer();
    if (!c) return;
    this.current = null;
    this.emit('ended', { continuing: c, reason });
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
