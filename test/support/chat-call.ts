import assert from 'node:assert/strict';
import type { RouteId } from '../../protocol/src/routes.ts';
import type { SipCredentials } from '../../protocol/src/sip.ts';
import type { ConfigInput } from '../../authority/src/config.ts';
import { startTestAuthority, type TestAuthority } from './authority.ts';
import { TestDevice } from './device.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from './http.ts';
import { offerChatOn } from './pipeline-config.ts';
import { FrameLog, TestSocket } from './ws.ts';

/** A logged-in agent: their token, their WebSocket's frames (offers) and SIP credentials. */
export interface DeskAgent {
  token: string;
  staffId: string;
  ws: FrameLog;
  sip: SipCredentials;
}

/**
 * A chat escalated to a call, at the HTTP level (issue 18): the demo customer Alice's
 * enrolled device (PIN set, level 2) asks for chats, agents accept them and get call tickets,
 * the device proves a ticket (the call is live: it takes the agent's whole capacity). What the
 * tests of a call's end share; the SIP side is theirs (the embedded edge or Kamailio).
 */
export class ChatCallDesk {
  private readonly sockets: TestSocket[] = [];

  private constructor(
    readonly a: TestAuthority,
    readonly device: TestDevice,
  ) {}

  /**
   * An authority of its own (`overrides` added: the SIP secrets) whose agents and offers wait
   * as long as a test needs, no wrap-up, then open() on it. dispose() stops it.
   */
  static async start(overrides: Partial<ConfigInput> = {}): Promise<ChatCallDesk> {
    const a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      wrapUpSeconds: 0,
      offerTimeoutSeconds: 300,
      ...overrides,
    });
    try {
      return await ChatCallDesk.open(a);
    } catch (e) {
      await a.dispose();
      throw e;
    }
  }

  /** Chat offered on the "other" option, `chatCapacity` chats per agent, Alice's device enrolled. */
  static async open(a: TestAuthority, chatCapacity = 2): Promise<ChatCallDesk> {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    offerChatOn(cfg.body.menu);
    cfg.body.chatCapacity = chatCapacity;
    const put = await api(a.url, 'putPipelineConfig', { headers: bearer(admin), json: cfg.body });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const device = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    assert.equal((await device.api('setPin', { json: { pin: '112358' } })).status, 200);
    assert.equal((await device.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    return new ChatCallDesk(a, device);
  }

  /** `username` logs in, opens the WebSocket (offers arrive there) and gets SIP credentials. */
  async login(username: string, password: string): Promise<DeskAgent> {
    const s = await staffLogin(this.a.url, username, password);
    const socket = await TestSocket.open(this.a.url);
    this.sockets.push(socket);
    socket.send({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } });
    assert.equal((await socket.next()).type, 'welcome');
    const sip = (await api(this.a.url, 'sipCredentials', { headers: bearer(s.token) }))
      .body as SipCredentials;
    return { token: s.token, staffId: s.staffId, ws: new FrameLog(socket), sip };
  }

  call<K extends RouteId>(who: DeskAgent, name: K, opts?: ApiOptions<K>) {
    return apiWith(this.a.url, bearer(who.token), name, opts);
  }

  /** The device's SIP credentials. */
  async deviceSip(): Promise<SipCredentials> {
    return (await this.device.api('sipCredentials')).body as SipCredentials;
  }

  /** The device asks for a chat: the request id (queued). */
  async ask(): Promise<string> {
    const q = await this.device.api('createRequest', { json: { optionId: 'other', channel: 'chat' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    return q.body.request.requestId as string;
  }

  /** `who` takes the offer of `requestId` (waiting for it) and accepts it: the fence. */
  async accept(who: DeskAgent, requestId: string, timeoutMs?: number): Promise<number> {
    const offer = await who.ws.take((f) => f.type === 'offer' && f.offer.requestId === requestId, timeoutMs);
    const r = await this.call(who, 'acceptOffer', {
      params: { requestId },
      json: { fence: offer.offer.fence },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return offer.offer.fence as number;
  }

  /** A call ticket for `who`'s call to the device of `requestId`. */
  async ticket(who: DeskAgent, requestId: string, fence: number): Promise<string> {
    const t = await this.call(who, 'callTicket', { params: { requestId }, json: { fence } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    return t.body.ticket as string;
  }

  /** The device proves it answered the call of `ticket`: the call is live. */
  async prove(ticket: string): Promise<void> {
    const proof = await this.device.ticketProof(ticket, Math.floor(Date.now() / 1000));
    const proved = await this.device.api('callProof', { json: { ticket, proof } });
    assert.equal(proved.status, 201, JSON.stringify(proved.body));
  }

  async onCall(who: DeskAgent): Promise<boolean | undefined> {
    return ((await this.call(who, 'agentMe')).body as { onCall?: boolean }).onCall;
  }

  async stateOf(who: DeskAgent, requestId: string): Promise<string> {
    return ((await this.call(who, 'getRequest', { params: { requestId } })).body as { state: string }).state;
  }

  /** `who` completes each [request, fence] they hold. */
  async complete(who: DeskAgent, held: readonly (readonly [string, number])[]): Promise<void> {
    for (const [requestId, fence] of held) {
      const r = await this.call(who, 'completeRequest', { params: { requestId }, json: { fence } });
      assert.ok(r.status < 300, JSON.stringify(r.body));
    }
  }

  /** The call.end audit rows of `requestId`, oldest first. */
  async callEnds(requestId: string) {
    const rows = await this.a.sql<{ actor: string; outcome: string; reason: string | null; data: string }>`
      SELECT actor, outcome, reason, data FROM audit_log
      WHERE action = ${'call.end'} AND subject = ${`request:${requestId}`} ORDER BY seq`;
    return rows.map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /** When the call of each ticket issued for `requestId` ended (null: not ended), oldest first. */
  async ticketEnds(requestId: string): Promise<(number | null)[]> {
    const rows = await this.a.sql<{ ended_at: number | null }>`
      SELECT ended_at FROM call_tickets WHERE request_id = ${requestId} ORDER BY issued_at`;
    return rows.map((r) => (r.ended_at === null ? null : Number(r.ended_at)));
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }

  /** close(), and the authority stopped. */
  async dispose(): Promise<void> {
    this.close();
    await this.a.dispose();
  }
}
