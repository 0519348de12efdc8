/**
 * Verified chat: the session both sides share (browser-common/chat-session.ts), with the
 * helpers for files: `ATTACHMENT_ACCEPT` (a file picker's accept), `fileSize(bytes)` and
 * `attachmentErrorText(name, error)` (a refused file in plain words). Files are sent with
 * `AccessDevice.sendChatFile` and read back with `AccessDevice.chatAttachment`.
 */
export * from '../../browser-common/chat-session.ts';
