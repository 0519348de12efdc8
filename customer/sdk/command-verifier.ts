import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { COMMAND_CLOCK_SKEW_SECONDS, COMMAND_TYP, CommandClaims } from '../../protocol/src/index.ts';

/** Why the device refused to show a command (the checks of `CommandClaims`, protocol/src/device-control.ts). */
export type CommandRefusal =
  | 'malformed' // not a compact JWS, or claims outside the protocol
  | 'forged' // not signed by the authority's published keys (or another issuer / algorithm)
  | 'wrong-type' // signed by the authority, but not a command (e.g. a call ticket)
  | 'unverifiable' // the authority's keys could not be fetched: fail closed
  | 'other-device'
  | 'other-session'
  | 'other-request'
  | 'expired'
  | 'from-the-future' // issued more than the allowed clock skew ahead of this phone's clock
  | 'replayed' // a command id already executed, or the same (fence, seq) again
  | 'out-of-order'; // (fence, seq) lower than the last command executed for the request

/** Plain words for each refusal, for the discreet notice the app shows. */
export const COMMAND_REFUSAL_TEXT: Record<CommandRefusal, string> = {
  malformed: 'An unreadable request was ignored.',
  forged: 'A request not signed by the company was ignored.',
  'wrong-type': 'A signed message that is not an agent request was ignored.',
  unverifiable: "A request was ignored: the company's keys could not be checked.",
  'other-device': 'A request meant for another phone was ignored.',
  'other-session': 'A request for another session was ignored.',
  'other-request': 'A request about another help request was ignored.',
  expired: 'An expired request was ignored.',
  'from-the-future': 'A request with a wrong time was ignored.',
  replayed: 'A request that was already used was ignored.',
  'out-of-order': 'A request that arrived out of order was ignored.',
};

/**
 * The verifier's decision.
 * - `show`: a new command, every check passed; it is recorded as on screen.
 * - `update`: a higher revision of the command on screen (a menu edited live).
 * - `restore`: an open command this phone showed before it lost its screen (a reload),
 *   delivered again by the authority with at least the revision it had.
 * - `duplicate`: exactly the revision already on screen, delivered twice (the feed and
 *   the pending list): nothing to do.
 * - `refuse`: not shown. `claims` is set only when the signature verified (the command
 *   id can then be trusted, e.g. to report it as failed).
 */
export type CommandVerdict =
  | { verdict: 'show'; claims: CommandClaims }
  | { verdict: 'update'; claims: CommandClaims; previousRevision: number }
  | { verdict: 'restore'; claims: CommandClaims }
  | { verdict: 'duplicate'; claims: CommandClaims }
  | { verdict: 'refuse'; reason: CommandRefusal; detail: string; claims: CommandClaims | null };

/** What the verifier needs to know about this phone, read at the moment of each check. */
export interface CommandBinding {
  /** This device's id (key thumbprint), or null before enrolment. */
  deviceId(): string | null;
  /** The live service session of the open request, or null. */
  sessionId(): string | null;
  /** The open request, or null. */
  requestId(): string | null;
}

/** What the verifier remembers, as plain data (kept in the SDK's store so a reload cannot reopen a used command). */
export interface CommandMemory {
  /** Command id -> request, highest revision seen, expiry (epoch seconds) and whether it is still on screen. */
  commands: [string, { rid: string; rev: number; exp: number; status: 'open' | 'detached' | 'closed' }][];
  /** Request id -> the (fence, seq) of the last command executed for it. */
  last: [string, { fence: number; seq: number }][];
}

export interface CommandVerifierOptions {
  /** The authority's published keys: createRemoteJWKSet(new URL('/.well-known/jwks.json', origin)). */
  keys: JWTVerifyGetKey;
  binding: CommandBinding;
  now?: () => number;
  /** What an earlier run remembered; its open commands come back as detached (not on screen). */
  memory?: CommandMemory;
  /** Called after each change of the memory (persist it with `snapshot()`, debounced by the caller). */
  onChange?: () => void;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_JWS = 200_000;

/**
 * Decides whether a command from the agent may be shown, before anything reaches the
 * screen: the authority's signature and `typ`, the claims' schema, this device, its live
 * session and open request, expiry and issue time within the clock skew, a command id
 * never executed before (a higher revision of the command on screen is an update), and
 * (fence, seq) strictly increasing per request (a transfer brings a higher fence and
 * seq starts again). The signature check is asynchronous; everything after it runs in
 * one synchronous step, so two deliveries of one command cannot both be shown.
 */
export class CommandVerifier {
  private readonly commands = new Map<string, CommandMemory['commands'][number][1]>();
  private readonly last = new Map<string, { fence: number; seq: number }>();
  private readonly now: () => number;
  private prunedAt = 0;

  constructor(private readonly opts: CommandVerifierOptions) {
    this.now = opts.now ?? Date.now;
    for (const [cid, e] of opts.memory?.commands ?? [])
      this.commands.set(cid, { ...e, status: e.status === 'open' ? 'detached' : e.status });
    for (const [rid, pair] of opts.memory?.last ?? []) this.last.set(rid, { ...pair });
  }

  /**
   * Verify a signed command and, if it may be shown, record it. `commandId`, when given,
   * is the id the envelope (the frame) names: it must be the signed one. Never throws.
   */
  async check(jws: unknown, commandId?: string): Promise<CommandVerdict> {
    const refuse = (reason: CommandRefusal, detail: string, claims: CommandClaims | null = null) =>
      ({ verdict: 'refuse', reason, detail, claims }) as const;
    if (typeof jws !== 'string' || jws.length > MAX_JWS || !COMPACT_JWS.test(jws))
      return refuse('malformed', 'not a compact JWS');
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(jws, this.opts.keys, {
        algorithms: ['ES256'],
        typ: COMMAND_TYP,
        issuer: 'verified-desk',
        currentDate: new Date(this.now()),
        // One second more than the rule: jose compares whole seconds; the exact rule is applied below.
        clockTolerance: COMMAND_CLOCK_SKEW_SECONDS + 1,
      }));
    } catch (e) {
      const [reason, detail] = classify(e);
      return refuse(reason, detail);
    }
    const parsed = CommandClaims.safeParse(payload);
    if (!parsed.success)
      return refuse(
        'malformed',
        `claims: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`,
      );
    if (commandId !== undefined && parsed.data.cid !== commandId)
      return refuse('malformed', 'the frame names another command than the signed one');
    return this.decide(parsed.data);
  }

  /** The synchronous part: binding, time, single use and order; records what it accepts. */
  private decide(c: CommandClaims): CommandVerdict {
    const refuse = (reason: CommandRefusal, detail: string): CommandVerdict => ({
      verdict: 'refuse',
      reason,
      detail,
      claims: c,
    });
    if (c.jti !== `${c.cid}.${c.rev}`) return refuse('malformed', 'jti is not <cid>.<rev>');
    const own = this.opts.binding.deviceId();
    if (!own || c.dev !== own) return refuse('other-device', `for device ${c.dev.slice(0, 8)}…`);
    if (c.sid !== this.opts.binding.sessionId()) return refuse('other-session', 'not the live session');
    if (c.rid !== this.opts.binding.requestId()) return refuse('other-request', 'not the open request');
    const nowS = this.now() / 1000;
    if (nowS > c.exp + COMMAND_CLOCK_SKEW_SECONDS) return refuse('expired', `expired at ${c.exp}`);
    if (c.iat > nowS + COMMAND_CLOCK_SKEW_SECONDS) return refuse('from-the-future', `issued at ${c.iat}`);

    const known = this.commands.get(c.cid);
    if (known) {
      if (known.rid !== c.rid) return refuse('replayed', 'a command id seen for another request');
      if (known.status === 'closed') return refuse('replayed', `command ${c.cid} was already used`);
      if (known.status === 'detached') {
        if (c.rev < known.rev) return refuse('replayed', `revision ${c.rev} is older than ${known.rev}`);
        this.record(c, 'open');
        return { verdict: 'restore', claims: c };
      }
      if (c.rev === known.rev) return { verdict: 'duplicate', claims: c };
      if (c.rev < known.rev) return refuse('replayed', `revision ${c.rev} is older than ${known.rev}`);
      const previousRevision = known.rev;
      this.record(c, 'open');
      return { verdict: 'update', claims: c, previousRevision };
    }

    const last = this.last.get(c.rid);
    if (last) {
      if (c.fence === last.fence && c.seq === last.seq)
        return refuse('replayed', `(fence ${c.fence}, seq ${c.seq}) was already executed`);
      if (c.fence < last.fence || (c.fence === last.fence && c.seq < last.seq))
        return refuse('out-of-order', `(fence ${c.fence}, seq ${c.seq}) after (${last.fence}, ${last.seq})`);
    }
    this.last.set(c.rid, { fence: c.fence, seq: c.seq });
    this.record(c, 'open');
    return { verdict: 'show', claims: c };
  }

  private record(c: CommandClaims, status: 'open' | 'detached' | 'closed'): void {
    const nowS = this.now() / 1000;
    // Forget what has expired (at most once a second): an expired token is refused for its expiry anyway.
    if (nowS - this.prunedAt >= 1) {
      this.prunedAt = nowS;
      for (const [cid, e] of this.commands)
        if (e.exp + COMMAND_CLOCK_SKEW_SECONDS < nowS && cid !== c.cid) this.commands.delete(cid);
    }
    this.commands.set(c.cid, { rid: c.rid, rev: c.rev, exp: c.exp, status });
    this.changed();
  }

  private setStatus(commandId: string, status: 'detached' | 'closed'): void {
    const e = this.commands.get(commandId);
    if (!e || e.status === status || e.status === 'closed') return;
    e.status = status;
    this.changed();
  }

  /** The command was answered, declined, withdrawn or expired: any later delivery is a replay. */
  close(commandId: string): void {
    this.setStatus(commandId, 'closed');
  }

  /** The command is no longer on screen but still open at the authority (e.g. not shown while control is stopped). */
  detach(commandId: string): void {
    this.setStatus(commandId, 'detached');
  }

  /** The (fence, seq) of the last command executed for a request. */
  lastExecuted(requestId: string): { fence: number; seq: number } | null {
    const l = this.last.get(requestId);
    return l ? { ...l } : null;
  }

  snapshot(): CommandMemory {
    return {
      commands: [...this.commands].map(([cid, e]) => [cid, { ...e }]),
      last: [...this.last].map(([rid, p]) => [rid, { ...p }]),
    };
  }

  private changed(): void {
    this.opts.onChange?.();
  }
}

function classify(e: unknown): [CommandRefusal, string] {
  const m = e instanceof Error ? e.message : String(e);
  if (e instanceof errors.JWTExpired) return ['expired', m];
  if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSNoMatchingKey)
    return ['forged', m];
  if (e instanceof errors.JWKSMultipleMatchingKeys || e instanceof errors.JOSEAlgNotAllowed)
    return ['forged', m];
  if (e instanceof errors.JWTClaimValidationFailed)
    return e.claim === 'typ' ? ['wrong-type', m] : e.claim === 'iss' ? ['forged', m] : ['malformed', m];
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) return ['unverifiable', m];
  if (e instanceof errors.JOSEError) return ['malformed', m];
  if (e instanceof TypeError && /fetch/i.test(m)) return ['unverifiable', m];
  return ['malformed', m];
}
