import {
  SIP_WS_PATH,
  sipUserForAgent,
  sipUserForDevice,
  type identityRoutes,
  type Routes,
} from '../../../protocol/src/index.ts';
import { ephemeralCredentials } from '../sip/credentials.ts';
import { iceSettings } from '../media/ice.ts';
import { pipelineHandlers } from './pipeline-handlers.ts';
import { deskHandlers } from './desk-handlers.ts';
import { controlHandlers } from './control-handlers.ts';
import { directoryHandlers } from './directory-handlers.ts';
import { customerAdminHandlers } from './customer-handlers.ts';
import { iso } from '../clock.ts';
import type { Services } from '../services.ts';
import { staffView } from '../staff/staff-accounts.ts';
import type { Handlers } from './bind.ts';
import { conflict, forbidden, HttpError, notFound, unauthorized } from './errors.ts';
import type { DevicePrincipal } from '../identity/devices.ts';
import type { StaffPrincipal } from '../staff/staff-accounts.ts';
import { pushHandlers } from '../push/push-handlers.ts';
import { recordingHandlers } from './recording-handlers.ts';
import { monitoringHandlers } from './monitoring-handlers.ts';
import { deviceAccountHandlers } from './device-account-handlers.ts';
import { ssoHandlers } from './sso-handlers.ts';
import { reportHandlers } from './report-handlers.ts';
import { chatHandlers } from './chat-handlers.ts';
import { trunkHandlers } from './trunk-handlers.ts';

export const VERSION = '0.1.0';

const actorOf = (p: DevicePrincipal | StaffPrincipal) =>
  p.kind === 'device' ? `device:${p.device.id}` : `staff:${p.staff.id}`;

/** The authority's HTTP handlers: thin, each one calls a domain service. */
export async function createHandlers(svc: Services): Promise<Handlers<Routes>> {
  return {
    ...(await identityHandlers(svc)),
    ...pipelineHandlers(svc),
    ...deskHandlers(svc),
    ...controlHandlers(svc),
    ...(await directoryHandlers(svc)),
    ...customerAdminHandlers(svc),
    ...pushHandlers(svc),
    ...recordingHandlers(svc),
    ...monitoringHandlers(svc),
    ...deviceAccountHandlers(svc),
    ...ssoHandlers(svc),
    ...reportHandlers(svc),
    ...chatHandlers(svc),
    ...trunkHandlers(svc),
  };
}

async function identityHandlers(svc: Services): Promise<Handlers<typeof identityRoutes>> {
  const { ctx } = svc;
  const sessionLevel = async (authenticationId: string) =>
    (await svc.authentications.find(authenticationId))?.level ?? 0;
  return {
    health: () => {
      // Draining (a clean stop among several nodes): the load balancer takes this node out.
      if (svc.drain.draining) throw new HttpError(503, 'draining', 'this node is shutting down: try another');
      return { status: 'ok', version: VERSION, time: iso(ctx.clock.now()) };
    },
    jwks: () => svc.keys.jwks(),

    challenge: async ({ body }) => {
      if (body.purpose === 'authenticate' && !(await svc.devices.get(body.deviceId))) {
        // Same answer shape for unknown devices would leak nothing useful, but an honest 404 helps the app re-enrol.
        throw notFound('device not enrolled');
      }
      const c = await svc.challenges.issue(body.purpose, {
        deviceId: body.purpose === 'authenticate' ? body.deviceId : null,
      });
      return { challengeId: c.id, nonce: c.nonce, expiresAt: iso(c.expires_at) };
    },
    enrol: async ({ body }) => {
      const { device, customerName, authentication, token } = await svc.devices.enrol(body);
      return {
        deviceId: device.id,
        customerId: device.customer_id,
        customerName,
        authentication: await svc.authentications.view(authentication.id),
        deviceToken: token,
        tokenExpiresAt: iso(authentication.expires_at),
        setupUntil: iso(authentication.setup_until!),
      };
    },
    authenticate: async ({ body }) => {
      const { authentication, token } = await svc.devices.authenticate(body);
      return {
        authentication: await svc.authentications.view(authentication.id),
        deviceToken: token,
        tokenExpiresAt: iso(authentication.expires_at),
      };
    },
    deviceMe: async ({ principal: p }) => {
      return {
        deviceId: p.device.id,
        customerId: p.device.customer_id,
        customerName: await svc.customers.displayName(p.device.customer_id),
        enrolled: await svc.factorSetup.enrolled(p.device.customer_id),
        authentication: await svc.authentications.viewOf(p.authentication),
        setup: svc.factorSetup.view(p),
        notices: await svc.factorSetup.notices(p.device.id),
      };
    },
    acknowledgeNotice: async ({ principal, params }) => {
      await svc.factorSetup.acknowledge(principal, params.noticeId);
      return { ok: true };
    },
    setPin: async ({ principal, body }) => {
      await svc.pin.set(principal, body.pin);
      return { ok: true };
    },
    pinFactor: async ({ principal, body }) =>
      await svc.authentications.view((await svc.pin.verify(principal, body.pin)).id),
    webauthnRegistrationOptions: async ({ principal }) => ({
      ...(await svc.webauthn.registrationOptions(principal)),
    }),
    webauthnRegister: async ({ principal, body }) => ({
      credentialId: await svc.webauthn.register(principal, body.response as never),
    }),
    webauthnAssertionOptions: async ({ principal }) => ({
      ...(await svc.webauthn.assertionOptions(principal)),
    }),
    webauthnFactor: async ({ principal, body }) =>
      await svc.authentications.view((await svc.webauthn.assert(principal, body.response as never)).id),
    photo: async ({ principal, query, body, contentType }) => {
      const r = await svc.photos.upload(principal, query.purpose, contentType, body, {
        requireComparable: true,
      });
      return {
        photoId: r.photoId,
        purpose: query.purpose,
        authentication: await svc.authentications.view(r.authentication.id),
        pendingComparison: r.pendingComparison,
      };
    },
    openSession: async ({ principal }) => {
      const s = await svc.sessions.start(principal.authentication);
      return await svc.sessions.view(s, principal.authentication.level);
    },
    getSession: async ({ principal, params }) => {
      const s = await svc.sessions.use(params.sessionId);
      if (principal.kind === 'device' && s.device_id !== principal.device.id)
        throw unauthorized('session unknown');
      return await svc.sessions.view(s, await sessionLevel(s.authentication_id));
    },
    endSession: async ({ principal, params, body }) => {
      const s = await svc.sessions.use(params.sessionId);
      if (s.device_id !== principal.device.id) throw unauthorized('session unknown');
      // the device's own words (if any) are audited with the end, in its unit
      await svc.sessions.end(s.id, 'ended', actorOf(principal), body.reason);
      return { ok: true };
    },

    login: async ({ body, request }) => await svc.staff.login(body.username, body.password, request.ip),
    refresh: async ({ body, request }) => await svc.staff.refresh(body.refreshToken, request.ip),
    logout: async ({ body }) => {
      const { familyId } = await svc.staff.logout(body.refreshToken);
      // A single sign-on login ends at the provider too (RP-initiated logout).
      const endSessionUrl = await svc.sso.endSessionUrl(familyId);
      return endSessionUrl ? { ok: true, endSessionUrl } : { ok: true };
    },
    staffMe: ({ principal }) => staffView(principal.staff),
    getAuthentication: async ({ params }) => {
      if (!(await svc.authentications.find(params.authenticationId)))
        throw notFound('no such authentication');
      return await svc.authentications.view(params.authenticationId);
    },
    knowledgeQuestions: async ({ params }) => ({
      questions: await svc.knowledge.questions(params.customerId),
    }),
    knowledgeCheck: async ({ params, body, principal }) => {
      const auth = await svc.knowledge.check(params.customerId, body.answers, principal.staff.id);
      return { passed: auth !== null, authentication: auth ? await svc.authentications.view(auth.id) : null };
    },

    issueEnrolmentCode: async ({ params, principal }) => {
      const actor = actorOf(principal);
      // A refusal is audited by the directory; the code and its audit row commit together.
      await svc.customers.requireActive(params.customerId, { actor, action: 'enrolment.code' });
      const c = await svc.devices.issueEnrolmentCode(params.customerId, undefined, { actor });
      return { code: c.code, expiresAt: iso(c.expiresAt) };
    },
    unlockPin: async ({ params, principal }) => {
      if (!(await svc.pin.unlock(params.customerId, actorOf(principal))))
        throw notFound('no PIN for this customer');
      return { ok: true };
    },
    createStaff: async ({ body, principal }) => staffView(await svc.staff.create(body, actorOf(principal))),
    setRole: async ({ params, body, principal }) => {
      if (params.staffId === principal.staff.id && body.role !== 'admin')
        throw forbidden('an admin cannot demote themselves');
      return staffView(await svc.staff.setRole(params.staffId, body.role, actorOf(principal)));
    },
    unlockStaff: async ({ params, principal }) => await svc.staff.unlock(params.staffId, actorOf(principal)),
    adminEndSession: async ({ params, principal }) => {
      await svc.sessions.requireExisting(params.sessionId);
      if (!(await svc.sessions.end(params.sessionId, 'ended_by_admin', actorOf(principal))))
        throw conflict('session already ended');
      return { ok: true };
    },
    auditVerify: () => svc.audit.verify(),
    sipCredentials: ({ principal, request }) => {
      const user =
        principal.kind === 'device'
          ? sipUserForDevice(principal.device.id)
          : sipUserForAgent(principal.staff.id);
      const c = ephemeralCredentials(
        ctx.config.sipSecret!,
        user,
        ctx.config.sipCredentialSeconds,
        ctx.clock.now(),
      );
      const scheme = request.protocol === 'https' ? 'wss' : 'ws';
      return {
        username: c.username,
        password: c.password,
        user,
        domain: ctx.config.sipDomain,
        aor: `sip:${user}@${ctx.config.sipDomain}`,
        wsUrl: ctx.config.sipWsUrl ?? `${scheme}://${request.headers.host}${SIP_WS_PATH}`,
        expiresAt: iso(c.expiresAt),
        ice: iceSettings(ctx.config, user, ctx.clock.now()),
      };
    },
  };
}
