import { EventEmitter } from 'node:events';
import { assuranceLevel, type AuthenticationView, type FactorKind } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';

interface AuthenticationRow {
  id: string;
  customer_id: string;
  device_id: string | null;
  level: number;
  created_at: number;
  expires_at: number;
  /** Set only on the enrolment's own authentication: factors may be set up until then. */
  setup_until: number | null;
}
interface FactorRow {
  kind: FactorKind;
  at: number;
  device_id: string | null;
  detail: string | null;
}

/** Authentication records: a customer, maybe a device, the factors proven (each with its time), the resulting level, an expiry. */
export class Authentications extends EventEmitter<{ changed: [authenticationId: string] }> {
  private readonly getStmt;
  private readonly factorsStmt;
  private readonly insertAuth;
  private readonly insertFactor;
  private readonly setLevel;
  constructor(private readonly ctx: Ctx) {
    super();
    this.getStmt = ctx.db.prepare<[string], AuthenticationRow>('SELECT * FROM authentications WHERE id = ?');
    this.factorsStmt = ctx.db.prepare<[string], FactorRow>(
      'SELECT kind, at, device_id, detail FROM factors WHERE authentication_id = ? ORDER BY at, rowid',
    );
    this.insertAuth = ctx.db.prepare(
      'INSERT INTO authentications (id, customer_id, device_id, level, created_at, expires_at, setup_until) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertFactor = ctx.db.prepare(
      'INSERT OR IGNORE INTO factors (authentication_id, kind, at, device_id, detail) VALUES (?, ?, ?, ?, ?)',
    );
    this.setLevel = ctx.db.prepare('UPDATE authentications SET level = ? WHERE id = ?');
  }

  /**
   * Open an authentication with its first factor. `setupUntil` is given only by
   * enrolment (the one-time code vouched for the person): see FactorSetup.
   */
  async create(
    customerId: string,
    deviceId: string | null,
    first: FactorKind,
    detail: string | null = null,
    setupUntil: number | null = null,
  ): Promise<AuthenticationRow> {
    const now = this.ctx.clock.now();
    const expiresAt = now + this.ctx.config.authenticationTtlSeconds * 1000;
    const row: AuthenticationRow = {
      id: randomId(16),
      customer_id: customerId,
      device_id: deviceId,
      level: assuranceLevel([first]),
      created_at: now,
      expires_at: expiresAt,
      setup_until: setupUntil === null ? null : Math.min(setupUntil, expiresAt),
    };
    this.ctx.db.transaction(() => {
      this.insertAuth.run(
        row.id,
        row.customer_id,
        row.device_id,
        row.level,
        row.created_at,
        row.expires_at,
        row.setup_until,
      );
      this.insertFactor.run(row.id, first, now, deviceId, detail);
    })();
    return row;
  }

  get(id: string): AuthenticationRow | undefined {
    return this.getStmt.get(id);
  }

  isLive(a: AuthenticationRow): boolean {
    return a.expires_at > this.ctx.clock.now();
  }

  /** The level an authentication vouches for now: an expired one counts as none. */
  effectiveLevel(a: AuthenticationRow | undefined): number {
    return a && this.isLive(a) ? a.level : 0;
  }

  /** Step up: add a factor and recompute the level. The expiry stays as it was. */
  addFactor(
    id: string,
    kind: FactorKind,
    deviceId: string | null,
    detail: string | null = null,
  ): AuthenticationRow {
    const now = this.ctx.clock.now();
    this.ctx.db.transaction(() => {
      this.insertFactor.run(id, kind, now, deviceId, detail);
      const kinds = this.factorsStmt.all(id).map((f) => f.kind);
      this.setLevel.run(assuranceLevel(kinds), id);
    })();
    this.emit('changed', id);
    return this.getStmt.get(id)!;
  }

  async view(id: string): Promise<AuthenticationView> {
    const a = this.getStmt.get(id);
    if (!a) throw new Error(`authentication ${id} missing`);
    return {
      authenticationId: a.id,
      customerId: a.customer_id,
      deviceId: a.device_id,
      level: a.level as AuthenticationView['level'],
      factors: this.factorsStmt
        .all(id)
        .map((f) => ({ kind: f.kind, at: iso(f.at), deviceId: f.device_id, detail: f.detail })),
      createdAt: iso(a.created_at),
      expiresAt: iso(a.expires_at),
    };
  }
}
export type { AuthenticationRow };
