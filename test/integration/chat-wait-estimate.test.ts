/**
 * Estimated waits per channel (issue 18): a chat's estimated wait is computed from the
 * queue's measured chat handling times, a call's from its call handling times (one
 * measured average for both would let long calls inflate every chat's estimate and short
 * chats shrink every call's). The customer's request and the board's queue figures agree.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RouteId } from '../../protocol/src/routes.ts';
import { FakeClock, startNodes, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

interface Staff {
  token: string;
  staffId: string;
  ws: FrameLog;
}

describe("estimated waits per channel: a chat's from chat handling, a call's from call handling", () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let A: Staff;
  let device: TestDevice;
  const sockets: TestSocket[] = [];
  const staffApi = <K extends RouteId>(who: Staff, name: K, opts?: ApiOptions<K>) =>
    apiWith(a.url, bearer(who.token), name, opts);

  async function login(username: string, password: string): Promise<Staff> {
    const s = await staffLogin(a.url, username, password);
    const socket = await TestSocket.open(a.url);
    sockets.push(socket);
    socket.send({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } });
    assert.equal((await socket.next()).type, 'welcome');
    return { token: s.token, staffId: s.staffId, ws: new FrameLog(socket) };
  }

  async function ask(channel: 'chat' | 'voice') {
    clock.advance(1000);
    const q = await device.api('createRequest', { json: { optionId: 'other', channel } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    return q.body.request as {
      requestId: string;
      position: number | null;
      estimatedWaitSeconds: number | null;
    };
  }

  async function accept(requestId: string): Promise<number> {
    const offer = await A.ws.take((f) => f.type === 'offer' && f.offer.requestId === requestId);
    const r = await staffApi(A, 'acceptOffer', { params: { requestId }, json: { fence: offer.offer.fence } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return offer.offer.fence;
  }

  /** The request is offered to A, accepted, handled for `seconds` and completed: a measured handling time. */
  async function handled(channel: 'chat' | 'voice', seconds: number) {
    const { requestId } = await ask(channel);
    const fence = await accept(requestId);
    clock.advance(seconds * 1000);
    const r = await staffApi(A, 'completeRequest', { params: { requestId }, json: { fence } });
    assert.ok(r.status < 300, JSON.stringify(r.body));
  }

  before(async () => {
    const nodes = await startNodes(
      1,
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0, offerTimeoutSeconds: 300 },
      { clock },
    );
    a = nodes[0]!;
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    offerChatOn(cfg.body.menu);
    cfg.body.chatCapacity = 1;
    const put = await api(a.url, 'putPipelineConfig', { headers: bearer(admin), json: cfg.body });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    device = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await device.api('setPin', { json: { pin: '112358' } })).status, 200);
    assert.equal((await device.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    A = await login('agent1', 'demo-agent-1');
    for (const [u, p] of [
      ['agent2', 'demo-agent-2'],
      ['supervisor', 'demo-supervisor'],
    ] as const) {
      const s = await staffLogin(a.url, u, p);
      await apiWith(a.url, bearer(s.token), 'setPresence', { json: { state: 'offline' } });
    }
    await staffApi(A, 'setPresence', { json: { state: 'available' } });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await a?.dispose();
  });

  it('after 10-minute calls and 1-minute chats, with the only agent on a call: a chat waits half a chat, a call a call and a half', async () => {
    await handled('voice', 600);
    await handled('chat', 60);
    const call = await ask('voice');
    const callFence = await accept(call.requestId);
    // One agent, busy: the next one is on average half-way through its handling, then one more.
    const chat = await ask('chat');
    assert.equal(chat.position, 1);
    assert.equal(chat.estimatedWaitSeconds, 30, "half a chat's measured handling time");
    const voice = await ask('voice');
    assert.equal(voice.position, 2);
    assert.equal(voice.estimatedWaitSeconds, 900, "one and a half of a call's");

    // The customer reads the same on the request afterwards, and the board per channel.
    const again = await device.api('deviceRequest', { params: { requestId: chat.requestId } });
    assert.equal(again.body.estimatedWaitSeconds, 30, JSON.stringify(again.body));
    const board = await api(a.url, 'board', { headers: bearer(admin) });
    const general = (board.body.queues as any[]).find((q) => q.queueId === 'general');
    // A new request of each channel, behind the two waiting: two and a half of its own handling.
    assert.deepEqual(general.estimatedWaitSecondsByChannel, { voice: 1500, chat: 150 });
    assert.equal(general.estimatedWaitSeconds, 1500, "a new request's: a call's (the queue offers calls)");

    const done = await staffApi(A, 'completeRequest', {
      params: { requestId: call.requestId },
      json: { fence: callFence },
    });
    assert.ok(done.status < 300, JSON.stringify(done.body));
  });
});
