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
export {
  AgentRequestRegistry,
  type AgentRequest,
  type AgentRequestHandler,
  type AgentRequestKind,
  type AgentRequestKinds,
} from './agent-requests.ts';
export { Camera, frameToJpeg } from './camera.ts';
export { CallMedia } from './call-media.ts';
export {
  CALL_AUDIO_CONSTRAINTS,
  CustomerPhone,
  type CustomerPhoneEvents,
  type CustomerPhoneOptions,
  type PhoneRegistration,
} from './customer-phone.ts';
export { DeviceKey } from './device-key.ts';
export { RequestFeed, type FeedStatus, type WebSocketLike } from './feed.ts';
export { callProof, deviceProof } from './proofs.ts';
export { screenInvitation, proofHeader, type InvitationLike } from './sip-adapter.ts';
export { IndexedDbStore, MemoryStore, type KeyValueStore } from './storage.ts';
export { browserWebAuthn, hasPlatformBiometric, type WebAuthnCeremonies } from './webauthn.ts';
