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
import type { Repos } from '../store/repos/index.ts';
import type { AuthenticationRow, Authentications } from './authentications.ts';
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

  /** Why authentication `a` may not set up `kind`, or null when it may. */
  private refusalOf(a: AuthenticationRow | undefined, kind: SetupFactor): string | null {
    if (!a || !this.authentications.isLive(a)) return 'the authentication has expired';
    if (a.level >= FACTOR_SETUP_LEVEL[kind]) return null;
    if (a.setup_until !== null && a.setup_until > this.ctx.clock.now()) return null;
    return a.setup_until !== null
      ? `the set-up window of the enrolment has closed: adding or replacing ${FACTOR_NAME[kind]} now needs level ${FACTOR_SETUP_LEVEL[kind]} (you are at level ${a.level}) or a new enrolment code`
      : `adding or replacing ${FACTOR_NAME[kind]} needs level ${FACTOR_SETUP_LEVEL[kind]} (you are at level ${a.level}) or the enrolment flow with a one-time code`;
  }

  private refused(p: DevicePrincipal, kind: SetupFactor, reason: string) {
    return {
      entry: {
        actor: `device:${p.device.id}`,
        action: 'factor.setup',
        subject: `authentication:${p.authentication.id}`,
        outcome: 'failure' as const,
        reason: `${kind}: ${reason}`,
      },
      error: new DomainError('forbidden', 'factor_setup_not_allowed', reason, { factor: kind }),
    };
  }

  /**
   * Inside the caller's unit: null when the principal may set up `kind` now; otherwise the
   * failure audit row is appended in the unit and the error returned: the caller returns
   * from its unit without writing and throws the error after the unit resolved.
   */
  async checkIn(r: Repos, p: DevicePrincipal, kind: SetupFactor): Promise<DomainError | null> {
    const reason = this.refusalOf(await r.authentications.get(p.authentication.id), kind);
    if (reason === null) return null;
    const { entry, error } = this.refused(p, kind, reason);
    await r.audit.append(entry);
    return error;
  }

  /** checkIn in a unit of its own: throws 403 `factor_setup_not_allowed` (audited) unless allowed. */
  async ensure(p: DevicePrincipal, kind: SetupFactor): Promise<void> {
    const refusal = await this.ctx.data.tx((r) => this.checkIn(r, p, kind));
    if (refusal) throw refusal;
  }

  private doneEntry(p: DevicePrincipal, a: AuthenticationRow, kind: SetupFactor, subject: string) {
    return {
      actor: `device:${p.device.id}`,
      action: 'factor.setup',
      subject,
      outcome: 'success' as const,
      data: {
        factor: kind,
        authentication: a.id,
        by: a.level >= FACTOR_SETUP_LEVEL[kind] ? `level ${a.level}` : 'enrolment',
      },
    };
  }

  /** Record a set-up that succeeded inside the caller's unit: notices to the other devices, the audit row. */
  async doneIn(r: Repos, p: DevicePrincipal, kind: SetupFactor, subject: string): Promise<void> {
    const a = await r.authentications.get(p.authentication.id);
    if (!a) throw new Error(`authentication ${p.authentication.id} missing`);
    await this.notifyIn(r, p.device.customer_id, p.device.id, NOTICE_OF[kind]);
    await r.audit.append(this.doneEntry(p, a, kind, subject));
  }

  /** What the device may set up now, from the authentication its request was verified with. */
  view(p: DevicePrincipal): FactorSetupView {
    const a = p.authentication;
    const open = a.setup_until !== null && a.setup_until > this.ctx.clock.now();
    return {
      until: open ? iso(a.setup_until!) : null,
      pin: this.refusalOf(a, 'pin') === null,
      biometric: this.refusalOf(a, 'biometric') === null,
      photo: this.refusalOf(a, 'photo') === null,
    };
  }

  /** A notice for every other active device of the customer, inside the caller's unit. */
  async notifyIn(r: Repos, customerId: string, byDeviceId: string, kind: SecurityNoticeKind): Promise<void> {
    const at = this.ctx.clock.now();
    const others = await r.devices.otherActiveDeviceIds(customerId, byDeviceId);
    await r.devices.insertNotices(
      others.map((deviceId) => ({
        id: randomId(16),
        customer_id: customerId,
        device_id: deviceId,
        kind,
        by_device_id: byDeviceId,
        at,
      })),
    );
  }

  /** The factors customer `customerId` has enrolled (the device's "me"). */
  async enrolled(customerId: string): Promise<{ pin: boolean; biometric: boolean; photo: boolean }> {
    return await this.ctx.data.read.factors.enrolled(customerId);
  }

  async notices(deviceId: string): Promise<SecurityNotice[]> {
    return (await this.ctx.data.read.devices.openNotices(deviceId)).map((n) => ({
      noticeId: n.id,
      kind: n.kind,
      at: iso(n.at),
      byDevice: { deviceId: n.by_device_id, label: n.label },
    }));
  }

  async acknowledge(p: DevicePrincipal, noticeId: string): Promise<void> {
    const now = this.ctx.clock.now();
    const found = await this.ctx.data.tx(async (r) => {
      if (!(await r.devices.acknowledgeNotice(noticeId, p.device.id, now))) return false;
      await r.audit.append({
        actor: `device:${p.device.id}`,
        action: 'notice.acknowledge',
        subject: `notice:${noticeId}`,
        outcome: 'success',
      });
      return true;
    });
    if (!found) throw notFound('no such notice on this device');
  }
}
