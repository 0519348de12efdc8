import type { AgentAttachmentQuery, AttachmentQuery, AttachmentSent } from '../../../protocol/src/chat.ts';
import type { AttachmentType } from '../../../protocol/src/common.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, DomainError, notFound, rateLimited } from '../errors.ts';
import type { DevicePrincipal } from '../identity/devices.ts';
import { notAssigned } from '../pipeline/ownership.ts';
import type { StaffRow } from '../staff/staff-accounts.ts';
import type { ChatAttachmentRow } from '../store/repos/chat.ts';
import type { ChatParty, ChatService, NewAttachment, RefusedCode } from './chat-service.ts';
import type { Transcripts } from './transcripts.ts';
import { sniffType } from '../sniff.ts';

/** The stored file as the download routes answer it. */
export interface AttachmentFile {
  mediaType: AttachmentType;
  name: string;
  bytes: Buffer;
}

const unsupported = (message: string) =>
  new DomainError('unsupported_type', 'unsupported_media_type', message);

/**
 * Chat attachments (README.md "Attachments"): a file (PNG, JPEG, WebP or PDF, the declared
 * type agreeing with the sniffed one, within config chatAttachmentMaxBytes) sent as a
 * message of its own through ChatService.store (same rate limit, holder and fence checks,
 * persisted with its message before the answer), and downloaded by the two parties and the
 * staff who may read the transcript.
 */
export class ChatAttachments {
  constructor(
    private readonly ctx: Ctx,
    private readonly chat: ChatService,
    private readonly transcripts: Transcripts,
  ) {}

  /** The customer's device sends a file on its own request (404 for any other). */
  async fromDevice(
    p: DevicePrincipal,
    requestId: string,
    q: AttachmentQuery,
    declared: string,
    bytes: Buffer,
  ): Promise<AttachmentSent> {
    // The file first: bytes that are not what they claim are refused whoever asks.
    const party: ChatParty = { kind: 'device', deviceId: p.device.id };
    const file = await this.check(party, requestId, q.name, declared, bytes);
    const req = await this.ctx.data.read.requests.get(requestId);
    if (!req || req.device_id !== p.device.id) throw notFound('no such conversation');
    const out = await this.chat.store(party, 'customer', req, {
      clientMsgId: q.clientMsgId,
      fence: undefined,
      text: q.caption ?? q.name,
      attachment: file,
    });
    return this.answer(requestId, q.clientMsgId, out);
  }

  /** The agent holding the request (under `fence`) sends a file. */
  async fromAgent(
    staff: StaffRow,
    requestId: string,
    q: AgentAttachmentQuery,
    declared: string,
    bytes: Buffer,
  ): Promise<AttachmentSent> {
    const party: ChatParty = { kind: 'staff', staffId: staff.id, role: staff.role };
    const file = await this.check(party, requestId, q.name, declared, bytes);
    const req = await this.ctx.data.read.requests.get(requestId);
    if (!req) throw notFound('no such request');
    const out = await this.chat.store(party, 'agent', req, {
      clientMsgId: q.clientMsgId,
      fence: Number(q.fence),
      text: q.caption ?? q.name,
      attachment: file,
    });
    return this.answer(requestId, q.clientMsgId, out);
  }

  /** A file of one of the device's customer's conversations (404 for anyone else's). */
  async forDevice(p: DevicePrincipal, requestId: string, attachmentId: string): Promise<AttachmentFile> {
    const req = await this.ctx.data.read.requests.get(requestId);
    if (!req || req.customer_id !== p.device.customer_id) throw notFound('no such attachment');
    return fileOf(await this.ctx.data.read.chat.attachment(requestId, attachmentId));
  }

  /** A file of a request's transcript for staff who may read it (supervisors' reads audited). */
  async forStaff(staff: StaffRow, requestId: string, attachmentId: string): Promise<AttachmentFile> {
    const req = await this.ctx.data.read.requests.get(requestId);
    if (!req) throw notFound('no such request');
    const supervisor = await this.transcripts.checkStaffMayRead(staff, requestId);
    const file = fileOf(await this.ctx.data.read.chat.attachment(requestId, attachmentId));
    if (supervisor)
      await this.ctx.data.tx((r) =>
        r.audit.append({
          actor: `staff:${staff.id}`,
          action: 'chat.attachment.read',
          subject: `request:${requestId}`,
          outcome: 'success',
          data: { attachmentId },
        }),
      );
    return file;
  }

  /** Type sniffed from the magic numbers and equal to the declared one, size within the limit; a refusal is audited. */
  private async check(
    party: ChatParty,
    requestId: string,
    name: string,
    declared: string,
    bytes: Buffer,
  ): Promise<NewAttachment> {
    const max = this.ctx.config.chatAttachmentMaxBytes;
    const sniffed = sniffType(bytes);
    const refusal =
      bytes.length === 0
        ? badRequest('the file is empty')
        : bytes.length > max
          ? new DomainError('too_large', 'payload_too_large', `attachments are limited to ${max} bytes`)
          : sniffed === null
            ? unsupported('the file is not a PNG, JPEG, WebP image nor a PDF')
            : sniffed !== declared
              ? unsupported(`the file is a ${sniffed}, not the ${declared} its Content-Type says`)
              : null;
    if (refusal) {
      await this.ctx.data.tx((r) =>
        r.audit.append({
          actor: party.kind === 'device' ? `device:${party.deviceId}` : `staff:${party.staffId}`,
          action: 'chat.attachment',
          subject: `request:${requestId}`,
          outcome: 'failure',
          reason: refusal.message,
          data: { declared, sniffed, size: bytes.length },
        }),
      );
      throw refusal;
    }
    return { kind: sniffed === 'application/pdf' ? 'pdf' : 'image', mediaType: sniffed!, name, bytes };
  }

  private answer(
    requestId: string,
    clientMsgId: string,
    out: Awaited<ReturnType<ChatService['store']>>,
  ): AttachmentSent {
    if (out.refused !== undefined) throw refusedError(out.refused, out.retryAfterSeconds);
    return { requestId, clientMsgId, seq: out.message.seq, message: out.message };
  }
}

function fileOf(row: ChatAttachmentRow | undefined): AttachmentFile {
  if (!row) throw notFound('no such attachment');
  return { mediaType: row.media_type as AttachmentType, name: row.name, bytes: Buffer.from(row.bytes) };
}

/** A chat.refused code as the HTTP routes answer it. */
function refusedError(code: RefusedCode, retryAfterSeconds?: number): DomainError {
  switch (code) {
    case 'not_holder':
      return notAssigned('you do not hold this request (any more)');
    case 'stale_fence':
      return new DomainError('conflict', 'stale_fence', 'stale fencing number: reload the request');
    case 'ended':
      return conflict('the conversation has ended');
    case 'rate_limited':
      return rateLimited('too many messages: wait a little', retryAfterSeconds ?? 1);
  }
}
