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
import { requireHolder } from '../pipeline/ownership.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { RequestRow } from '../pipeline/requests.ts';
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
  accessible(p: StaffPrincipal, requestId: string): RequestRow {
    const r = this.pipeline.requests.get(requestId);
    if (!r) throw notFound('no such request');
    if (p.staff.role === 'agent' && r.agent_id !== p.staff.id) throw forbidden('this request is not yours');
    return r;
  }

  async panel(p: StaffPrincipal, requestId: string): Promise<CustomerPanel> {
    const r = this.accessible(p, requestId);
    const db = this.ctx.db;
    const now = this.ctx.clock.now();
    const auth = this.authentications.get(r.authentication_id)!;
    const authView = await this.authentications.view(auth.id);
    const customer = db
      .prepare<[string], { id: string; display_name: string; attributes: string; account: string }>(
        'SELECT * FROM customers WHERE id = ?',
      )
      .get(r.customer_id)!;
    const attributes = JSON.parse(customer.attributes) as Record<string, unknown>;
    const account = JSON.parse(customer.account) as Record<string, unknown>;
    const device = r.device_id
      ? db
          .prepare<[string], { id: string; label: string | null; enrolled_at: number }>(
            'SELECT id, label, enrolled_at FROM devices WHERE id = ?',
          )
          .get(r.device_id)
      : undefined;
    const failedOnThis = db
      .prepare<[string], { n: number }>(
        "SELECT count(*) AS n FROM audit_log WHERE subject = ? AND outcome = 'failure'",
      )
      .get(`authentication:${auth.id}`)!.n;
    const recentFailures = device
      ? db
          .prepare<[string, number], { n: number }>(
            "SELECT count(*) AS n FROM audit_log WHERE actor = ? AND at >= ? AND outcome = 'failure'",
          )
          .get(`device:${device.id}`, now - FAILURE_WINDOW_MS)!.n
      : 0;
    const counterAnomaly = device
      ? !!db
          .prepare(
            'SELECT 1 FROM webauthn_credentials WHERE device_id = ? AND counter_anomaly_at IS NOT NULL',
          )
          .get(device.id)
      : false;
    const photo = (purpose: string) =>
      db
        .prepare<[string, string], { id: string; created_at: number }>(
          'SELECT id, created_at FROM photos WHERE customer_id = ? AND purpose = ? ORDER BY created_at DESC, rowid DESC LIMIT 1',
        )
        .get(r.customer_id, purpose);
    const enrolmentPhoto = photo('enrolment');
    const latestPhoto = photo('verification');
    // Voice is proven per call: only a ticket of the current holder under the current fence counts.
    const voice = r.agent_id
      ? db
          .prepare<[string, string, number], { proven_at: number }>(
            'SELECT proven_at FROM call_tickets WHERE request_id = ? AND agent_id = ? AND fence = ? AND proven_at IS NOT NULL ORDER BY proven_at DESC LIMIT 1',
          )
          .get(r.id, r.agent_id, r.fence)
      : undefined;
    // An expired verification unlocks nothing and counts as no verification at all.
    const effectiveLevel = this.authentications.effectiveLevel(auth);
    const pin = await pinState(this.ctx, r.customer_id);
    return {
      request: this.pipeline.requestView(r),
      customer: {
        customerId: customer.id,
        name: customer.display_name,
        tier: typeof attributes.tier === 'string' ? attributes.tier : null,
        segment: typeof attributes.segment === 'string' ? attributes.segment : null,
      },
      verification: {
        state: verificationState(effectiveLevel, r.required_level, failedOnThis),
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
        recentFailures,
        pinFailures: pin.failures,
        pinLockedUntil:
          pin.lockedUntil === 'admin' ? 'admin' : pin.lockedUntil === null ? null : iso(pin.lockedUntil),
        counterAnomaly,
      },
      photos: {
        enrolment: enrolmentPhoto ? { photoId: enrolmentPhoto.id, at: iso(enrolmentPhoto.created_at) } : null,
        latest: latestPhoto ? { photoId: latestPhoto.id, at: iso(latestPhoto.created_at) } : null,
        comparison: this.photos.comparison(auth.id, r.customer_id),
      },
      secure: this.pipeline.config.config.secureFields.map((f) =>
        effectiveLevel >= f.level
          ? { ...f, locked: false, value: account[f.field] ?? null }
          : { ...f, locked: true },
      ),
      voice: { verified: !!voice, at: voice ? iso(voice.proven_at) : null },
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
    const r = requireHolder(this.pipeline.requests, p.staff.id, requestId, fence);
    return await this.photos.compare(p.staff, r.authentication_id, r.customer_id, photoId, verdict);
  }

  async photo(
    p: StaffPrincipal,
    requestId: string,
    photoId: string,
  ): Promise<{ mediaType: string; bytes: Buffer }> {
    const r = this.accessible(p, requestId);
    const row = this.ctx.db
      .prepare<[string, string], { media_type: string; bytes: Buffer }>(
        'SELECT media_type, bytes FROM photos WHERE id = ? AND customer_id = ?',
      )
      .get(photoId, r.customer_id);
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
