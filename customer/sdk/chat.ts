/** Verified chat: the session both sides share (browser-common/chat-session.ts). */
export * from '../../browser-common/chat-session.ts';
