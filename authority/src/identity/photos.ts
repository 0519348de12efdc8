import {
  LIMITS,
  type PHOTO_TYPES,
  type PhotoComparison,
  type PhotoVerdict,
  type VerificationPolicy,
} from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, DomainError, notFound } from '../errors.ts';
import { iso } from '../clock.ts';
import { randomId } from '../ids.ts';
import { sniffType } from '../sniff.ts';
import type { Repos } from '../store/repos/index.ts';
import type { Authentications, AuthenticationRow } from './authentications.ts';
import type { DevicePrincipal } from './devices.ts';
import type { FactorSetup } from './factor-setup.ts';

type PhotoType = (typeof PHOTO_TYPES)[number];

const MIN_BYTES = 64;

/** The content really is what the Content-Type says (magic bytes), within the size limit. */
export function checkPhoto(mediaType: string, bytes: Buffer): PhotoType {
  if (mediaType !== 'image/jpeg' && mediaType !== 'image/png')
    throw new DomainError(
      'unsupported_type',
      'unsupported_media_type',
      'photos must be image/jpeg or image/png',
    );
  if (bytes.length > LIMITS.photoBytes)
    throw new DomainError(
      'too_large',
      'payload_too_large',
      `photos are limited to ${LIMITS.photoBytes} bytes`,
    );
  if (bytes.length < MIN_BYTES) throw badRequest('photo is empty or truncated');
  if (sniffType(bytes) !== mediaType) throw badRequest(`content is not a ${mediaType} image`);
  return mediaType;
}

const NO_ENROLMENT_PHOTO = 'there is no enrolment photo on file to compare with';
const PIN_LOCKED = 'the PIN is locked: a photo cannot stand in for it';
const KNOWLEDGE_LOCKED = 'the security questions are locked: a photo cannot stand in for them';

/** A stored photo: its id, the authentication as it is now, whether it waits for a comparison that could count. */
export interface StoredPhoto {
  photoId: string;
  authentication: AuthenticationRow;
  pendingComparison: boolean;
}

/**
 * Photos: the enrolment photo (the reference), and verification photos. A verification
 * photo proves nothing by itself (any picture can be sent): it becomes the "photo"
 * factor only when the agent holding the request has compared it with the enrolment
 * photo and recorded a match. It cannot count at all when there is no enrolment photo,
 * nor while another factor of the customer is locked out, unless the verification policy
 * allows that.
 *
 * The methods taking `r: Repos` run inside the caller's unit of work (or on
 * `ctx.data.read` for a read).
 */
export class PhotoFactor {
  constructor(
    private readonly ctx: Ctx,
    private readonly authentications: Authentications,
    private readonly setup: FactorSetup,
    private readonly policy: () => VerificationPolicy,
  ) {}

  /** Why a verification photo cannot verify this customer now, or null when it can (as `r` sees the data). */
  async unavailableIn(r: Repos, customerId: string): Promise<string | null> {
    if (!(await r.factors.hasEnrolmentPhoto(customerId))) return NO_ENROLMENT_PHOTO;
    if (this.policy().photoWhileFactorLocked) return null;
    const now = this.ctx.clock.now();
    if (await r.factors.pinLockedAt(customerId, now)) return PIN_LOCKED;
    if (await r.factors.knowledgeLockedAt(customerId, now)) return KNOWLEDGE_LOCKED;
    return null;
  }

  /** The latest verification photo of an authentication, with its comparison (as `r` sees the data). */
  async comparisonIn(
    r: Repos,
    authenticationId: string,
    customerId: string,
  ): Promise<PhotoComparison | null> {
    const row = await r.factors.latestVerificationPhoto(authenticationId);
    if (!row) return null;
    return {
      photoId: row.id,
      verdict: row.verdict ?? 'pending',
      comparedBy: row.compared_by_name,
      comparedAt: row.compared_at === null ? null : iso(row.compared_at),
      unavailable: row.verdict ? null : await this.unavailableIn(r, customerId),
    };
  }

  /** comparisonIn on committed data. */
  async comparisonOf(authenticationId: string, customerId: string): Promise<PhotoComparison | null> {
    return await this.comparisonIn(this.ctx.data.read, authenticationId, customerId);
  }

  /** Whether the authentication has a verification photo waiting for a comparison that could count. */
  async hasPendingComparisonIn(r: Repos, authenticationId: string, customerId: string): Promise<boolean> {
    const c = await this.comparisonIn(r, authenticationId, customerId);
    return c !== null && c.verdict === 'pending' && c.unavailable === null;
  }

  /**
   * Store a photo, in a unit of its own. An enrolment photo needs the set-up right
   * (FactorSetup). A verification photo is linked to the current authentication and waits
   * for the agent's comparison; when `requireComparable` (the customer's own step-up) it is
   * refused with factor_unavailable if it could not count.
   */
  async upload(
    p: DevicePrincipal,
    purpose: 'enrolment' | 'verification',
    mediaType: string,
    bytes: Buffer,
    opts: { requireComparable?: boolean } = {},
  ): Promise<StoredPhoto> {
    let type: PhotoType;
    try {
      type = checkPhoto(mediaType, bytes);
    } catch (e) {
      await this.ctx.data.tx((r) =>
        r.audit.append({
          actor: `device:${p.device.id}`,
          action: `photo.${purpose}`,
          outcome: 'failure',
          reason: (e as Error).message,
        }),
      );
      throw e;
    }
    const stored = await this.ctx.data.tx((r) => this.storeIn(r, p, purpose, type, bytes, opts));
    if ('refused' in stored) throw stored.refused;
    return stored;
  }

  /**
   * upload() of a checked photo inside the caller's unit: a refusal (its failure audit row
   * appended, nothing stored) is returned for the caller to throw after the unit resolved.
   * A stored photo writes `authentication.changed` in the unit (the agent's panel shows it).
   */
  async storeIn(
    r: Repos,
    p: DevicePrincipal,
    purpose: 'enrolment' | 'verification',
    type: PhotoType,
    bytes: Buffer,
    opts: { requireComparable?: boolean } = {},
  ): Promise<StoredPhoto | { refused: DomainError }> {
    // The enrolment photo is the reference verification photos are compared with.
    if (purpose === 'enrolment') {
      const refused = await this.setup.checkIn(r, p, 'photo');
      if (refused) return { refused };
    }
    const unavailable = purpose === 'verification' ? await this.unavailableIn(r, p.device.customer_id) : null;
    if (unavailable && opts.requireComparable) {
      await r.audit.append({
        actor: `device:${p.device.id}`,
        action: 'auth.photo',
        subject: `authentication:${p.authentication.id}`,
        outcome: 'failure',
        reason: unavailable,
      });
      return {
        refused: new DomainError(
          'conflict',
          'factor_unavailable',
          `a photo cannot verify you now: ${unavailable}`,
        ),
      };
    }
    const photoId = randomId(16);
    await r.factors.insertPhoto({
      id: photoId,
      customer_id: p.device.customer_id,
      device_id: p.device.id,
      authentication_id: p.authentication.id,
      purpose,
      media_type: type,
      bytes,
      created_at: this.ctx.clock.now(),
    });
    if (purpose === 'enrolment') await this.setup.doneIn(r, p, 'photo', `photo:${photoId}`);
    await r.audit.append({
      actor: `device:${p.device.id}`,
      action: purpose === 'verification' ? 'photo.verification' : 'photo.enrolment',
      subject: `photo:${photoId}`,
      outcome: 'success',
      ...(purpose === 'verification'
        ? { data: { authentication: p.authentication.id, comparable: !unavailable } }
        : {}),
    });
    await this.authentications.changedIn(r, p.authentication.id);
    return {
      photoId,
      authentication: (await this.authentications.getIn(r, p.authentication.id))!,
      pendingComparison: purpose === 'verification' && !unavailable,
    };
  }

  /**
   * The agent's verdict on a verification photo of the request's authentication (the
   * caller has checked that `staff` holds the request). Once per photo; a match adds the
   * "photo" factor, recorded with who compared; a mismatch is a failed verification.
   * Checked and recorded in one unit of work.
   */
  async compare(
    staff: { id: string; display_name: string },
    authenticationId: string,
    customerId: string,
    photoId: string,
    verdict: PhotoVerdict,
  ): Promise<PhotoComparison> {
    const actor = `staff:${staff.id}`;
    const outcome = await this.ctx.data.tx(
      async (r): Promise<{ refused: DomainError } | { comparison: PhotoComparison }> => {
        const row = await r.factors.verificationPhoto(photoId, authenticationId);
        if (!row)
          return { refused: notFound("no such verification photo for this request's authentication") };
        if (row.verdict)
          return { refused: conflict(`this photo was already compared (${row.verdict.replace('_', ' ')})`) };
        const unavailable = await this.unavailableIn(r, customerId);
        if (verdict === 'match' && unavailable)
          return {
            refused: new DomainError(
              'conflict',
              'factor_unavailable',
              `a photo cannot verify this customer now: ${unavailable}`,
            ),
          };
        if (!(await r.factors.recordVerdict(photoId, verdict, staff.id, this.ctx.clock.now())))
          return { refused: conflict('this photo was already compared') };
        await r.audit.append({
          actor,
          action: 'photo.compare',
          subject: `photo:${photoId}`,
          outcome: 'success',
          data: { verdict, authentication: authenticationId },
        });
        if (verdict === 'match')
          await this.authentications.addFactorIn(
            r,
            authenticationId,
            'photo',
            row.device_id,
            `photo ${photoId} compared with the enrolment photo by ${staff.display_name}`,
          );
        else {
          await r.audit.append({
            actor,
            action: 'auth.photo',
            subject: `authentication:${authenticationId}`,
            outcome: 'failure',
            reason: `the photo does not match the enrolment photo (compared by ${staff.display_name})`,
          });
          await this.authentications.changedIn(r, authenticationId);
        }
        return { comparison: (await this.comparisonIn(r, authenticationId, customerId))! };
      },
    );
    if ('refused' in outcome) throw outcome.refused;
    return outcome.comparison;
  }
}
