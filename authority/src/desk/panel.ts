import type {
  CustomerPanel,
  DispositionShape,
  PhotoComparison,
  PhotoVerdict,
  VerificationState,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { forbidden, notFound } from '../errors.ts';
import type { Authentications } from '../identity/authentications.ts';
import type { PhotoFactor } from '../identity/photos.ts';
import { pinState } from '../identity/pin.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { RequestRow } from '../store/repos/requests.ts';
import type { StaffPrincipal } from '../staff/staff-accounts.ts';

const NEW_DEVICE_MS = 7 * 86_400_000;
const FAILURE_WINDOW_MS = 86_400_000;

/** The state shown to the agent: never a bare yes/no. */
export function verificationState(
  level: number,
  required: number,
  failedAttempts: number,
): VerificationState {
  if (level >= required && level > 0) return 'verified';
  if (failedAttempts > 0) return 'failed';
  return level > 0 ? 'partially_verified' : 'not_verified';
}

/**
 * The verified-customer panel. Secure fields whose level the authentication does not
 * reach are sent locked and without their value: the console cannot show what it
 * never received.
 */
export class CustomerPanels {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipeline: Pipeline,
    private readonly authentications: Authentications,
    private readonly photos: PhotoFactor,
  ) {}

  /** The request, if this staff member may see it: its current agent (offered or assigned), or a supervisor/admin. */
  async accessible(p: StaffPrincipal, requestId: string): Promise<RequestRow> {
    const r = await this.ctx.data.read.requests.get(requestId);
    if (!r) throw notFound('no such request');
    if (p.staff.role === 'agent' && r.agent_id !== p.staff.id) throw forbidden('this request is not yours');
    return r;
  }

  async panel(p: StaffPrincipal, requestId: string): Promise<CustomerPanel> {
    const r = await this.accessible(p, requestId);
    const read = this.ctx.data.read;
    const now = this.ctx.clock.now();
    const auth = (await read.authentications.get(r.authentication_id))!;
    const authView = await this.authentications.view(auth.id);
    const facts = await read.wrapUps.panelFacts(r.customer_id, r.device_id, auth.id, now - FAILURE_WINDOW_MS);
    const customer = facts.customer!;
    const device = facts.device;
    const attributes = JSON.parse(customer.attributes) as Record<string, unknown>;
    const account = JSON.parse(customer.account) as Record<string, unknown>;
    // Voice is proven per call: only a ticket of the current holder under the current fence counts.
    const voiceAt = r.agent_id ? await read.callTickets.provenAt(r.id, r.agent_id, r.fence) : undefined;
    // An expired verification unlocks nothing and counts as no verification at all.
    const effectiveLevel = this.authentications.effectiveLevel(auth);
    const pin = await pinState(this.ctx, r.customer_id);
    return {
      request: await this.pipeline.requestView(r),
      customer: {
        customerId: customer.id,
        name: customer.display_name,
        tier: typeof attributes.tier === 'string' ? attributes.tier : null,
        segment: typeof attributes.segment === 'string' ? attributes.segment : null,
      },
      verification: {
        state: verificationState(effectiveLevel, r.required_level, facts.failedOnAuthentication),
        level: effectiveLevel as typeof authView.level,
        requiredLevel: r.required_level as 0 | 1 | 2 | 3,
        authenticationId: auth.id,
        factors: authView.factors,
        expiresAt: authView.expiresAt,
        authenticatedAt: authView.createdAt,
      },
      device: device
        ? { deviceId: device.id, label: device.label, enrolledAt: iso(device.enrolled_at) }
        : null,
      risk: {
        newDevice: !!device && now - device.enrolled_at < NEW_DEVICE_MS,
        recentFailures: facts.recentDeviceFailures,
        pinFailures: pin.failures,
        pinLockedUntil:
          pin.lockedUntil === 'admin' ? 'admin' : pin.lockedUntil === null ? null : iso(pin.lockedUntil),
        counterAnomaly: facts.counterAnomaly,
      },
      photos: {
        enrolment: facts.enrolmentPhoto
          ? { photoId: facts.enrolmentPhoto.id, at: iso(facts.enrolmentPhoto.created_at) }
          : null,
        latest: facts.latestPhoto
          ? { photoId: facts.latestPhoto.id, at: iso(facts.latestPhoto.created_at) }
          : null,
        comparison: await this.photos.comparisonOf(auth.id, r.customer_id),
      },
      secure: this.pipeline.config.config.secureFields.map((f) =>
        effectiveLevel >= f.level
          ? { ...f, locked: false, value: account[f.field] ?? null }
          : { ...f, locked: true },
      ),
      voice: { verified: voiceAt !== undefined, at: voiceAt !== undefined ? iso(voiceAt) : null },
      custody: await this.pipeline.custody.list(r.id),
    };
  }

  /** The holder's verdict on a verification photo of this request (see PhotoFactor.compare). */
  async comparePhoto(
    p: StaffPrincipal,
    requestId: string,
    photoId: string,
    fence: number,
    verdict: PhotoVerdict,
  ): Promise<PhotoComparison> {
    const r = checkHolder(await this.ctx.data.read.requests.get(requestId), p.staff.id, fence);
    return await this.photos.compare(p.staff, r.authentication_id, r.customer_id, photoId, verdict);
  }

  async photo(
    p: StaffPrincipal,
    requestId: string,
    photoId: string,
  ): Promise<{ mediaType: string; bytes: Buffer }> {
    const r = await this.accessible(p, requestId);
    const row = await this.ctx.data.read.wrapUps.photo(photoId, r.customer_id);
    if (!row) throw notFound('no such photo for this customer');
    return { mediaType: row.media_type, bytes: row.bytes };
  }
}

/** True when `path` names a chain of codes in the disposition tree. */
export function validDisposition(tree: readonly DispositionShape[], path: readonly string[]): boolean {
  let level: readonly DispositionShape[] | undefined = tree;
  for (const code of path) {
    const node: DispositionShape | undefined = level?.find((d) => d.code === code);
    if (!node) return false;
    level = node.children;
  }
  return true;
}
