/**
 * The Verified Desk customer SDK: what a company's app (or the web app in
 * customer/app) uses on the customer's phone. Browser-only: WebCrypto, IndexedDB,
 * fetch, WebSocket, WebAuthn, getUserMedia.
 */
export {
  AccessDevice,
  utcDay,
  type AccessDeviceOptions,
  type Enrolment,
  type StepUp,
} from './access-device.ts';
/** The token of a texted verification link (`https://<host>/v/<token>`) for `AccessDevice.useVerificationLink`. */
export { verificationLinkToken, verificationLinkUrl } from '../../protocol/src/app-links.ts';
export { AuthorityClient, AuthorityError, ProtocolError, type DeviceRouteId } from './client.ts';
export {
  BLOCK_REASON_TEXT,
  IncomingCallGuard,
  MemorySeenTickets,
  type BlockReason,
  type BlockedCall,
  type CallProofAnswer,
  type GuardedDevice,
  type ScreenResult,
  type SeenTickets,
  type VerifiedCall,
} from './call-guard.ts';
/** The agent's actions on this phone (remote control): verified commands as cards, typed answers, "Stop all". */
export {
  CommandInputError,
  DeviceCommands,
  type AgentCommand,
  type AgentCommandOf,
  type CommandHost,
  type DeviceCommandsEvents,
  type DeviceCommandsOptions,
  type RefusedCommand,
  type WithdrawReason,
} from './device-commands.ts';
/** The checks every command passes before it is shown (authority signature, binding, expiry, single use, order). */
export {
  COMMAND_REFUSAL_TEXT,
  CommandVerifier,
  type CommandBinding,
  type CommandMemory,
  type CommandRefusal,
  type CommandVerdict,
  type CommandVerifierOptions,
} from './command-verifier.ts';
/** Helpers to show commands and check the customer's input the way the authority will. */
export {
  SCREEN_TEXT,
  describeCommand,
  formatAmount,
  validateForm,
  validateText,
  type Checked,
  type FormAnswer,
  type FormDraft,
} from './command-input.ts';
/** Verified chat: messages with clientMsgId, resend and resume after a reconnect, receipts, typing. */
export {
  ATTACHMENT_ACCEPT,
  attachmentErrorText,
  attachmentName,
  ChatError,
  ChatSession,
  fileSize,
  linkParts,
  newClientMsgId,
  offeredChannels,
  type ChatDelivery,
  type ChatEntry,
  type ChatRefusal,
  type ChatRole,
  type ChatSessionEvents,
  type ChatSessionOptions,
  type ChatTransport,
} from './chat.ts';
/** The call that continues across a transfer: the new holder's call answered without ringing. */
export {
  CallContinuation,
  type CallContinuationEvents,
  type CallContinuationOptions,
  type ContinuationEnd,
  type ContinuingCall,
} from './call-continuation.ts';
export { Camera, frameToJpeg } from './camera.ts';
export { CallMedia } from './call-media.ts';
export {
  CALL_AUDIO_CONSTRAINTS,
  CustomerPhone,
  isHoldOffer,
  type CustomerPhoneEvents,
  type CustomerPhoneOptions,
  type PhoneRegistration,
} from './customer-phone.ts';
export { DeviceKey } from './device-key.ts';
export { RequestFeed, type FeedStatus, type WebSocketLike } from './feed.ts';
export { callProof, confirmationSignature, deviceProof } from './proofs.ts';
export { screenInvitation, proofHeader, type InvitationLike } from './sip-adapter.ts';
export { IndexedDbStore, MemoryStore, type KeyValueStore } from './storage.ts';
export { browserWebAuthn, hasPlatformBiometric, type WebAuthnCeremonies } from './webauthn.ts';
export { subscribeWebPush, webPushUnavailable } from './web-push.ts';
