import type { AttachmentType } from '../../protocol/src/common.ts';

/**
 * What a file is, from its bytes' magic numbers (never from what the sender says): the one
 * table of the types the authority stores (chat attachments, verification photos). WebP is
 * RIFF....WEBP.
 */
const MAGIC: readonly { type: AttachmentType; at: number; bytes: readonly number[] }[][] = [
  [{ type: 'image/png', at: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] }],
  [{ type: 'image/jpeg', at: 0, bytes: [0xff, 0xd8, 0xff] }],
  [
    { type: 'image/webp', at: 0, bytes: [0x52, 0x49, 0x46, 0x46] },
    { type: 'image/webp', at: 8, bytes: [0x57, 0x45, 0x42, 0x50] },
  ],
  [{ type: 'application/pdf', at: 0, bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] }],
];

/** The type the bytes' magic numbers say, or null when they are none of ATTACHMENT_TYPES. */
export function sniffType(bytes: Uint8Array): AttachmentType | null {
  for (const parts of MAGIC)
    if (parts.every((p) => p.bytes.every((b, i) => bytes[p.at + i] === b))) return parts[0]!.type;
  return null;
}
