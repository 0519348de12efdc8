import type { ssoRoutes } from '../../../protocol/src/index.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/** Single sign-on (authority/src/sso/): thin, each one calls the service. */
export function ssoHandlers(svc: Services): Handlers<typeof ssoRoutes> {
  return {
    ssoSettings: () => svc.sso.settings(),
    ssoStart: async ({ body }) => await svc.sso.start(body.redirectUri),
    ssoCallback: async ({ body }) => await svc.sso.complete(body.callbackUrl),
    ssoBackchannelLogout: async ({ body }) => await svc.sso.backchannelLogout(body.logout_token),
  };
}
