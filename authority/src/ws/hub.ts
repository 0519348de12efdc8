import type { WebSocket } from 'ws';
import {
  ClientFrame,
  jsonDepthExceeds,
  LIMITS,
  WS_CLOSE,
  WS_PATH,
  type ServerFrame,
} from '../../../protocol/src/index.ts';
import { DomainError } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { Devices, DevicePrincipal } from '../identity/devices.ts';
import type { EndReason, ServiceSessions } from '../sessions/service-sessions.ts';
import type { StaffAccounts, StaffPrincipal } from '../staff/staff-accounts.ts';
import type { FastifyBaseLogger } from 'fastify';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { Feeds, type FeedConn } from './feeds.ts';
import type { Reachability } from '../push/reachability.ts';
import type { ChatService } from '../chat/chat-service.ts';

const HELLO_TIMEOUT_MS = 5_000;
const SWEEP_EVERY_MS = 200;

interface Conn extends FeedConn {
  id: string;
  socket: WebSocket;
  principal: DevicePrincipal | StaffPrincipal | null;
}

/**
 * The authority's WebSocket endpoint. A connection says hello (device token + proof,
 * or a staff access token) within 5 s, optionally naming a service session it
 * follows. When that session ends or expires the socket gets "session.ended" and is
 * closed (4001) within SWEEP_EVERY_MS. Invalid frames close with 1008, oversize with 1009.
 */
export class Hub {
  private readonly bySession = new Map<string, Set<Conn>>();
  private readonly conns = new Set<Conn>();
  private readonly sweeper: NodeJS.Timeout;
  /** The queue/board/device feeds of this node's sockets (other nodes' changes come in through ws/node-frames.ts). */
  readonly feeds: Feeds;
  private sweeps = 0;
  /** Set at shutdown: sockets closing after it must not touch the (closing) database. */
  private closed = false;

  constructor(
    private readonly deps: {
      devices: Devices;
      staff: StaffAccounts;
      sessions: ServiceSessions;
      pipeline: Pipeline;
      /** Devices are online while a socket of theirs is open (presence, last seen). */
      reach?: Reachability;
      /** Verified chat: chat.* frames (chat/README.md). */
      chat?: ChatService;
      /**
       * A device's `command.ack` on its socket: the same rule as the HTTP ack route
       * (relay/commands.ts), for the device its hello authenticated.
       */
      ackCommand?: (p: DevicePrincipal, commandId: string) => Promise<{ commandId: string; at: string }>;
      log: FastifyBaseLogger;
    },
  ) {
    this.feeds = new Feeds(deps.pipeline);
    deps.sessions.on('ended', (sessionId, reason) => this.sessionEnded(sessionId, reason));
    this.sweeper = setInterval(() => {
      void deps.sessions
        .sweep([...this.bySession.keys()])
        .catch((e: unknown) => deps.log.error({ err: e }, 'session sweep failed'));
      if (++this.sweeps % 25 === 0) this.feeds.heartbeat();
    }, SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  get size(): number {
    return this.conns.size;
  }

  /** Open sockets by who said hello (`hello` pending: not yet). For /metrics. */
  counts(): Record<'staff' | 'device' | 'hello', number> {
    const n = { staff: 0, device: 0, hello: 0 };
    for (const c of this.conns) n[c.principal ? c.principal.kind : 'hello']++;
    return n;
  }

  accept(socket: WebSocket): void {
    const conn: Conn = {
      id: randomId(12),
      socket,
      principal: null,
      sessionId: null,
      staffId: null,
      role: null,
      topic: null,
      send: (frame) => this.send(conn, frame),
    };
    this.conns.add(conn);
    const helloTimer = setTimeout(
      () => socket.close(WS_CLOSE.policyViolation, 'hello expected'),
      HELLO_TIMEOUT_MS,
    );
    socket.on('message', (data, isBinary) => {
      if (this.closed) return;
      void this.onMessage(conn, data as Buffer, isBinary).catch((e: unknown) => {
        this.deps.log.error({ err: e }, 'ws frame handling failed');
        socket.close(1011, 'internal error');
      });
    });
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.conns.delete(conn);
      if (conn.sessionId) this.bySession.get(conn.sessionId)?.delete(conn);
      if (conn.principal && !this.closed) this.feeds.remove(conn);
      if (conn.principal?.kind === 'device' && !this.closed)
        void this.deps.reach
          ?.socket(conn.principal.device.id, false)
          .catch((e: unknown) => this.deps.log.error({ err: e }, 'reachability update failed'));
    });
    socket.on('error', () => socket.terminate());
    conn.socket.once('message', () => clearTimeout(helloTimer));
  }

  /**
   * Staff logins ended (a logout, the identity provider's back-channel logout), here or on
   * another node: the sockets opened with their access tokens close (4401); the console then
   * finds its refresh token revoked and shows the sign-in screen.
   */
  signedOut(families: readonly string[]): void {
    const ended = new Set(families);
    for (const c of this.conns)
      if (c.principal?.kind === 'staff' && c.principal.family !== undefined && ended.has(c.principal.family))
        c.socket.close(WS_CLOSE.unauthorized, 'signed out');
  }

  /** Session `sessionId` ended (here or on another node): its sockets get "session.ended" and close (once). */
  sessionEnded(sessionId: string, reason: EndReason): void {
    for (const c of this.bySession.get(sessionId) ?? []) {
      this.send(c, { type: 'session.ended', sessionId, reason });
      c.socket.close(WS_CLOSE.sessionEnded, 'session ended');
    }
    this.bySession.delete(sessionId);
  }

  /** A frame to every device socket following one service session. */
  sendToSession(sessionId: string, frame: ServerFrame): void {
    for (const c of this.bySession.get(sessionId) ?? [])
      if (c.principal?.kind === 'device') this.send(c, frame);
  }

  /** A frame to every socket of one staff member. */
  sendToStaff(staffId: string, frame: ServerFrame): void {
    for (const c of this.conns) if (c.staffId === staffId) this.send(c, frame);
  }

  private send(c: Conn, frame: ServerFrame): void {
    if (c.socket.readyState === c.socket.OPEN) c.socket.send(JSON.stringify(frame));
  }

  private reject(c: Conn, code: number, message: string): void {
    this.send(c, {
      type: 'error',
      code: code === WS_CLOSE.unauthorized ? 'unauthorized' : 'invalid_frame',
      message,
    });
    c.socket.close(code, message.slice(0, 120));
  }

  private async onMessage(c: Conn, data: Buffer, isBinary: boolean): Promise<void> {
    if (isBinary) return this.reject(c, WS_CLOSE.policyViolation, 'binary frames are not accepted');
    const text = data.toString('utf8');
    if (jsonDepthExceeds(text, LIMITS.jsonDepth))
      return this.reject(c, WS_CLOSE.policyViolation, 'frame nested too deep');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.reject(c, WS_CLOSE.policyViolation, 'frame is not JSON');
    }
    const parsed = ClientFrame.safeParse(json);
    if (!parsed.success)
      return this.reject(
        c,
        WS_CLOSE.policyViolation,
        `invalid frame: ${parsed.error.issues[0]?.message ?? 'bad shape'}`,
      );
    const f = parsed.data;
    if (f.type === 'hello') {
      if (c.principal) return this.reject(c, WS_CLOSE.policyViolation, 'hello sent twice');
      try {
        c.principal =
          f.auth.kind === 'device'
            ? await this.deps.devices.verifyRequest(`Device ${f.auth.token}`, f.auth.proof, 'WS', WS_PATH)
            : await this.deps.staff.verifyAccess(`Bearer ${f.auth.accessToken}`);
        if (f.sessionId) {
          const s = await this.deps.sessions.use(f.sessionId);
          if (c.principal.kind === 'device' && s.device_id !== c.principal.device.id)
            throw new Error('not your session');
          c.sessionId = f.sessionId;
        }
      } catch (e) {
        c.principal = null;
        return this.reject(c, WS_CLOSE.unauthorized, (e as Error).message);
      }
      if (c.principal.kind === 'staff') {
        c.staffId = c.principal.staff.id;
        c.role = c.principal.staff.role;
      }
      if (c.principal.kind === 'device') await this.deps.reach?.socket(c.principal.device.id, true);
      if (!this.conns.has(c)) return; // closed meanwhile
      // Frames for the session reach this socket from here on, after its welcome: nothing awaits
      // between the two, so the welcome is always its first frame (what came before is caught up).
      if (c.sessionId) {
        let set = this.bySession.get(c.sessionId);
        if (!set) this.bySession.set(c.sessionId, (set = new Set()));
        set.add(c);
      }
      this.send(c, { type: 'welcome', connectionId: c.id, principal: c.principal.kind });
      this.feeds.add(c);
      return;
    }
    if (!c.principal) return this.reject(c, WS_CLOSE.policyViolation, 'hello expected first');
    switch (f.type) {
      case 'ping':
        if (c.sessionId) {
          try {
            await this.deps.sessions.use(c.sessionId);
          } catch {
            return; // the "ended" listener closes the socket
          }
        }
        if (c.staffId) await this.deps.pipeline.touchAgent(c.staffId);
        return this.send(c, { type: 'pong', id: f.id });
      case 'subscribe':
        if (!c.staffId) return this.reject(c, WS_CLOSE.policyViolation, 'only staff subscribe to queues');
        if (f.topic === 'board' && c.role === 'agent')
          return this.send(c, { type: 'error', code: 'forbidden', message: 'the board is for supervisors' });
        return await this.feeds.subscribe(c, f.topic);
      case 'command.ack': {
        if (c.principal.kind !== 'device' || !this.deps.ackCommand)
          return this.send(c, {
            type: 'command.ack.refused',
            commandId: f.commandId,
            code: 'forbidden',
            message: 'only a device acknowledges its commands',
          });
        try {
          const done = await this.deps.ackCommand(c.principal, f.commandId);
          return this.send(c, { type: 'command.acked', commandId: f.commandId, state: 'shown', at: done.at });
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          return this.send(c, {
            type: 'command.ack.refused',
            commandId: f.commandId,
            code: e.code,
            message: e.message,
          });
        }
      }
      case 'chat.send':
      case 'chat.read':
      case 'chat.typing':
      case 'chat.resume': {
        if (!this.deps.chat)
          return this.send(c, { type: 'error', code: 'unsupported', message: 'no chat here' });
        const party =
          c.principal.kind === 'device'
            ? { kind: 'device' as const, deviceId: c.principal.device.id }
            : { kind: 'staff' as const, staffId: c.principal.staff.id, role: c.principal.staff.role };
        return await this.deps.chat.handle(party, f, (frame) => this.send(c, frame));
      }
      default: {
        const never: never = f;
        return never;
      }
    }
  }

  /** Close every socket with 1012 (service restart: clients reconnect); once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.feeds.close();
    for (const c of this.conns) c.socket.close(WS_CLOSE.serviceRestart, 'authority shutting down');
  }
}
