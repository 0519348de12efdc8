import { CHAT_UPLOAD_MAX_BYTES } from '../../protocol/src/bridge.ts';

/** How long an upload's parts wait for its `chat.attach` before they are dropped. */
const UPLOAD_TTL_MS = 5 * 60_000;

export class UploadError extends Error {}

/**
 * The parts of chat attachments on their way from the page (`chat.attachPart`), kept in
 * memory until `chat.attach` takes the whole file: in order, at most CHAT_UPLOAD_MAX_BYTES
 * in all, forgotten after UPLOAD_TTL_MS.
 */
export class ChatUploads {
  private readonly uploads = new Map<string, { parts: Buffer[]; size: number; timer: NodeJS.Timeout }>();

  /** Adds part `index` (the next one expected) of the upload; answers how many parts it holds. */
  add(uploadId: string, index: number, base64: string): number {
    let u = this.uploads.get(uploadId);
    if (!u) {
      if (index !== 0) throw new UploadError('this upload is unknown or expired: send the file again');
      const timer = setTimeout(() => this.uploads.delete(uploadId), UPLOAD_TTL_MS);
      timer.unref?.();
      u = { parts: [], size: 0, timer };
      this.uploads.set(uploadId, u);
    }
    if (index !== u.parts.length)
      throw new UploadError(`part ${index} out of order: ${u.parts.length} expected`);
    const bytes = Buffer.from(base64, 'base64');
    if (u.size + bytes.length > CHAT_UPLOAD_MAX_BYTES) {
      this.drop(uploadId);
      throw new UploadError(`files are limited to ${CHAT_UPLOAD_MAX_BYTES} bytes`);
    }
    u.parts.push(bytes);
    u.size += bytes.length;
    return u.parts.length;
  }

  /** The whole file, and the upload forgotten. */
  take(uploadId: string): Buffer {
    const u = this.uploads.get(uploadId);
    if (!u) throw new UploadError('this upload is unknown or expired: send the file again');
    this.drop(uploadId);
    return Buffer.concat(u.parts);
  }

  private drop(uploadId: string): void {
    const u = this.uploads.get(uploadId);
    if (u) clearTimeout(u.timer);
    this.uploads.delete(uploadId);
  }
}
