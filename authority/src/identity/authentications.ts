import { assuranceLevel, type AuthenticationView, type FactorKind } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';
import type { AuthenticationRow } from '../store/repos/authentications.ts';
import type { Repos } from '../store/repos/index.ts';

export type { AuthenticationRow } from '../store/repos/authentications.ts';

/**
 * Authentication records: a customer, maybe a device, the factors proven (each with its
 * time), the resulting level, an expiry. A change writes the domain event
 * `authentication.changed` in its own unit (the pipeline's consumer rules the requests
 * again, on any node, even after a crash between the two).
 */
export class Authentications {
  constructor(private readonly ctx: Ctx) {}

  /**
   * Open an authentication with its first factor, in a unit of its own. `setupUntil` is
   * given only by enrolment (the one-time code vouched for the person): see FactorSetup.
   */
  create(
    customerId: string,
    deviceId: string | null,
    first: FactorKind,
    detail: string | null = null,
    setupUntil: number | null = null,
  ): Promise<AuthenticationRow> {
    return this.ctx.data.tx((r) => this.createIn(r, customerId, deviceId, first, detail, setupUntil));
  }

  /** create() inside the caller's unit of work. */
  async createIn(
    r: Repos,
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
    await r.authentications.insert(row);
    await r.authentications.insertFactor(row.id, { kind: first, at: now, device_id: deviceId, detail });
    return row;
  }

  /** The authentication as committed. */
  find(id: string): Promise<AuthenticationRow | undefined> {
    return this.ctx.data.read.authentications.get(id);
  }

  /** The authentication as the caller's unit of work sees it. */
  getIn(r: Repos, id: string): Promise<AuthenticationRow | undefined> {
    return r.authentications.get(id);
  }

  isLive(a: AuthenticationRow): boolean {
    return a.expires_at > this.ctx.clock.now();
  }

  /** The level an authentication vouches for now: an expired one counts as none. */
  effectiveLevel(a: AuthenticationRow | undefined): number {
    return a && this.isLive(a) ? a.level : 0;
  }

  /**
   * Step up inside the caller's unit of work: add a factor and recompute the level (the
   * authentication row is locked until the unit ends, so concurrent step-ups take turns).
   * The unit also writes `authentication.changed`.
   */
  async addFactorIn(
    r: Repos,
    id: string,
    kind: FactorKind,
    deviceId: string | null,
    detail: string | null = null,
  ): Promise<AuthenticationRow> {
    const a = await r.authentications.getForUpdate(id);
    if (!a) throw new Error(`authentication ${id} missing`);
    await r.authentications.insertFactor(id, { kind, at: this.ctx.clock.now(), device_id: deviceId, detail });
    const level = assuranceLevel((await r.authentications.factors(id)).map((f) => f.kind));
    if (level !== a.level) await r.authentications.setLevel(id, level);
    await this.changedIn(r, id);
    return { ...a, level };
  }

  /** addFactorIn in a unit of its own. */
  async addFactorAlone(
    id: string,
    kind: FactorKind,
    deviceId: string | null,
    detail: string | null = null,
  ): Promise<AuthenticationRow> {
    return await this.ctx.data.tx((r) => this.addFactorIn(r, id, kind, deviceId, detail));
  }

  /** In the unit that changed authentication `id` (a factor, a photo): the domain event that tells of it. */
  async changedIn(r: Repos, id: string): Promise<void> {
    await r.outbox.emit('authentication.changed', { authenticationId: id });
  }

  async view(id: string): Promise<AuthenticationView> {
    const a = await this.ctx.data.read.authentications.get(id);
    if (!a) throw new Error(`authentication ${id} missing`);
    return await this.viewOf(a);
  }

  /** The view of an authentication row the caller has just read (its factors are read now). */
  async viewOf(a: AuthenticationRow): Promise<AuthenticationView> {
    const id = a.id;
    const read = this.ctx.data.read.authentications;
    return {
      authenticationId: a.id,
      customerId: a.customer_id,
      deviceId: a.device_id,
      level: a.level as AuthenticationView['level'],
      factors: (await read.factors(id)).map((f) => ({
        kind: f.kind,
        at: iso(f.at),
        deviceId: f.device_id,
        detail: f.detail,
      })),
      createdAt: iso(a.created_at),
      expiresAt: iso(a.expires_at),
    };
  }
}
