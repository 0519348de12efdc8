import {
  FACTOR_SETUP_LEVEL,
  type FactorSetupView,
  type SecurityNotice,
  type SecurityNoticeKind,
  type SetupFactor,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { DomainError, notFound } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { Authentications } from './authentications.ts';
import type { DevicePrincipal } from './devices.ts';

const FACTOR_NAME: Record<SetupFactor, string> = {
  pin: 'a PIN',
  biometric: 'a fingerprint or face (biometric)',
  photo: 'the enrolment photo',
};

const NOTICE_OF: Record<SetupFactor, SecurityNoticeKind> = {
  pin: 'pin.set',
  biometric: 'biometric.added',
  photo: 'photo.enrolled',
};

interface NoticeRow {
  id: string;
  kind: SecurityNoticeKind;
  at: number;
  by_device_id: string;
  label: string | null;
}

/**
 * Who may add or replace a factor, and telling the customer when one was added.
 *
 * A factor can be set up by an authentication that already holds at least the level the
 * factor grants (FACTOR_SETUP_LEVEL), or by the enrolment's own authentication within its
 * set-up window (the one-time code vouched for the person). A later authentication with
 * the device key alone never can: otherwise whoever holds the key could add a biometric
 * and reach level 3 by themselves. Every decision is audited (`factor.setup`), and each
 * change is told to the customer's other devices as a security notice.
 */
export class FactorSetup {
  constructor(
    private readonly ctx: Ctx,
    private readonly authentications: Authentications,
  ) {}

  /** Why the current authentication may not set up `kind`, or null when it may. */
  private refusal(p: DevicePrincipal, kind: SetupFactor): string | null {
    const a = this.authentications.get(p.authentication.id);
    if (!a || !this.authentications.isLive(a)) return 'the authentication has expired';
    if (a.level >= FACTOR_SETUP_LEVEL[kind]) return null;
    if (a.setup_until !== null && a.setup_until > this.ctx.clock.now()) return null;
    return a.setup_until !== null
      ? `the set-up window of the enrolment has closed: adding or replacing ${FACTOR_NAME[kind]} now needs level ${FACTOR_SETUP_LEVEL[kind]} (you are at level ${a.level}) or a new enrolment code`
      : `adding or replacing ${FACTOR_NAME[kind]} needs level ${FACTOR_SETUP_LEVEL[kind]} (you are at level ${a.level}) or the enrolment flow with a one-time code`;
  }

  /** Throws 403 `factor_setup_not_allowed` (audited) unless the principal may set up `kind` now. */
  require(p: DevicePrincipal, kind: SetupFactor): void {
    const reason = this.refusal(p, kind);
    if (reason === null) return;
    this.ctx.audit.append({
      actor: `device:${p.device.id}`,
      action: 'factor.setup',
      subject: `authentication:${p.authentication.id}`,
      outcome: 'failure',
      reason: `${kind}: ${reason}`,
    });
    throw new DomainError('forbidden', 'factor_setup_not_allowed', reason, { factor: kind });
  }

  /** Record a set-up that succeeded (audit row, notices to the other devices). Runs inside the caller's transaction. */
  done(p: DevicePrincipal, kind: SetupFactor, subject: string): void {
    const a = this.authentications.get(p.authentication.id)!;
    this.ctx.audit.append({
      actor: `device:${p.device.id}`,
      action: 'factor.setup',
      subject,
      outcome: 'success',
      data: {
        factor: kind,
        authentication: a.id,
        by: a.level >= FACTOR_SETUP_LEVEL[kind] ? `level ${a.level}` : 'enrolment',
      },
    });
    this.notify(p.device.customer_id, p.device.id, NOTICE_OF[kind]);
  }

  view(p: DevicePrincipal): FactorSetupView {
    const a = this.authentications.get(p.authentication.id);
    const open = a?.setup_until != null && a.setup_until > this.ctx.clock.now();
    return {
      until: open ? iso(a.setup_until!) : null,
      pin: this.refusal(p, 'pin') === null,
      biometric: this.refusal(p, 'biometric') === null,
      photo: this.refusal(p, 'photo') === null,
    };
  }

  /** A notice for every other active device of the customer. */
  notify(customerId: string, byDeviceId: string, kind: SecurityNoticeKind): void {
    const now = this.ctx.clock.now();
    const others = this.ctx.db
      .prepare<[string, string], { id: string }>(
        'SELECT id FROM devices WHERE customer_id = ? AND id != ? AND revoked_at IS NULL',
      )
      .all(customerId, byDeviceId);
    const insert = this.ctx.db.prepare(
      'INSERT INTO security_notices (id, customer_id, device_id, kind, by_device_id, at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const d of others) insert.run(randomId(16), customerId, d.id, kind, byDeviceId, now);
  }

  async notices(deviceId: string): Promise<SecurityNotice[]> {
    return this.ctx.db
      .prepare<[string], NoticeRow>(
        `SELECT n.id, n.kind, n.at, n.by_device_id, d.label
           FROM security_notices n JOIN devices d ON d.id = n.by_device_id
          WHERE n.device_id = ? AND n.acknowledged_at IS NULL
          ORDER BY n.at, n.rowid LIMIT 50`,
      )
      .all(deviceId)
      .map((n) => ({
        noticeId: n.id,
        kind: n.kind,
        at: iso(n.at),
        byDevice: { deviceId: n.by_device_id, label: n.label },
      }));
  }

  async acknowledge(p: DevicePrincipal, noticeId: string): Promise<void> {
    const r = this.ctx.db
      .prepare(
        'UPDATE security_notices SET acknowledged_at = COALESCE(acknowledged_at, ?) WHERE id = ? AND device_id = ?',
      )
      .run(this.ctx.clock.now(), noticeId, p.device.id);
    if (r.changes !== 1) throw notFound('no such notice on this device');
    this.ctx.audit.append({
      actor: `device:${p.device.id}`,
      action: 'notice.acknowledge',
      subject: `notice:${noticeId}`,
      outcome: 'success',
    });
  }
}
