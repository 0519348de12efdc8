/**
 * Issue 18 on the supervisor board: an agent holding several chats shows every customer
 * held and how many chats (of their own capacity, when they have one); a chat may be
 * offered (reassigned) to an agent who is chatting, a call only to one who holds nothing,
 * nothing to an agent on a call (a chat escalated to a call too); "Agents free" counts the
 * agents chatting with room for one more chat of the queue (the authority's queue figures).
 * The authority has the last word (capacity per queue): the board only leaves out who can
 * never take it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueueStats, RequestView } from '../../protocol/src/pipeline.ts';
import { freeText, heldText, reassignCandidates } from '../../renderer/src/state/board.ts';
import { agentView, request } from '../support/fake-bridge.ts';

const chat = (over: Partial<RequestView>): RequestView => ({ ...request(over), channel: 'chat' });

describe('the board with agents who hold several chats', () => {
  const alice = chat({ customerName: 'Alice Martin', state: 'assigned', agentId: 'stf_dana' });
  const bob = chat({ customerName: 'Bob Okafor', state: 'assigned', agentId: 'stf_dana' });
  const call = request({ customerName: 'Chen Wei', state: 'assigned', agentId: 'stf_sam' });
  const waitingChat = chat({ customerName: 'Eve Adams', state: 'waiting' });
  const waitingCall = request({ customerName: 'Fay Lin', state: 'waiting' });
  const requests = [alice, bob, call, waitingChat, waitingCall];
  const dana = agentView({
    staffId: 'stf_dana',
    displayName: 'Dana Reyes',
    presence: 'busy',
    currentRequestId: bob.requestId,
    heldRequestIds: [alice.requestId, bob.requestId],
    chatCapacity: 3,
  });
  const sam = agentView({
    staffId: 'stf_sam',
    displayName: 'Sam Patel',
    presence: 'busy',
    currentRequestId: call.requestId,
    heldRequestIds: [call.requestId],
  });
  const kim = agentView({ staffId: 'stf_kim', displayName: 'Kim Lee' });
  const lou = agentView({ staffId: 'stf_lou', displayName: 'Lou Park', presence: 'offline' });
  const agents = [dana, sam, kim, lou];

  it('names every customer an agent holds, with the chats counted', () => {
    assert.equal(heldText(dana, requests), 'Alice Martin, Bob Okafor · 2 chats of 3');
    assert.equal(heldText(sam, requests), 'Chen Wei');
    assert.equal(heldText(kim, requests), null);
    // An agent's view from before heldRequestIds: the current request alone.
    assert.equal(heldText({ ...sam, heldRequestIds: undefined }, requests), 'Chen Wei');
  });

  it('offers a chat to agents chatting or free, a call only to agents holding nothing', () => {
    const names = (r: RequestView) => reassignCandidates(r, agents, requests).map((a) => a.displayName);
    assert.deepEqual(names(waitingChat), ['Dana Reyes', 'Kim Lee']);
    assert.deepEqual(names(waitingCall), ['Kim Lee']);
    // Not to the holder itself, nor to someone with an offer pending.
    assert.deepEqual(names(alice), ['Kim Lee']);
    const offered = agentView({
      ...kim,
      offer: { requestId: 'x', fence: 1, expiresAt: '', request: waitingCall },
    });
    assert.deepEqual(
      reassignCandidates(waitingChat, [dana, sam, offered], requests).map((a) => a.displayName),
      ['Dana Reyes'],
    );
  });

  it('an agent on a call (a chat escalated to a call too) is offered nothing', () => {
    const onCall = agentView({ ...dana, onCall: true });
    const names = (r: RequestView) =>
      reassignCandidates(r, [onCall, sam, kim, lou], requests).map((a) => a.displayName);
    assert.deepEqual(names(waitingChat), ['Kim Lee']);
    assert.deepEqual(names(waitingCall), ['Kim Lee']);
  });

  it("says who is free for a queue from the authority's figures, with the agents chatting with room", () => {
    const stats = (over: Partial<QueueStats>): QueueStats => ({
      queueId: 'general',
      name: 'General',
      waiting: 0,
      longestWaitSeconds: 0,
      estimatedWaitSeconds: 0,
      agentsAvailable: 2,
      agentsOnShift: 4,
      answeredWithinTarget: null,
      ...over,
    });
    assert.equal(
      freeText(stats({ agentsWithRoom: { voice: 2, chat: 3 }, channels: ['voice', 'chat'] })),
      '2 of 4 free · 1 chatting with room',
    );
    // Nobody chatting with room (full, or on a call): only the free ones.
    assert.equal(
      freeText(stats({ agentsWithRoom: { voice: 2, chat: 2 }, channels: ['voice', 'chat'] })),
      '2 of 4 free',
    );
    // A queue offered for calls only: chats do not come into it.
    assert.equal(
      freeText(stats({ agentsWithRoom: { voice: 2, chat: 3 }, channels: ['voice'] })),
      '2 of 4 free',
    );
    // Figures from an authority before agentsWithRoom: as before.
    assert.equal(freeText(stats({ agentsAvailable: 0 })), '0 of 4 free');
  });
});
