import { z } from 'zod';
import { AppleAppSiteAssociation, AssetLinks, VerificationLinkToken } from './app-links.ts';
import { CALL_TICKET_HEADER, PHONE_CALL_TICKET_TYP } from './calls.ts';
import { IsoTime, OpaqueId } from './common.ts';
import { ExternalRef } from './customers.ts';
import { ConfigId, FenceBody, RequestParams } from './pipeline.ts';
import { ANY_STAFF, route, type RouteDef } from './route-def.ts';
import { SipCallId, SipUserName } from './sip.ts';

/**
 * Calls from the phone network (issue 14): the SIP server (Kamailio) in front of a
 * carrier's SIP trunk asks the authority what becomes of each call that passed its gate,
 * and says when the caller hangs up. Only the SIP server calls these routes (auth
 * `sipServer`: the secret it shares with the authority).
 */

export const TrunkCallParams = z.strictObject({
  callId: SipCallId.describe("The call's SIP Call-ID."),
});

export const TrunkCallArrival = z.strictObject({
  callId: SipCallId.describe("The call's SIP Call-ID (a retry with the same one finds the same request)."),
  caller: z
    .string()
    .max(32)
    .describe('The caller ID as the trunk delivers it (E.164, national digits, or "anonymous").'),
  dialled: z
    .string()
    .regex(/^\+?[0-9]{3,15}$/, 'digits, with or without "+"')
    .describe('The number dialled, as the trunk delivers it (E.164, or digits without "+").'),
  sipServer: z
    .url({ protocol: /^https?$/ })
    .max(300)
    .optional()
    .describe('Where the SIP server holding the call takes instructions for it (its control URL).'),
});
export type TrunkCallArrival = z.infer<typeof TrunkCallArrival>;

export const TrunkCallQueued = z.strictObject({
  requestId: OpaqueId.describe('The service request the call became.'),
  queueId: ConfigId.describe('The queue it waits in.'),
  recognition: z
    .string()
    .describe('What the agent reads about the caller ("… (not verified)": a caller ID is never proof).'),
  state: z.enum(['waiting', 'offered', 'assigned']).describe('Where the request is now.'),
});

export const TrunkHangup = z.strictObject({
  reason: z
    .enum(['cancel', 'bye', 'timeout'])
    .describe(
      'How the call ended: the caller cancelled while waiting (CANCEL), hung up after (BYE), or the SIP server gave up waiting (timeout).',
    ),
});

export const TrunkCallEnded = z.strictObject({
  requestId: OpaqueId.describe('The request the call had become.'),
  state: z.enum(['completed', 'abandoned']).describe('How the request ended ("abandoned" while it waited).'),
});

export const PhoneCallConnecting = z.strictObject({
  requestId: OpaqueId.describe('The request whose caller is being put through.'),
  sipUser: z
    .string()
    .describe("The agent's SIP user the held call is delivered to (the console's registration)."),
});

/** The fields of identifyCaller's body (IdentifyCallerBody adds: exactly one of number and reference). */
export const IdentifyCallerFields = z.strictObject({
  fence: FenceBody.shape.fence,
  number: z
    .string()
    .min(3)
    .max(32)
    .optional()
    .describe(
      "A phone number the caller says is registered to them (E.164 or as written in the site's region).",
    ),
  reference: ExternalRef.optional().describe(
    "The customer's reference the caller gives (the external reference, e.g. a CRM or account id).",
  ),
});

export const IdentifyCallerBody = IdentifyCallerFields.refine(
  (b) => (b.number === undefined) !== (b.reference === undefined),
  {
    message: 'give exactly one of number or reference',
    path: ['number'],
  },
);

export const CallerIdentified = z.strictObject({
  requestId: OpaqueId,
  customerName: z
    .string()
    .describe('Who the caller says they are (not verified: ask the security questions).'),
  recognition: z.string().describe('What the agent now reads on the request.'),
});

export const VerificationLinkSent = z.strictObject({
  sentTo: z.string().describe('The number the link was texted to, as people write it ("+44 7911 123456").'),
  expiresAt: z.string().describe('When the link stops working (ISO 8601, UTC).'),
});

export const VerificationLinkParams = z.strictObject({
  token: VerificationLinkToken.describe(
    "The token of the link the customer opened (after /v/ in its URL, or #/verify-call/ in the web app's).",
  ),
});

export const VerificationLinkUsed = z.strictObject({
  requestId: OpaqueId.describe('The phone request the verification now belongs to.'),
  level: z.number().int().min(0).max(3).describe('The level the request now carries (this authentication).'),
});

/** An E.164 number ("+447911123456"). */
const E164 = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'a phone number in E.164 ("+447911123456")');

export const BookPhoneCallbackBody = z.strictObject({
  customerId: OpaqueId.describe('The customer to call back (one of the directory).'),
  optionId: ConfigId.describe(
    'The menu option whose queue the callback joins (it must take calls: channel voice).',
  ),
  number: z
    .string()
    .min(3)
    .max(32)
    .optional()
    .describe(
      "Which of the customer's registered numbers to call (E.164 or as written in the site's region); without it, the customer's only registered number.",
    ),
});

export const PhoneCallbackBooked = z.strictObject({
  requestId: OpaqueId.describe('The voice request the callback became.'),
  queueId: ConfigId.describe('The queue it waits in.'),
  number: E164.describe('The number the agent will call.'),
  state: z.enum(['waiting', 'offered', 'assigned']).describe('Where the request is now.'),
});

export const PhoneDialTicket = z.strictObject({
  ticket: z
    .string()
    .max(4096)
    .describe(
      `The compact JWS (ES256, typ ${PHONE_CALL_TICKET_TYP}) to put in the ${CALL_TICKET_HEADER} header of the INVITE; valid 60 s, one call.`,
    ),
  expiresAt: IsoTime.describe('When the ticket expires.'),
  number: E164.describe('The number the ticket lets the call out to.'),
  target: z
    .string()
    .describe(
      'The SIP URI to INVITE ("sip:+447911123456@<SIP domain>"): the SIP server sends it to the trunk.',
    ),
  callerId: E164.describe("The company's caller ID the customer sees."),
});

export const DialOutCheck = z.strictObject({
  ticket: z.string().min(1).max(4096).describe(`The INVITE's ${CALL_TICKET_HEADER} header.`),
  number: z
    .string()
    .regex(/^\+[0-9]{3,15}$/, 'a number with "+"')
    .describe("The number the INVITE is for (its Request-URI's user)."),
  sipUser: SipUserName.describe(
    'The authenticated caller (the From user the SIP server checked against the credentials).',
  ),
  callId: SipCallId.describe("The INVITE's Call-ID."),
  recorded: z
    .boolean()
    .optional()
    .describe(
      'True when the SIP server has the media server record this call (rtpengine `record-call`): the recording is kept with the request, the agent on channel 0 and the customer on channel 1.',
    ),
});

export const DialOutAllowed = z.strictObject({
  requestId: OpaqueId.describe('The callback request the call is for.'),
  number: E164.describe('The number the call goes to.'),
  callerId: E164.describe('The caller ID to put in From and P-Asserted-Identity.'),
});

export const DialOutHangup = z
  .strictObject({
    reason: z
      .enum(['carrier_bye', 'agent_bye', 'cancel', 'failed'])
      .describe(
        "How the call out ended: the carrier hung up (its BYE), the agent did (the console's BYE), the console cancelled it while it rang, or it failed (the carrier's final answer in `status`: busy, no answer, refused).",
      ),
    status: z
      .number()
      .int()
      .min(300)
      .max(699)
      .optional()
      .describe(
        "With `failed`: the SIP status of the carrier's (or the SIP server's) final answer, e.g. 486.",
      ),
  })
  .refine((b) => (b.reason === 'failed') === (b.status !== undefined), {
    message: '`status` goes with `failed`, and only with it',
    path: ['status'],
  });

export const DialOutEnded = z.strictObject({
  requestId: OpaqueId.describe('The callback request the call was for.'),
  endedAt: IsoTime.describe('When the call ended (the first report; a repeat answers the same).'),
});

export const trunkRoutes = {
  appleAppSiteAssociation: route({
    method: 'GET',
    path: '/.well-known/apple-app-site-association',
    summary: 'iOS universal links: the apps that open verification links',
    description:
      "The apple-app-site-association document (applinks) naming the iOS apps (`VD_IOS_APP_IDS`: team id + bundle id) that open the verification links texted to callers (paths `/v/*`): with the app installed, tapping the link opens it, and the app hands the token to the SDK. Served as JSON without redirects, as Apple requires. Caller: anyone (Apple's CDN, the phone). Changes nothing.",
    errors: { 404: 'not_found: no iOS app is configured (VD_IOS_APP_IDS): links open in the browser.' },
    tag: 'meta',
    auth: 'public',
    response: AppleAppSiteAssociation,
  }),
  androidAssetLinks: route({
    method: 'GET',
    path: '/.well-known/assetlinks.json',
    summary: 'Android app links: the app that opens verification links',
    description:
      "The Digital Asset Links statement naming the Android app (`VD_ANDROID_PACKAGE` and the SHA-256 fingerprints of its signing certificates, `VD_ANDROID_CERT_FINGERPRINTS`) that handles this host's links: its `autoVerify` intent filter for `/v/` verifies, and tapping a texted link opens the app. Served as JSON without redirects. Caller: anyone (Android's verifier). Changes nothing.",
    errors: {
      404: 'not_found: no Android app is configured (VD_ANDROID_PACKAGE with VD_ANDROID_CERT_FINGERPRINTS): links open in the browser.',
    },
    tag: 'meta',
    auth: 'public',
    response: AssetLinks,
  }),
  sendVerificationLink: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/verification-link',
    summary: 'Text the caller a link to verify in their app during the call',
    description:
      'For a caller from the phone network whose number is registered to the customer and who has the app enrolled: a single-use link, valid `verificationLinkSeconds`, is texted to that number (the text-message gateway). The customer opens it in the app and verifies with the device key plus fingerprint or PIN; the request then carries that verification and the panel turns verified. Fenced: the holder under the current fencing number. Audited (phone.link.send). Each call sends a new link.',
    errors: {
      403: 'not_assigned: the request is not held by the caller.',
      409: 'stale_fence: not the current fencing number; conflict: not a call from the phone network; a withheld caller ID; a number not registered to this customer; no enrolled app.',
      503: 'unavailable: no text-message gateway or customer app URL is configured, or the message was not sent.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: FenceBody,
    response: VerificationLinkSent,
  }),
  useVerificationLink: route({
    method: 'POST',
    path: '/v1/device/verification-links/:token',
    summary: 'Verify for an ongoing phone call with a link received by text message',
    description:
      "The customer's app presents the link it was opened with, authenticated with the device key plus fingerprint or PIN (level 2 or more): the phone request the link was sent for now carries this device and its authentication; the agent's panel turns verified live. A link is used once. Audited (phone.link.use), refusals too.",
    errors: {
      403: 'forbidden: the link was sent to another customer; or level_too_low: verify with fingerprint or PIN first.',
      404: 'not_found: the link is not valid.',
      410: 'gone: the link was used already, has expired, or the call has ended.',
    },
    tag: 'device',
    auth: 'device',
    params: VerificationLinkParams,
    response: VerificationLinkUsed,
  }),
  connectPhoneCall: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/phone-call',
    summary: 'Put the caller on the phone line through to my console',
    description:
      "For a request that came from the phone network: the SIP server holding the caller's call delivers it to the console of the agent holding the request (an incoming call carrying `X-VD-Request: <requestId>`, media bridged from the phone network's RTP to WebRTC by rtpengine). Fenced: only the holder under the current fencing number. Audited. Caller: any logged-in staff member holding the request.",
    errors: {
      403: 'not_assigned: the request is not held by the caller.',
      409: 'stale_fence: not the current fencing number; conflict: the request did not come from the phone network, or the caller is no longer on the line (hung up, or already put through).',
      503: 'unavailable: the SIP server holding the call cannot be reached now.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: FenceBody,
    response: PhoneCallConnecting,
  }),
  identifyCaller: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/caller',
    summary: 'Say who an unknown caller is (by a number or reference they give)',
    description:
      'For a phone request whose caller nobody recognised (withheld, or a number no customer has): the holder types the registered phone number or customer reference the caller gives, and the request (its session and authentication) becomes that customer\'s, still at level 0: what a caller says is never proof, the knowledge questions of that customer verify them. The placeholder "Unknown caller" goes. Fenced: only the holder under the current fencing number. Every attempt is audited (phone.identify), those that find nobody too. Caller: any logged-in staff member holding the request.',
    errors: {
      400: 'bad_request: neither or both of number and reference, or a number that is not a phone number.',
      403: 'not_assigned: the caller does not hold the request.',
      404: 'not_found: no such request, or no active customer has that number or reference.',
      409: 'stale_fence: not the current fencing number; conflict: the request did not come from the phone network, or the caller is identified already.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: IdentifyCallerBody,
    response: CallerIdentified,
  }),
  trunkCallArrived: route({
    method: 'POST',
    path: '/v1/sip/trunk/calls',
    summary: 'A call from the phone network became a service request',
    description:
      "The SIP server asks what becomes of a call that passed its trunk gate. The dialled number picks the menu option (pipeline configuration `phoneNumbers`); the caller ID is recognised against the customers' numbers (never proof: the request starts at level 0, with no device). A caller nobody recognises (withheld, or a number no customer has) queues too, under a placeholder \"Unknown caller\" the agent replaces by identifying the caller (identifyCaller). The request joins the option's queue like any other and is offered to agents. When the caller's number is registered to a customer with the app enrolled and the number's route allows it (`linkWhileQueued`, default true), the verification link is texted to it as the call queues (audited phone.link.send), so the caller can verify while waiting. Caller: the SIP server only. A retry with the same Call-ID answers the same request (and texts nothing more).",
    errors: {
      401: 'unauthorized: not the SIP server (the shared secret is missing or wrong, or none is configured).',
      404: 'not_found: the number dialled is not one of the configured phone numbers (SIP 404), or its option is gone.',
    },
    tag: 'sip',
    auth: 'sipServer',
    body: TrunkCallArrival,
    response: TrunkCallQueued,
    status: 201,
  }),
  trunkCallEnded: route({
    method: 'POST',
    path: '/v1/sip/trunk/calls/:callId/hangup',
    summary: 'The caller hung up',
    description:
      'The SIP server says the caller hung up (CANCEL while waiting, BYE after). A request still waiting or offered is abandoned (the offer withdrawn); one an agent holds stays with the agent, who completes it. Caller: the SIP server only. Safe to repeat.',
    errors: {
      401: 'unauthorized: not the SIP server.',
      404: 'not_found: no request came from that Call-ID.',
    },
    tag: 'sip',
    auth: 'sipServer',
    params: TrunkCallParams,
    body: TrunkHangup,
    response: TrunkCallEnded,
  }),
  bookPhoneCallback: route({
    method: 'POST',
    path: '/v1/agent/phone-callbacks',
    summary: "Book a callback to a customer's phone number (a customer without the app)",
    description:
      "Staff book a callback for a customer who cannot use the app: the customer's registered number (`number` chooses one when there are several) is called back through the phone network. The callback becomes a voice request in the option's queue, routed and offered like any other, at level 0 with no device (the agent verifies the customer with the security questions). The agent who holds it dials (dialPhoneCallback). Audited (phone.callback.book). Caller: an agent, supervisor or admin.",
    errors: {
      400: 'bad_request: malformed body, or a number that is not a phone number.',
      404: 'not_found: no such customer (or deactivated), or no menu option taking calls with that id.',
      409: 'conflict: the customer has no registered phone number, several and none chosen, or the number chosen is not theirs.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    body: BookPhoneCallbackBody,
    response: PhoneCallbackBooked,
    status: 201,
  }),
  dialPhoneCallback: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/phone-dial',
    summary: "Call the customer's phone number back through the trunk",
    description: `For a callback request (bookPhoneCallback): the holder under the current fencing number gets a signed call ticket (typ ${PHONE_CALL_TICKET_TYP}, 60 s, one call) naming the customer's number; the console INVITEs \`target\` with it in ${CALL_TICKET_HEADER}, and the SIP server lets that INVITE out to the carrier with the company's caller ID (\`outboundCallerId\`), media bridged from WebRTC to the phone network's plain RTP. Audited (phone.dial). Caller: any logged-in staff member holding the request.`,
    errors: {
      403: 'not_assigned: the caller does not hold the request.',
      404: 'not_found: no such request.',
      409: "stale_fence: not the current fencing number; conflict: the request is not a callback to a phone number, or the number is no longer the customer's.",
      503: 'unavailable: calls out through the trunk are not configured (no outboundCallerId, VD_OUTBOUND_CALLER_ID).',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: FenceBody,
    response: PhoneDialTicket,
  }),
  authorizeDialOut: route({
    method: 'POST',
    path: '/v1/sip/trunk/dial-outs',
    summary: 'May this INVITE go out to the phone network?',
    description: `The SIP server asks before it sends an agent's INVITE to the carrier: the ${CALL_TICKET_HEADER} must be a phone call ticket the authority signed, not expired, naming this number, issued to this SIP user's agent, whose holder and fencing number are still current, and not used by another call (the same Call-ID asking again is allowed). Allowed: the callback is marked placed, and the answer gives the caller ID to show. Every answer is audited (phone.dial.out). Caller: the SIP server only.`,
    errors: {
      401: 'unauthorized: not the SIP server.',
      403: 'forbidden: the ticket does not verify, has expired or was used by another call, names another number or agent, or its agent no longer holds the request.',
    },
    tag: 'sip',
    auth: 'sipServer',
    body: DialOutCheck,
    response: DialOutAllowed,
  }),
  dialOutEnded: route({
    method: 'POST',
    path: '/v1/sip/trunk/dial-outs/:callId/hangup',
    summary: 'A call out to the phone network ended',
    description:
      "The SIP server says a call it let out to the carrier ended: the carrier or the agent hung up (BYE), the console cancelled it, or the carrier's final answer refused it. The callback request shows the call ended and how (`phoneCallback.endedAt`, `endReason`); it stays with the agent, who completes it or calls again. Only the callback's latest call counts (an earlier call's report changes nothing). Caller: the SIP server only. Safe to repeat.",
    errors: {
      401: 'unauthorized: not the SIP server.',
      404: 'not_found: no callback placed that call.',
    },
    tag: 'sip',
    auth: 'sipServer',
    params: TrunkCallParams,
    body: DialOutHangup,
    response: DialOutEnded,
  }),
} satisfies Record<string, RouteDef>;
