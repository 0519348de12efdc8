import { LIMITS, type PHOTO_TYPES } from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { badRequest, HttpError } from '../http/errors.ts';
import { randomId } from '../ids.ts';
import type { Authentications, AuthenticationRow } from './authentications.ts';
import type { DevicePrincipal } from './devices.ts';
import type { FactorSetup } from './factor-setup.ts';

type PhotoType = (typeof PHOTO_TYPES)[number];

const MAGIC: Record<PhotoType, number[]> = {
  'image/jpeg': [0xff, 0xd8, 0xff],
  'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
};
const MIN_BYTES = 64;

/** The content really is what the Content-Type says (magic bytes), within the size limit. */
export function checkPhoto(mediaType: string, bytes: Buffer): PhotoType {
  if (mediaType !== 'image/jpeg' && mediaType !== 'image/png')
    throw new HttpError(415, 'unsupported_media_type', 'photos must be image/jpeg or image/png');
  if (bytes.length > LIMITS.photoBytes)
    throw new HttpError(413, 'payload_too_large', `photos are limited to ${LIMITS.photoBytes} bytes`);
  if (bytes.length < MIN_BYTES) throw badRequest('photo is empty or truncated');
  if (!MAGIC[mediaType].every((b, i) => bytes[i] === b))
    throw badRequest(`content is not a ${mediaType} image`);
  return mediaType;
}

/** Photos: the enrolment photo, and verification photos that add the "photo" factor to the current authentication. */
export class PhotoFactor {
  constructor(
    private readonly ctx: Ctx,
    private readonly authentications: Authentications,
    private readonly setup: FactorSetup,
  ) {}

  hasEnrolmentPhoto(customerId: string): boolean {
    return !!this.ctx.db
      .prepare("SELECT 1 FROM photos WHERE customer_id = ? AND purpose = 'enrolment'")
      .get(customerId);
  }

  store(
    p: DevicePrincipal,
    purpose: 'enrolment' | 'verification',
    mediaType: string,
    bytes: Buffer,
  ): { photoId: string; authentication: AuthenticationRow | null } {
    let type: PhotoType;
    try {
      type = checkPhoto(mediaType, bytes);
    } catch (e) {
      this.ctx.audit.append({
        actor: `device:${p.device.id}`,
        action: `photo.${purpose}`,
        outcome: 'failure',
        reason: (e as Error).message,
      });
      throw e;
    }
    // The enrolment photo is the reference verification photos are compared with.
    if (purpose === 'enrolment') this.setup.require(p, 'photo');
    const photoId = randomId(16);
    const now = this.ctx.clock.now();
    const authentication = this.ctx.db.transaction(() => {
      this.ctx.db
        .prepare(
          'INSERT INTO photos (id, customer_id, device_id, authentication_id, purpose, media_type, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(photoId, p.device.customer_id, p.device.id, p.authentication.id, purpose, type, bytes, now);
      if (purpose === 'enrolment') this.setup.done(p, 'photo', `photo:${photoId}`);
      return purpose === 'verification'
        ? this.authentications.addFactor(p.authentication.id, 'photo', p.device.id, `photo ${photoId}`)
        : null;
    })();
    this.ctx.audit.append({
      actor: `device:${p.device.id}`,
      action: purpose === 'verification' ? 'auth.photo' : 'photo.enrolment',
      subject: `photo:${photoId}`,
      outcome: 'success',
    });
    return { photoId, authentication };
  }
}
