import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';
import type { Repos } from '../store/repos/index.ts';
import type { ChallengePurpose, ChallengeRow } from '../store/repos/devices.ts';

export type { ChallengePurpose, ChallengeRow } from '../store/repos/devices.ts';

export const CHALLENGE_TTL_MS = 120_000;

/** Single-use server challenges: consuming one is one guarded UPDATE, so of many parallel uses exactly one wins. */
export class Challenges {
  constructor(private readonly ctx: Ctx) {}

  async issue(
    purpose: ChallengePurpose,
    opts: { deviceId?: string | null; authenticationId?: string | null; ttlMs?: number; id?: string } = {},
  ): Promise<ChallengeRow> {
    const row: ChallengeRow = {
      id: opts.id ?? randomId(16),
      purpose,
      nonce: randomId(32),
      device_id: opts.deviceId ?? null,
      authentication_id: opts.authenticationId ?? null,
      expires_at: this.ctx.clock.now() + (opts.ttlMs ?? CHALLENGE_TTL_MS),
    };
    await this.ctx.data.statement((r) => r.devices.insertChallenge(row));
    return row;
  }

  /** Mark used and return it, or undefined when unknown, used, expired or of another purpose. */
  consume(id: string, purpose: ChallengePurpose): Promise<ChallengeRow | undefined> {
    return this.ctx.data.tx((r) => r.devices.consumeChallenge(id, purpose));
  }

  /** consume() inside the caller's unit of work. */
  consumeIn(r: Repos, id: string, purpose: ChallengePurpose): Promise<ChallengeRow | undefined> {
    return r.devices.consumeChallenge(id, purpose);
  }

  async prune(): Promise<void> {
    // Keep a day of used rows: a replay of a consumed id must find the row and fail, not be unknown.
    const before = this.ctx.clock.now() - 86_400_000;
    await this.ctx.data.tx((r) => r.devices.pruneChallenges(before));
  }
}
