import {
  CancelCommandRequest,
  CommandOutcome,
  CommandParams,
  CommandReceipt,
  CommandView,
  ControlResumed,
  ControlStopped,
  CreateCommandRequest,
  PendingCommands,
  ReceiptList,
  RequestCommands,
  UpdateMenuRequest,
} from './device-control.ts';
import { RequestParams, RequestView } from './pipeline.ts';
import { ANY_STAFF, route, SUPERVISORS, type RouteDef } from './route-def.ts';
import {
  CancelTransferRequest,
  ReassignRequest,
  TakeOverRequest,
  TransferParams,
  TransferRequest,
  Transfers,
  TransferView,
} from './transfers.ts';

/** Remote control of the customer's device, transfers, and the supervisor's take-over and reassign. */
export const controlRoutes = {
  sendCommand: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/commands',
    summary:
      'Send a command to the device of an assigned request (current fence, strictly increasing seq); relayed as a JWS signed by the authority',
    description:
      "Sends a command to the device of the caller's assigned request. The authority checks the lease and fence, the session, that the customer has not stopped control, the level the command kind needs (confirm needs 2, end 0, others 1) and `seq`, stores and audits the command and relays it to the device as a JWS it signs (the device verifies it before showing anything). An `end` command cancels the other open ones. Fenced: `fence` must be the fencing number the caller holds the request under; after a transfer or take-over the old holder is refused (409 stale_fence), so a stale console cannot act for the new holder. Not repeatable: a `seq` is used once per fence (409 command_replayed). Caller: the staff member holding the request.",
    errors: {
      400: 'invalid_request: the body does not match the schema, or the command is more than 16 KiB of JSON.',
      403: "not_assigned: the caller does not hold the request (somebody else does, or it is not assigned); or the staff member's role is not allowed. level_too_low: the customer's level is below what the command needs (`details.required`, `details.current`).",
      409: 'stale_fence (`details.current`); control_stopped: the customer stopped remote control; seq_out_of_order (`details.lastSeq`) or command_replayed; factor_unavailable: a verify command for a factor the customer does not have or has locked; conflict: the request has no device.',
      410: "session_ended: the request's service session has ended.",
    },
    tag: 'control',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: CreateCommandRequest,
    response: CommandView,
    status: 201,
  }),
  requestCommands: route({
    method: 'GET',
    path: '/v1/agent/requests/:requestId/commands',
    summary:
      'Commands of a request, the last seq under the current fence and whether the customer stopped control',
    description:
      "The request's commands (oldest first) with their states and results, its current fencing number, the last `seq` used under it (the next command uses a greater one) and whether the customer stopped control. Caller: the agent holding the request, or a supervisor or admin. Changes nothing.",
    errors: {
      403: 'forbidden: an agent asking about a request that is not theirs.',
      404: 'not_found: no such request.',
    },
    tag: 'control',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    response: RequestCommands,
  }),
  updateMenu: route({
    method: 'POST',
    path: '/v1/agent/commands/:commandId/menu',
    summary: 'Edit a live menu command: the device gets the same command with revision + 1',
    description:
      'Edits an open menu command live: the device gets the same command with `revision` + 1, and an answer chosen from an older revision is refused. Audited. Fenced: `fence` is the fencing number the command was sent under, which must be the current one. Caller: the staff member holding the request.',
    errors: {
      400: 'invalid_request: the body does not match the schema, or the command is not a menu.',
      403: "not_assigned: the caller does not hold the request (somebody else does, or it is not assigned); or the staff member's role is not allowed. Or the command was sent under another fence.",
      404: 'not_found: no such command.',
      409: 'stale_fence; command_final: the command already has its final answer; conflict: the menu was changed meanwhile (try again).',
      410: 'command_expired: the command has expired.',
    },
    tag: 'control',
    auth: 'staff',
    roles: ANY_STAFF,
    params: CommandParams,
    body: UpdateMenuRequest,
    response: CommandView,
  }),
  cancelCommand: route({
    method: 'POST',
    path: '/v1/agent/commands/:commandId/cancel',
    summary: 'Withdraw a command the device has not answered',
    description:
      'Withdraws an open command the device has not answered: it becomes cancelled and the device is told. Audited. Fenced like the other holder actions. Caller: the staff member holding the request.',
    errors: {
      403: "not_assigned: the caller does not hold the request (somebody else does, or it is not assigned); or the staff member's role is not allowed. Or the command was sent under another fence.",
      404: 'not_found: no such command.',
      409: 'stale_fence; command_final: the command already has its final answer.',
      410: 'command_expired: the command has expired.',
    },
    tag: 'control',
    auth: 'staff',
    roles: ANY_STAFF,
    params: CommandParams,
    body: CancelCommandRequest,
    response: CommandView,
  }),

  deviceCommands: route({
    method: 'GET',
    path: '/v1/device/commands',
    summary: 'Signed commands waiting for this device (after a reconnect)',
    description:
      "The signed commands still open for this device (in fence and seq order), to catch up after a reconnect, and the device's open requests whose remote control the customer stopped. Verify each JWS before showing it. Caller: an authenticated device (device token + Device-Proof). Changes nothing.",
    tag: 'control',
    auth: 'device',
    response: PendingCommands,
  }),
  ackCommand: route({
    method: 'POST',
    path: '/v1/device/commands/:commandId/ack',
    summary: 'The command is on screen ("shown"); accepted once',
    description:
      'Tells the authority the command is on screen: its state becomes shown and the agent sees it. Audited. Caller: an authenticated device (device token + Device-Proof). Once: a second ack answers 409 already_acknowledged.',
    errors: {
      404: 'not_found: no such command of this device.',
      409: 'already_acknowledged; command_final: the command already has its final answer.',
      410: 'command_expired: the command has expired.',
    },
    tag: 'control',
    auth: 'device',
    params: CommandParams,
    response: CommandReceipt,
  }),
  commandResult: route({
    method: 'POST',
    path: '/v1/device/commands/:commandId/result',
    summary: 'The one final answer to a command: done (typed result), declined or failed',
    description:
      "The one final answer to a command: done with a result of the command's kind, declined, or failed with a reason. The authority checks the result against the command (a menu item of the current revision, the form's fields, a verify step-up recorded after the command, a confirm signature by this device's key over the transaction and the fingerprint (WebAuthn assertion, user verification required, over the transaction-bound challenge) or the PIN given now) and tells the agent; a confirmed transaction is answered with its receipt. Audited. Caller: an authenticated device (device token + Device-Proof). Once: a second answer is refused (409 command_final). Photos and screenshots are answered with POST /v1/device/commands/{commandId}/image.",
    errors: {
      400: 'invalid_result: the result does not fit the command; signature_invalid: the confirmation is not a signature by this device of this transaction, or the fingerprint assertion does not cover this transaction, lacks user verification or was used before; invalid_request: the body does not match the schema.',
      401: 'unauthorized: a wrong PIN given to confirm (counts towards the PIN lockout).',
      404: 'not_found: no such command of this device.',
      423: 'locked: the PIN is locked (Retry-After when it is a delay).',
      409: 'factor_missing: a confirmation without the fingerprint or PIN given now; factor_unavailable: no fingerprint registered on this device; command_final: the command already has its final answer; menu_revised: the menu changed (choose from the current revision, `details.revision`); factor_missing: no step-up was recorded since the command.',
      410: 'command_expired: the command has expired.',
    },
    tag: 'control',
    auth: 'device',
    params: CommandParams,
    body: CommandOutcome,
    response: CommandReceipt,
  }),
  commandImage: route({
    method: 'POST',
    path: '/v1/device/commands/:commandId/image',
    summary: 'Answer a photo or screenshot command with the image (JPEG or PNG): stored and recorded as done',
    description:
      'Answers a photo or screenshot command with the image (JPEG or PNG, at most 2 MiB): a photo is stored as a verification photo of the current authentication (it counts once the agent compares it), a screenshot as an image of the request; the command becomes done. Audited. Caller: an authenticated device (device token + Device-Proof). Once: a second image is refused (409 command_final).',
    errors: {
      400: 'invalid_result: the command is not a photo or screenshot command; invalid_request: the body is empty, truncated or not the image its Content-Type says.',
      404: 'not_found: no such command of this device.',
      409: 'command_final: the command already has its final answer.',
      410: 'command_expired: the command has expired.',
    },
    tag: 'control',
    auth: 'device',
    params: CommandParams,
    bodyKind: 'image',
    response: CommandReceipt,
  }),
  deviceReceipts: route({
    method: 'GET',
    path: '/v1/device/receipts',
    summary: "Receipts of the customer's confirmed transactions, newest first",
    description:
      'The receipts of the transactions the customer confirmed (with the fingerprint or the PIN entered at that moment), newest first, at most 200: number, time, payee, amount, reference, the debited account (masked) and the factor used. Caller: an authenticated device (device token + Device-Proof) of the customer. Changes nothing.',
    tag: 'control',
    auth: 'device',
    response: ReceiptList,
  }),
  stopControl: route({
    method: 'POST',
    path: '/v1/device/requests/:requestId/control/stop',
    summary: 'The customer stops all remote control: pending commands cancelled, new ones refused',
    description:
      'The customer stops all remote control of the request: open commands are cancelled and new ones refused (409 control_stopped) until resumed; the agent is told. Audited. Caller: an authenticated device (device token + Device-Proof). Idempotent: stopping again keeps the first `stoppedAt`.',
    errors: {
      404: 'not_found: no such request of this device.',
    },
    tag: 'control',
    auth: 'device',
    params: RequestParams,
    response: ControlStopped,
  }),
  resumeControl: route({
    method: 'POST',
    path: '/v1/device/requests/:requestId/control/resume',
    summary: 'The customer allows remote control again',
    description:
      'The customer allows remote control of the request again; the agent is told. Audited. Caller: an authenticated device (device token + Device-Proof). Idempotent.',
    errors: {
      404: 'not_found: no such request of this device.',
    },
    tag: 'control',
    auth: 'device',
    params: RequestParams,
    response: ControlResumed,
  }),

  transfer: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/transfer',
    summary:
      'Transfer an assigned request (current fence): blind or warm, to an agent, a supervisor or a queue; the verification is kept',
    description:
      "Transfers the caller's assigned request, keeping the customer's authentication and session: blind to a person (offered to them at once under a new fence) or to a queue (waiting again, original enqueue time and priority kept); warm to a person (a consult offer, 120 s; ownership moves with a new fence when they accept, and the caller may cancel before). The caller goes back to available, owing no wrap-up. Audited. Fenced: `fence` must be the fencing number the caller holds the request under; after a transfer or take-over the old holder is refused (409 stale_fence), so a stale console cannot act for the new holder. Each call starts another transfer. Caller: the staff member holding the request.",
    errors: {
      400: 'invalid_request: the body does not match the schema, a warm transfer to a queue, or a transfer to a supervisor whose role is agent.',
      403: "not_assigned: the caller does not hold the request (somebody else does, or it is not assigned); or the staff member's role is not allowed.",
      404: 'not_found: no such request, staff member (or disabled) or queue.',
      409: 'stale_fence; target_unavailable: the target is the caller, an agent who is offline, holds a request or an offer, or is considering another transfer; conflict: the request changed meanwhile (try again).',
    },
    tag: 'transfers',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: TransferRequest,
    response: TransferView,
    status: 201,
  }),
  myTransfers: route({
    method: 'GET',
    path: '/v1/agent/transfers',
    summary: 'Open warm transfers: consult offers waiting for me, and mine waiting for others',
    description:
      "Open warm transfers: consult offers waiting for the caller and the caller's own waiting for others (consults whose request moved on are closed on the way). Caller: any logged-in staff member (agent, supervisor, admin).",
    tag: 'transfers',
    auth: 'staff',
    roles: ANY_STAFF,
    response: Transfers,
  }),
  acceptTransfer: route({
    method: 'POST',
    path: '/v1/agent/transfers/:transferId/accept',
    summary: 'Accept a warm transfer: ownership moves to me with a new fencing number',
    description:
      'Accepts a warm consult offered to the caller: the request is assigned to them under a new fencing number and the transferring agent is released. Audited. Caller: the target of the transfer. Once: the transfer is then closed (409 transfer_closed).',
    errors: {
      404: 'not_found: no such warm transfer offered to the caller.',
      409: 'transfer_closed: the transfer is no longer open (accepted, declined, cancelled, expired, or the request moved on); target_unavailable: the caller holds another request.',
    },
    tag: 'transfers',
    auth: 'staff',
    roles: ANY_STAFF,
    params: TransferParams,
    response: TransferView,
  }),
  declineTransfer: route({
    method: 'POST',
    path: '/v1/agent/transfers/:transferId/decline',
    summary: 'Decline a warm transfer: the transferring agent keeps the request',
    description:
      'Declines a warm consult offered to the caller: the transferring agent keeps the request. Audited. Caller: the target of the transfer. Once: the transfer is then closed (409 transfer_closed).',
    errors: {
      404: 'not_found: no such warm transfer offered to the caller.',
      409: 'transfer_closed: the transfer is no longer open.',
    },
    tag: 'transfers',
    auth: 'staff',
    roles: ANY_STAFF,
    params: TransferParams,
    response: TransferView,
  }),
  cancelTransfer: route({
    method: 'POST',
    path: '/v1/agent/transfers/:transferId/cancel',
    summary: 'Cancel my warm transfer before it is accepted',
    description:
      'The transferring agent withdraws a warm transfer before it is accepted. Audited. Fenced: `fence` is the fencing number the caller still holds the request under. Caller: the agent who started the transfer. Once: the transfer is then closed (409 transfer_closed).',
    errors: {
      403: "not_assigned: the caller does not hold the request (somebody else does, or it is not assigned); or the staff member's role is not allowed.",
      404: 'not_found: no such warm transfer started by the caller.',
      409: 'stale_fence; transfer_closed: the transfer is no longer open.',
    },
    tag: 'transfers',
    auth: 'staff',
    roles: ANY_STAFF,
    params: TransferParams,
    body: CancelTransferRequest,
    response: TransferView,
  }),

  takeOver: route({
    method: 'POST',
    path: '/v1/supervisor/requests/:requestId/take-over',
    summary: 'The supervisor becomes the owner of an assigned request (new fencing number)',
    description:
      "The supervisor becomes the holder of an assigned request at once, under a new fencing number (the customer keeps their verification; the previous holder's commands, tickets and wrap-up for the old fence are refused from then on). Optional `fence`: act only if the request is still at the fence the board showed. Audited. Caller: a supervisor or an admin.",
    errors: {
      404: 'not_found: no such request.',
      409: 'stale_fence: the request is no longer at `fence`; conflict: the request is not assigned, or the caller already holds it; target_unavailable: the caller holds another request.',
    },
    tag: 'supervisor',
    auth: 'staff',
    roles: SUPERVISORS,
    params: RequestParams,
    body: TakeOverRequest,
    response: RequestView,
  }),
  reassign: route({
    method: 'POST',
    path: '/v1/supervisor/requests/:requestId/reassign',
    summary: 'Offer a request (assigned, offered or waiting) to another agent (new fencing number)',
    description:
      'Offers a request (assigned, offered or waiting) to another agent at once, under a new fencing number, like a blind transfer. Optional `fence`: act only if the request is still at the fence the board showed. Audited. Caller: a supervisor or an admin.',
    errors: {
      404: 'not_found: no such request, or no such (enabled) staff member.',
      409: 'stale_fence: the request is no longer at `fence`; conflict: the request is completed, abandoned or scheduled, or changed meanwhile; target_unavailable: the staff member already holds it, is an offline agent, or holds a request or an offer.',
    },
    tag: 'supervisor',
    auth: 'staff',
    roles: SUPERVISORS,
    params: RequestParams,
    body: ReassignRequest,
    response: TransferView,
  }),
} as const satisfies Record<string, RouteDef>;

export type ControlRouteId = keyof typeof controlRoutes;
