/**
 * Chat capacity in routing (issue 18): an agent holds up to the queue's chat capacity of
 * chats at once (pipeline configuration: `chatCapacity`, a queue may set its own), a call
 * takes the whole capacity (no chat is offered during a call, no call while chats are held;
 * a chat escalated to a call to its device counts as a call from the device's proof until
 * the console reports the call's end),
 * a finished chat frees a place at once, and the last one ends in wrap-up as before. A chat
 * may be transferred (blind or warm) to a colleague who is chatting with room left; a
 * colleague who is full, on a call or considering an offer is refused, and the transfer
 * directory says who has room for a chat of which queue. An agent may have a capacity of
 * their own (profile `chatCapacity`), which bounds every queue's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startNodes, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';
import { until } from '../support/wait.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

/** The device's proof that it answered the call of `ticket` (what it posts to /v1/device/call-proofs). */
interface Staff {
  token: string;
  staffId: string;
  ws: FrameLog;
}

describe('chat capacity: several chats per agent, a call takes the whole capacity', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let A: Staff;
  let B: Staff;
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

  /** A request of the verified device on the menu option 'other' (queue general), a second after the previous one. */
  async function ask(channel: 'chat' | 'voice'): Promise<string> {
    clock.advance(1000);
    const q = await device.api('createRequest', { json: { optionId: 'other', channel } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    return q.body.request.requestId as string;
  }

  const stateOf = async (requestId: string) =>
    (await staffApi(A, 'getRequest', { params: { requestId } })).body as {
      state: string;
      agentId?: string | null;
    };

  /** Takes the offer of `requestId` from the agent's socket and accepts it: the fence. */
  async function accept(who: Staff, requestId: string): Promise<number> {
    const offer = await who.ws.take((f) => f.type === 'offer' && f.offer.requestId === requestId);
    const r = await staffApi(who, 'acceptOffer', {
      params: { requestId },
      json: { fence: offer.offer.fence },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return offer.offer.fence;
  }

  async function complete(who: Staff, requestId: string, fence: number) {
    const r = await staffApi(who, 'completeRequest', { params: { requestId }, json: { fence } });
    assert.ok(r.status < 300, JSON.stringify(r.body));
  }

  /** The board's figures of the queue general: who is free, who has room for what, what is not offered. */
  const generalStats = async () => {
    const board = await api(a.url, 'board', { headers: bearer(admin) });
    assert.equal(board.status, 200, JSON.stringify(board.body));
    return (board.body.queues as any[]).find((q) => q.queueId === 'general') as {
      agentsAvailable: number;
      agentsWithRoom?: { voice: number; chat: number };
      channels?: string[];
      notOffered?: { channel?: string; waiting: number; free: number; reason: string }[];
    };
  };

  const presenceOf = async (who: Staff) =>
    ((await staffApi(who, 'agentMe')).body as { presence: string }).presence;

  async function setConfig(edit: (cfg: any) => void) {
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    edit(cfg.body);
    return api(a.url, 'putPipelineConfig', { headers: bearer(admin), json: cfg.body });
  }

  before(async () => {
    const nodes = await startNodes(
      1,
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0, offerTimeoutSeconds: 300 },
      { clock },
    );
    a = nodes[0]!;
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const put = await setConfig((cfg) => {
      offerChatOn(cfg.menu);
      cfg.chatCapacity = 3;
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    device = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await device.api('setPin', { json: { pin: '112358' } })).status, 200);
    assert.equal((await device.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    A = await login('agent1', 'demo-agent-1');
    B = await login('agent2', 'demo-agent-2');
    await staffApi(B, 'setPresence', { json: { state: 'offline' } });
    await staffApi(A, 'setPresence', { json: { state: 'available' } });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await a?.dispose();
  });

  it('refuses a capacity out of range with a clear error', async () => {
    const bad = await setConfig((cfg) => (cfg.chatCapacity = 0));
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(JSON.stringify(bad.body), /chatCapacity/);
    const badQueue = await setConfig((cfg) => (cfg.queues[0].chatCapacity = 'many'));
    assert.equal(badQueue.status, 400, JSON.stringify(badQueue.body));
  });

  it('offers up to three chats at once, the fourth waits until one ends; no call while chats are held; the last chat ends in wrap-up', async () => {
    const chats = [await ask('chat'), await ask('chat'), await ask('chat'), await ask('chat')];
    const fences: number[] = [];
    for (const id of chats.slice(0, 3)) {
      clock.advance(1000);
      fences.push(await accept(A, id));
      assert.equal(await presenceOf(A), 'busy');
    }
    // The agent's view lists every chat held, oldest first; the current one is the latest.
    const me = (await staffApi(A, 'agentMe')).body as { heldRequestIds?: string[]; currentRequestId: string };
    assert.deepEqual(me.heldRequestIds, chats.slice(0, 3));
    assert.equal(me.currentRequestId, chats[2]);
    // Full: the fourth chat waits, and so does a call (a call takes the whole capacity).
    const call = await ask('voice');
    assert.equal((await stateOf(chats[3]!)).state, 'waiting');
    assert.equal((await stateOf(call)).state, 'waiting');
    const full = await generalStats();
    assert.deepEqual(full.channels, ['voice', 'chat']);
    assert.equal(full.agentsAvailable, 0);
    assert.deepEqual(full.agentsWithRoom, { voice: 0, chat: 0 }, 'full: room for nothing');
    assert.deepEqual(
      full.notOffered?.map((n) => [n.channel, n.waiting, n.free, n.reason]),
      [
        ['chat', 1, 0, 'busy'],
        ['voice', 1, 0, 'busy'],
      ],
    );

    // A chat escalates to a call while the others stay held: the ticket is issued, the device
    // proves it answered (the call is live): the call takes the whole capacity.
    const ticket = await staffApi(A, 'callTicket', {
      params: { requestId: chats[1]! },
      json: { fence: fences[1]! },
    });
    assert.equal(ticket.status, 201, JSON.stringify(ticket.body));
    const proved = await device.api('callProof', {
      json: {
        ticket: ticket.body.ticket,
        proof: await device.ticketProof(ticket.body.ticket, Math.floor(clock.now() / 1000)),
      },
    });
    assert.equal(proved.status, 201, JSON.stringify(proved.body));
    assert.equal(((await staffApi(A, 'agentMe')).body as { onCall?: boolean }).onCall, true);

    // One chat ends during the call: the agent stays busy, the waiting chat stays waiting.
    await complete(A, chats[0]!, fences[0]!);
    assert.equal(await presenceOf(A), 'busy');
    const after = (await staffApi(A, 'agentMe')).body as { heldRequestIds?: string[] };
    assert.deepEqual(after.heldRequestIds, chats.slice(1, 3), 'the finished chat leaves the list');
    assert.equal((await stateOf(chats[3]!)).state, 'waiting', 'no chat is offered during the call');
    assert.deepEqual((await generalStats()).agentsWithRoom, { voice: 0, chat: 0 }, 'on a call: no room');
    // Nor transferred to her: the directory gives her no room, a transfer is refused.
    const seen = (
      (await staffApi(B, 'transferTargets')).body.staff as { staffId: string; chatRoomIn: string[] }[]
    ).find((s) => s.staffId === A.staffId)!;
    assert.deepEqual(seen.chatRoomIn, [], 'on a call: room for nothing');
    // Only the ticket's holder ends the call: a colleague's report is refused.
    const notTheirs = await staffApi(B, 'callEnd', {
      params: { requestId: chats[1]! },
      json: { fence: fences[1]!, ticket: ticket.body.ticket },
    });
    assert.equal(notTheirs.status, 409, JSON.stringify(notTheirs.body));
    assert.equal((await stateOf(chats[3]!)).state, 'waiting');

    // The call ends (the console reports its hang-up): the waiting chat is offered at once.
    const ended = await staffApi(A, 'callEnd', {
      params: { requestId: chats[1]! },
      json: { fence: fences[1]!, ticket: ticket.body.ticket },
    });
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    assert.equal(ended.body.ended, true);
    const again = await staffApi(A, 'callEnd', {
      params: { requestId: chats[1]! },
      json: { fence: fences[1]!, ticket: ticket.body.ticket },
    });
    assert.deepEqual(again.body, { ended: false, at: ended.body.at }, 'a second report changes nothing');
    assert.equal(((await staffApi(A, 'agentMe')).body as { onCall?: boolean }).onCall, false);
    fences.push(await accept(A, chats[3]!));
    assert.equal((await stateOf(call)).state, 'waiting');

    // The other chats end; the call is offered only when no chat is held.
    await complete(A, chats[1]!, fences[1]!);
    // Chatting with room for one more: counted for the queue's chats (not its calls), not free.
    const room = await generalStats();
    assert.equal(room.agentsAvailable, 0);
    assert.deepEqual(room.agentsWithRoom, { voice: 0, chat: 1 });
    assert.deepEqual(
      room.notOffered?.map((n) => [n.channel, n.reason]),
      [['voice', 'busy']],
    );
    await complete(A, chats[2]!, fences[2]!);
    assert.equal((await stateOf(call)).state, 'waiting');
    await complete(A, chats[3]!, fences[3]!);
    const callFence = await accept(A, call);

    // During the call no chat is offered.
    const chat5 = await ask('chat');
    assert.equal((await stateOf(chat5)).state, 'waiting');
    await complete(A, call, callFence);
    const fence5 = await accept(A, chat5);
    await complete(A, chat5, fence5);
    assert.equal(await presenceOf(A), 'available');
  });

  it("a queue's own capacity wins over the default", async () => {
    const put = await setConfig((cfg) => {
      for (const q of cfg.queues) if (q.id === 'general') q.chatCapacity = 1;
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const first = await ask('chat');
    const second = await ask('chat');
    const f1 = await accept(A, first);
    assert.equal((await stateOf(second)).state, 'waiting');
    // A colleague comes: the waiting chat goes to them.
    await staffApi(B, 'setPresence', { json: { state: 'available' } });
    await until('the second chat is offered to the colleague', async () =>
      (await stateOf(second)).state === 'offered' ? true : undefined,
    );
    const f2 = await accept(B, second);
    await complete(A, first, f1);
    await complete(B, second, f2);
  });

  it('a chat agent who misses an offer gets no new one until they say they are ready again', async () => {
    await staffApi(B, 'setPresence', { json: { state: 'offline' } });
    const put = await setConfig((cfg) => {
      for (const q of cfg.queues) if (q.id === 'general') delete q.chatCapacity;
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const held = await ask('chat');
    const fHeld = await accept(A, held);
    const missed = await ask('chat');
    const offer = await A.ws.take((f) => f.type === 'offer' && f.offer.requestId === missed);
    const rej = await staffApi(A, 'rejectOffer', {
      params: { requestId: missed },
      json: { fence: offer.offer.fence },
    });
    assert.ok(rej.status < 300, JSON.stringify(rej.body));
    assert.equal(await presenceOf(A), 'missed');
    assert.equal((await stateOf(missed)).state, 'waiting');
    // Ready again while still chatting: back to busy, and the waiting chat is offered.
    const ready = await staffApi(A, 'setPresence', { json: { state: 'available' } });
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(await presenceOf(A), 'busy');
    const fMissed = await accept(A, missed);
    await complete(A, held, fHeld);
    await complete(A, missed, fMissed);
    assert.equal(await presenceOf(A), 'available');
  });

  it('a chat goes to a colleague who is chatting with room left (blind and warm); a full colleague or one on a call is refused', async () => {
    await staffApi(B, 'setPresence', { json: { state: 'available' } });
    const put = await setConfig((cfg) => {
      for (const q of cfg.queues) if (q.id === 'general') q.chatCapacity = 2;
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    // B holds one chat, A holds one; A transfers hers to B, who has room for one more.
    const b1 = await ask('chat');
    const offerB = await until('an offer reaches someone', async () => {
      const s = await stateOf(b1);
      return s.state === 'offered' ? s : undefined;
    });
    const [first, second] = offerB.agentId === B.staffId ? [B, A] : [A, B];
    const fB1 = await accept(first, b1);
    const a1 = await ask('chat');
    const fA1 = await accept(second, a1);
    const targets = async (who: Staff) =>
      (await staffApi(who, 'transferTargets')).body.staff as {
        staffId: string;
        busy: boolean;
        chatsHeld: number;
        chatRoomIn: string[];
      }[];
    const seen = (await targets(second)).find((s) => s.staffId === first.staffId)!;
    assert.equal(seen.busy, true);
    assert.equal(seen.chatsHeld, 1);
    assert.deepEqual(seen.chatRoomIn.includes('general'), true, JSON.stringify(seen));
    const blind = await staffApi(second, 'transfer', {
      params: { requestId: a1 },
      json: { fence: fA1, mode: 'blind', target: { kind: 'agent', staffId: first.staffId } },
    });
    assert.equal(blind.status, 201, JSON.stringify(blind.body));
    const fA1b = await accept(first, a1);
    assert.deepEqual(
      ((await staffApi(first, 'agentMe')).body as { heldRequestIds?: string[] }).heldRequestIds,
      [b1, a1],
    );
    // Now full (2 of 2): the directory says so and a further chat is refused with the reason.
    const full = (await targets(second)).find((s) => s.staffId === first.staffId)!;
    assert.equal(full.chatsHeld, 2);
    assert.equal(full.chatRoomIn.includes('general'), false);
    const a2 = await ask('chat');
    const fA2 = await accept(second, a2);
    const refused = await staffApi(second, 'transfer', {
      params: { requestId: a2 },
      json: { fence: fA2, mode: 'blind', target: { kind: 'agent', staffId: first.staffId } },
    });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /target_unavailable/);
    assert.match(JSON.stringify(refused.body), /2 chats/);
    // Warm: one chat ends, the consult is offered and accepted beside the chat still held.
    await complete(first, b1, fB1);
    const warm = await staffApi(second, 'transfer', {
      params: { requestId: a2 },
      json: { fence: fA2, mode: 'warm', target: { kind: 'agent', staffId: first.staffId } },
    });
    assert.equal(warm.status, 201, JSON.stringify(warm.body));
    const took = await staffApi(first, 'acceptTransfer', { params: { transferId: warm.body.transferId } });
    assert.equal(took.status, 200, JSON.stringify(took.body));
    const fA2b = (await stateOf(a2)) as { state: string; agentId?: string | null; fence?: number };
    assert.equal(fA2b.state, 'assigned');
    assert.equal(fA2b.agentId, first.staffId);
    await complete(first, a1, fA1b);
    await complete(first, a2, fA2b.fence!);
    // A colleague on a call has no room for a chat.
    const call = await ask('voice');
    const callOffer = await until('the call is offered', async () => {
      const s = await stateOf(call);
      return s.state === 'offered' ? s : undefined;
    });
    const onCall = callOffer.agentId === A.staffId ? A : B;
    const other = onCall === A ? B : A;
    const fCall = await accept(onCall, call);
    const a3 = await ask('chat');
    const fA3 = await accept(other, a3);
    const busyCall = (await targets(other)).find((s) => s.staffId === onCall.staffId)!;
    assert.deepEqual(busyCall.chatRoomIn, []);
    const toCall = await staffApi(other, 'transfer', {
      params: { requestId: a3 },
      json: { fence: fA3, mode: 'blind', target: { kind: 'agent', staffId: onCall.staffId } },
    });
    assert.equal(toCall.status, 409, JSON.stringify(toCall.body));
    assert.match(JSON.stringify(toCall.body), /busy with a call/);
    await complete(onCall, call, fCall);
    await complete(other, a3, fA3);
  });

  it("an agent's own chat capacity bounds the queue's: routing, the agent's view and transfers follow it", async () => {
    await staffApi(B, 'setPresence', { json: { state: 'offline' } });
    const put = await setConfig((cfg) => {
      for (const q of cfg.queues) if (q.id === 'general') q.chatCapacity = 3;
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const me = (await staffApi(A, 'agentMe')).body as { skills: unknown; queues: string[] };
    const profile = await api(a.url, 'setAgentProfile', {
      params: { staffId: A.staffId },
      headers: bearer(admin),
      json: { skills: me.skills as never, queues: me.queues, chatCapacity: 1 },
    });
    assert.equal(profile.status, 200, JSON.stringify(profile.body));
    assert.equal((profile.body as { chatCapacity?: number | null }).chatCapacity, 1);
    const bad = await api(a.url, 'setAgentProfile', {
      params: { staffId: A.staffId },
      headers: bearer(admin),
      json: { skills: me.skills as never, queues: me.queues, chatCapacity: 0 } as never,
    });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(JSON.stringify(bad.body), /chatCapacity/);
    const first = await ask('chat');
    const second = await ask('chat');
    const f1 = await accept(A, first);
    assert.equal((await stateOf(second)).state, 'waiting', 'A has room for one chat of her own');
    // The directory and a transfer follow the agent's own capacity too.
    const seen = (
      (await staffApi(B, 'transferTargets')).body.staff as { staffId: string; chatRoomIn: string[] }[]
    ).find((s) => s.staffId === A.staffId)!;
    assert.equal(seen.chatRoomIn.includes('general'), false);
    await staffApi(B, 'setPresence', { json: { state: 'available' } });
    const f2 = await accept(B, second);
    const refused = await staffApi(B, 'transfer', {
      params: { requestId: second },
      json: { fence: f2, mode: 'blind', target: { kind: 'agent', staffId: A.staffId } },
    });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /most for Dana Reyes: 1|the most .*: 1/);
    // Without an own capacity (absent in the profile) the queue's applies again.
    const reset = await api(a.url, 'setAgentProfile', {
      params: { staffId: A.staffId },
      headers: bearer(admin),
      json: { skills: me.skills as never, queues: me.queues },
    });
    assert.equal((reset.body as { chatCapacity?: number | null }).chatCapacity, null);
    const moved = await staffApi(B, 'transfer', {
      params: { requestId: second },
      json: { fence: f2, mode: 'blind', target: { kind: 'agent', staffId: A.staffId } },
    });
    assert.equal(moved.status, 201, JSON.stringify(moved.body));
    const f2b = await accept(A, second);
    await complete(A, first, f1);
    await complete(A, second, f2b);
  });
});
