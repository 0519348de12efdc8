import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';

export type ChallengePurpose = 'enrol' | 'authenticate' | 'webauthn-register' | 'webauthn-assert';

export interface ChallengeRow {
  id: string;
  purpose: ChallengePurpose;
  nonce: string;
  device_id: string | null;
  authentication_id: string | null;
  expires_at: number;
}

export const CHALLENGE_TTL_MS = 120_000;

/** Single-use server challenges: consuming one is one atomic UPDATE, so of many parallel uses exactly one wins. */
export class Challenges {
  private readonly insertStmt;
  private readonly consumeStmt;
  private readonly pruneStmt;
  constructor(private readonly ctx: Ctx) {
    this.insertStmt = ctx.db.prepare(
      'INSERT INTO challenges (id, purpose, nonce, device_id, authentication_id, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.consumeStmt = ctx.db.prepare<[number, string, string, number], ChallengeRow>(
      'UPDATE challenges SET used_at = ? WHERE id = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? RETURNING id, purpose, nonce, device_id, authentication_id, expires_at',
    );
    this.pruneStmt = ctx.db.prepare('DELETE FROM challenges WHERE expires_at < ?');
  }

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
    this.insertStmt.run(row.id, row.purpose, row.nonce, row.device_id, row.authentication_id, row.expires_at);
    return row;
  }

  /** Mark used and return it, or undefined when unknown, used, expired or of another purpose. */
  async consume(id: string, purpose: ChallengePurpose): Promise<ChallengeRow | undefined> {
    const now = this.ctx.clock.now();
    return this.consumeStmt.get(now, id, purpose, now);
  }

  async prune(): Promise<void> {
    // Keep a day of used rows: a replay of a consumed id must find the row and fail, not be unknown.
    this.pruneStmt.run(this.ctx.clock.now() - 86_400_000);
  }
}
