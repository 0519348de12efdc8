import fastifyStatic from '@fastify/static';
import websocket from '@fastify/websocket';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { DeadlineTimer } from './events/deadline-timer.ts';
import { SipEdge } from './sip/edge.ts';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  buildOpenApi,
  jsonDepthExceeds,
  LIMITS,
  routes,
  SIP_WS_PATH,
  WS_PATH,
  type ApiError,
} from '../../protocol/src/index.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { bindRoutes } from './http/bind.ts';
import { serveDocs } from './http/docs.ts';
import { serveMetrics } from './http/metrics.ts';
import { redactLinkTokens, serveVerifyLinkPage } from './http/verify-link-page.ts';
import { asHttpError, HttpError } from './http/errors.ts';
import { unauthorized } from './errors.ts';
import { addSecurityHeaders, drainOversizeBody } from './http/hardening.ts';
import { createHandlers, VERSION } from './http/handlers.ts';
import { createServices, type Services } from './services.ts';
import type { Store } from './store/engine.ts';
import { NodeMetrics } from './ops/metrics.ts';
import { Hub } from './ws/hub.ts';
import { NodeFrames } from './ws/node-frames.ts';

export interface AuthorityApp {
  app: FastifyInstance;
  services: Services;
  hub: Hub;
  sipEdge: SipEdge;
}

const FASTIFY_CODE_STATUS: Record<number, ApiError['code']> = {
  400: 'invalid_request',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** Malformed HTTP (unparsable request, headers too large): an ApiError body, then the socket is closed. */
function clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request timeout']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'request headers too large']
        : [400, 'malformed HTTP request'];
  const body = JSON.stringify({ code: 'invalid_request', message } satisfies ApiError);
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(err);
}

/** The customer app's built assets at /app/ (a clear 503 when it was not built). */
async function serveCustomerApp(app: FastifyInstance, dir: string): Promise<void> {
  app.get('/app', (_req, reply) => reply.redirect('/app/'));
  if (!existsSync(`${dir}/index.html`)) {
    app.get('/app/*', (_req, reply) =>
      reply.code(503).send({
        code: 'internal',
        message: 'the customer app is not built: run npm run build:customer',
      } satisfies ApiError),
    );
    return;
  }
  await app.register(fastifyStatic, { root: dir, prefix: '/app/', index: ['index.html'], wildcard: false });
  // Client-side routes of the single-page app all load index.html.
  app.get('/app/*', (_req, reply) => reply.sendFile('index.html'));
}

/** The authority as a fastify instance (not listening): routes from the protocol table, one error handler, the WebSocket hub. */
export async function buildAuthority(opts: {
  config: Config & { pinPepper: string };
  store: Store;
  clock: Clock;
  logger?: boolean | object;
}): Promise<AuthorityApp> {
  // A request's line in the log: its URL without a verification link's token (a credential).
  const serializers = {
    req: (r: {
      method: string;
      url: string;
      host?: string;
      ip?: string;
      socket?: { remotePort?: number };
    }) => ({
      method: r.method,
      url: redactLinkTokens(r.url),
      host: r.host,
      remoteAddress: r.ip,
      remotePort: r.socket?.remotePort,
    }),
  };
  const app = Fastify({
    // Every line names its node: several nodes write to one log pipeline.
    logger:
      opts.logger === undefined
        ? { level: opts.config.logLevel, base: { node: opts.config.nodeId }, serializers }
        : typeof opts.logger === 'object'
          ? { serializers, ...opts.logger }
          : opts.logger,
    bodyLimit: LIMITS.jsonBodyBytes,
    return503OnClosing: true,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 200 },
    // Errors fastify answers before any route runs (bad percent-encoding, over-long
    // path parameter, malformed HTTP) carry the ApiError shape too, not fastify's own.
    frameworkErrors: (err, _request, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 400;
      void (reply as FastifyReply).code(status).send({
        code: FASTIFY_CODE_STATUS[status] ?? 'invalid_request',
        message: err.message.slice(0, 300),
      } satisfies ApiError);
    },
    clientErrorHandler: clientError,
  });
  // The ephemeral SIP credentials' secret: configured (shared with Kamailio), else one for this process.
  const config = {
    ...opts.config,
    sipSecret: opts.config.sipSecret ?? randomBytes(32).toString('base64url'),
  };
  const services = await createServices(opts.store, config, opts.clock);

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(null, undefined);
    if (jsonDepthExceeds(text, LIMITS.jsonDepth))
      return done(
        new HttpError(400, 'invalid_request', `JSON nested deeper than ${LIMITS.jsonDepth}`),
        undefined,
      );
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HttpError(400, 'invalid_request', 'body is not valid JSON'), undefined);
    }
  });
  // HTML forms: only the routes declared bodyKind 'form' take one (an identity provider's logout token).
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: LIMITS.jsonBodyBytes },
    (_req, body, done) => {
      const form = new URLSearchParams(body as string);
      const out: Record<string, string> = {};
      for (const [k, v] of form) {
        if (Object.hasOwn(out, k))
          return done(new HttpError(400, 'invalid_request', `form field ${k} given twice`), undefined);
        out[k] = v;
      }
      done(null, out);
    },
  );
  app.addContentTypeParser(
    ['image/jpeg', 'image/png'],
    { parseAs: 'buffer', bodyLimit: LIMITS.photoBytes },
    (_req, body, done) => done(null, body),
  );
  // Chat attachments beside the photo types (the routes' own bodyLimit is config chatAttachmentMaxBytes).
  app.addContentTypeParser(
    ['image/webp', 'application/pdf'],
    { parseAs: 'buffer', bodyLimit: config.chatAttachmentMaxBytes },
    (_req, body, done) => done(null, body),
  );

  app.setErrorHandler((thrown: FastifyError | HttpError, request, reply) => {
    const err = asHttpError(thrown) as FastifyError | HttpError;
    if (err instanceof HttpError) {
      if (err.headers) reply.headers(err.headers);
      const body: ApiError = {
        code: err.code,
        message: err.message,
        ...(err.details !== undefined ? { details: err.details } : {}),
      };
      return reply.code(err.status).send(body);
    }
    const status = (err as FastifyError).statusCode;
    if ((err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') drainOversizeBody(request, reply);
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const body: ApiError = { code: FASTIFY_CODE_STATUS[status] ?? 'invalid_request', message: err.message };
      return reply.code(status).send(body);
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ code: 'internal', message: 'internal error' } satisfies ApiError);
  });
  addSecurityHeaders(app, { appPrefix: '/app', sipWsUrl: config.sipWsUrl });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      code: 'not_found',
      message: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
    } satisfies ApiError),
  );

  // The hub is made below, after the routes (the metrics hook goes first, for every route).
  const made: { hub?: Hub } = {};
  const metrics = new NodeMetrics({
    nodeId: config.nodeId,
    data: services.ctx.data,
    events: services.ctx.events,
    sockets: () => made.hub?.counts() ?? {},
  });
  serveMetrics(app, metrics, config.metricsToken);
  bindRoutes(app, services, routes, await createHandlers(services));
  await serveCustomerApp(app, opts.config.customerAppDir);
  serveVerifyLinkPage(app, services.ctx);
  const openapi = buildOpenApi(routes, { title: 'Verified Desk authority', version: VERSION });
  app.get('/openapi.json', () => openapi);
  serveDocs(app);

  const hub = new Hub({
    devices: services.devices,
    staff: services.staff,
    sessions: services.sessions,
    pipeline: services.pipeline,
    reach: services.reach,
    chat: services.chat,
    ackCommand: async (p, commandId) => {
      if (!services.authentications.isLive(p.authentication))
        throw unauthorized('authentication expired: authenticate again');
      return await services.commands.ack(p, commandId);
    },
    log: app.log,
  });
  made.hub = hub;
  // Frames of services' in-process events reach the sockets on every node (ws/node-frames.ts).
  const frames = new NodeFrames(hub, services.ctx.data, services.ctx.events, app.log, services.pipeline);
  services.commands.on('device', (sessionId, frame) => frames.toSession(sessionId, frame));
  services.commands.on('staff', (staffIds, frame) => frames.toStaff(staffIds, frame));
  services.chat.on('device', (sessionId, frame) => frames.toSession(sessionId, frame));
  services.chat.on('staff', (staffIds, frame) => frames.toStaff(staffIds, frame));
  services.monitoring.on('staff', (staffIds, frame) => frames.toStaff(staffIds, frame));
  services.transfers.on('update', (transfer, staffIds) => {
    frames.toStaff(staffIds, { type: 'transfer.update', transfer });
    // The customer is told while their agent consults a colleague (an open warm transfer), and when it stops.
    if (transfer.mode === 'warm')
      frames.toSession(transfer.request.sessionId, {
        type: 'request.consult',
        requestId: transfer.requestId,
        active: transfer.state === 'offered',
        at: new Date(opts.clock.now()).toISOString(),
      });
  });
  // A wrong PIN (or a lock) on a request someone holds or is offered: their open panel fetches itself again.
  services.pin.on('failure', (authenticationId, locked) =>
    background('panel.changed', panelChanged(authenticationId, locked)),
  );
  const panelChanged = async (authenticationId: string, locked: boolean) => {
    const at = new Date(opts.clock.now()).toISOString();
    const held = await services.ctx.data.read.requests.heldOfCustomerOf(authenticationId);
    for (const r of held)
      frames.toStaff([r.agent_id!], {
        type: 'panel.changed',
        requestId: r.id,
        reason: locked ? 'pin.locked' : 'pin.failed',
        at,
      });
  };
  services.calls.on('verified', (requestId, agentId, at) =>
    frames.toStaff([agentId], { type: 'call.verified', requestId, at: new Date(at).toISOString() }),
  );
  let closing = false;
  const sipEdge = new SipEdge({
    secret: config.sipSecret,
    domain: config.sipDomain,
    now: () => opts.clock.now(),
    dialogGraceMs: config.sipDialogGraceSeconds * 1000,
  });
  // A customer device is reachable while its SIP registration is live (users "d-<device id>").
  const background = (what: string, work: Promise<unknown>) =>
    void work.catch((e: unknown) => app.log.error({ err: e }, `${what} failed`));
  sipEdge.on('registered', (user) => {
    if (user.startsWith('d-'))
      background('reachability', services.reach.sipRegistration(user.slice(2), true));
  });
  sipEdge.on('unregistered', (user) => {
    if (user.startsWith('d-') && !closing)
      background('reachability', services.reach.sipRegistration(user.slice(2), false));
  });
  // A call to a device (a chat escalated to a call) ended on the edge: the same end as the
  // console's report (call-ends), so a console that vanished does not keep its agent full.
  sipEdge.on('callEnded', (ticket, user, cause) => {
    if (!closing) background('call end', services.calls.endedOnSip(ticket, user, cause));
  });
  // An agent took a request whose device is offline: wake it (Web Push or the native push webhook).
  // The decision is awaited before the accept answers (the answer says the device was woken);
  // the push itself goes on in the background.
  services.pipeline.onAccepted(async (_agentId, r) => {
    const requestId = r.id;
    const target = await services.push.wakeTarget(r.id, r.device_id);
    const announce = (outcome: string) => {
      if (!closing && outcome !== 'online') services.pipeline.viewsChanged([requestId]);
    };
    if (typeof target === 'string') return announce(target);
    const agentName = r.agent_id
      ? ((await services.ctx.data.read.staff.displayNames([r.agent_id])).get(r.agent_id) ?? null)
      : null;
    background('push wake', services.push.sendWake(target, r.id, r.session_id, agentName).then(announce));
  });

  await app.register(websocket, {
    options: {
      maxPayload: LIMITS.wsFrameBytes,
      // RFC 7118: SIP clients ask for the "sip" subprotocol; the authority's own socket asks for none.
      handleProtocols: (protocols: Set<string>) => (protocols.has('sip') ? 'sip' : false),
    },
  });
  app.get(SIP_WS_PATH, { websocket: true }, (socket, req) => {
    if (socket.protocol !== 'sip') return socket.close(1002, 'subprotocol "sip" required');
    void req;
    sipEdge.accept(socket);
  });
  app.get(WS_PATH, { websocket: true }, (socket) => hub.accept(socket));

  const pruner = setInterval(
    () =>
      background(
        'pruning',
        (async () => {
          await services.challenges.prune();
          await services.devices.prune();
          // Chat transcripts past their retention (config chatRetentionDays): any node may run it.
          await services.transcripts.sweepRetention();
        })(),
      ),
    60_000,
  );
  pruner.unref();
  // Device commands and warm transfer offers expire on time even when nobody asks about them.
  const controlSweeper = setInterval(
    () =>
      background(
        'command, transfer and session sweep',
        (async () => {
          await services.commands.sweep();
          await services.transfers.sweep();
          // Sessions past their deadline, database-wide: any node may run it (guarded, once each).
          await services.sessions.sweepExpired();
        })(),
      ),
    config.sweepPollSeconds * 1000,
  );
  controlSweeper.unref();
  // The same sweeps on time: a timer for the nearest stored deadline, read again after every
  // unit committed here and every wake-up of the bus (another node's change included).
  const deadlines = new DeadlineTimer({
    clock: opts.clock,
    next: (after) =>
      services.ctx.data.read.deadlines.next(after, {
        sessionIdleMs: config.sessionIdleSeconds * 1000,
        agentSilenceMs: config.agentTimeoutSeconds * 1000,
      }),
    sweep: async () => {
      await services.pipeline.tickNow();
      await services.commands.sweep();
      await services.transfers.sweep();
      await services.sessions.sweepExpired();
    },
    onError: (what, e) => app.log.error({ err: e }, `deadline timer: ${what} failed`),
  });
  const stopRearming = [
    services.ctx.data.onUnit((_ms, ok) => {
      if (ok) deadlines.rearm();
    }),
    services.ctx.events.onWake(() => deadlines.rearm()),
  ];
  await services.pipeline.start(config.sweepPollSeconds * 250);
  services.recordings.start();
  services.webhooks.start();
  // Outbox consumers catch up from their cursors (what a crash left undone), then follow.
  await services.ctx.events.start();
  // Many nodes: this node's heartbeat, and the devices online at the others (push/reachability.ts).
  await services.reach.start();
  // Many nodes: the work with one owner goes to the holder of the leader lock (store/leader.ts).
  services.leader.start();
  deadlines.start();
  app.addHook('onClose', async () => {
    closing = true;
    for (const stop of stopRearming) stop();
    await deadlines.stop();
    await services.reach.stop();
    await services.leader.stop();
    clearInterval(pruner);
    clearInterval(controlSweeper);
    await services.pipeline.stop();
    services.recordings.stop();
    services.monitoring.close();
    await services.webhooks.stop();
    await frames.close();
    await services.ctx.events.stop();
    hub.close();
    sipEdge.close();
  });
  return { app, services, hub, sipEdge };
}
