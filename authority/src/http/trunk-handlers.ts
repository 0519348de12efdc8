import type { trunkRoutes } from '../../../protocol/src/trunk.ts';
import type { Services } from '../services.ts';
import { PhoneCallbacks } from '../trunk/phone-callbacks.ts';
import { PhoneIn } from '../trunk/phone-in.ts';
import { appLinkDocument, VerificationLinks } from '../trunk/verification-links.ts';
import type { Handlers } from './bind.ts';

/** The SIP server's routes for calls from the phone network (only it holds the secret). */
export function trunkHandlers(svc: Services): Handlers<typeof trunkRoutes> {
  const links = new VerificationLinks(svc.ctx, svc.pipeline, () => svc.pipeline.config.config.company);
  const phoneIn = new PhoneIn(svc.ctx, svc.pipeline, () => svc.pipeline.config.config, svc.recordings, links);
  const callbacks = new PhoneCallbacks(svc.ctx, svc.pipeline, svc.calls, svc.recordings);
  return {
    appleAppSiteAssociation: () => appLinkDocument(svc.ctx.config, 'apple'),
    androidAssetLinks: () => appLinkDocument(svc.ctx.config, 'android'),
    bookPhoneCallback: async ({ principal, body }) => await callbacks.book(principal.staff.id, body),
    dialPhoneCallback: async ({ principal, params, body }) =>
      await callbacks.dial(principal.staff.id, params.requestId, body.fence),
    authorizeDialOut: async ({ body }) => await callbacks.allowDialOut(body),
    dialOutEnded: async ({ params, body }) => await callbacks.dialOutEnded(params.callId, body),
    sendVerificationLink: async ({ principal, params, body }) =>
      await links.send(principal.staff.id, params.requestId, body.fence),
    useVerificationLink: async ({ principal, params }) => await links.use(principal, params.token),
    trunkCallArrived: async ({ body }) => await phoneIn.arrived(body),
    connectPhoneCall: async ({ principal, params, body }) =>
      await phoneIn.connect(principal.staff.id, params.requestId, body.fence),
    identifyCaller: async ({ principal, params, body }) =>
      await phoneIn.identify(principal.staff.id, params.requestId, body.fence, body),
    trunkCallEnded: async ({ params, body }) => await phoneIn.hungUp(params.callId, body.reason),
  };
}
