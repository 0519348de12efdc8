/**
 * main/core's remote-control and transfer channels against a real authority: the
 * per-request command `seq` is kept in the local store (a restarted console never
 * reuses one), a console whose store lost it resynchronises once from the authority's
 * `lastSeq` (command_replayed / seq_out_of_order), concurrent sends from two consoles of
 * the same agent all land, the live frames reach the page as bridge events, and after a
 * transfer the old holder's core is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandSeqs } from '../../main/core/command-seq.ts';
import { BridgeError, DeskCore } from '../../main/core/desk-core.ts';
import { openLocalDb } from '../../main/core/local-db.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';

const navigate = { kind: 'navigate', payload: { screen: 'account' } } as const;

/** Every event the core emits, kept for the test to look at. */
function recordEvents(core: DeskCore): { name: string; payload: any }[] {
  const seen: { name: string; payload: any }[] = [];
  core.on('event', (name, payload) => seen.push({ name, payload }));
  return seen;
}

describe('main/core: command sequence numbers in the local store', () => {
  it('counts per (request, fence), starts at 1 for a new fence, survives a reopen, never goes below the authority', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-seq-'));
    try {
      const file = join(dir, 'console.sqlite');
      let db = openLocalDb(file);
      let seqs = new CommandSeqs(db);
      assert.deepEqual([seqs.next('r1', 1), seqs.next('r1', 1), seqs.next('r1', 1)], [1, 2, 3]);
      assert.equal(seqs.next('r1', 2), 1, 'a new fence starts again');
      assert.equal(seqs.next('r2', 1), 1, 'another request has its own counter');
      db.close();
      db = openLocalDb(file);
      seqs = new CommandSeqs(db);
      assert.equal(seqs.next('r1', 1), 4, 'a reopened store goes on from where it was');
      seqs.atLeast('r1', 1, 2);
      assert.equal(seqs.last('r1', 1), 4, 'atLeast never lowers');
      seqs.atLeast('r1', 1, 40);
      assert.equal(seqs.next('r1', 1), 41);
      db.close();
      // Old rows are forgotten after a week.
      db = openLocalDb(file);
      seqs = new CommandSeqs(db, () => Date.now() + 8 * 86_400_000);
      assert.equal(seqs.last('r1', 1), 0);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('main/core against a real authority: command.send, resync, events, transfer', () => {
  let a: TestAuthority;
  let admin: string;
  let requestId: string;
  let fence: number;
  let device: TestDevice;
  const dirs: string[] = [];
  const cores: DeskCore[] = [];

  const newCore = (dataDir = mkdtempSync(join(tmpdir(), 'vd-console-cmd-'))) => {
    if (!dirs.includes(dataDir)) dirs.push(dataDir);
    const core = new DeskCore({ dataDir, defaultAuthorityUrl: a.url, managed: {} });
    cores.push(core);
    return core;
  };
  const seqOf = async (commandId: string) => {
    const r = await api(a.url, 'requestCommands', { params: { requestId }, headers: bearer(admin) });
    return (r.body.commands as any[]).find((c) => c.commandId === commandId)?.seq as number;
  };

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0 });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    device = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    await device.api('setPin', { json: { pin: '135790' } });
    await device.api('pinFactor', { json: { pin: '135790' } });
    const r = await device.api('createRequest', { json: { optionId: 'payment-failed' } });
    assert.equal(r.body.status, 'queued', JSON.stringify(r.body));
    requestId = r.body.request.requestId;
  });
  after(async () => {
    for (const c of cores) c.close();
    await a.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('numbers commands from the local store, across a restart, and resyncs once when the store lost them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-console-cmd-'));
    let core = newCore(dir);
    const events = recordEvents(core);
    await core.invoke('session.login', { username: 'agent1', password: 'demo-agent-1' });
    const me = (await core.invoke('agent.setPresence', { state: 'available' })) as any;
    const offer =
      me.offer ?? (await until('the offer', () => events.find((e) => e.name === 'offer')?.payload));
    assert.equal(offer.requestId, requestId);
    fence = offer.fence;
    await core.invoke('offer.accept', { requestId, fence });

    const first = (await core.invoke('command.send', { requestId, fence, command: navigate })) as any;
    const second = (await core.invoke('command.send', { requestId, fence, command: navigate })) as any;
    assert.deepEqual([first.seq, second.seq], [1, 2]);
    const update = await until('a command.update event', () =>
      events.find((e) => e.name === 'command.update' && e.payload.commandId === second.commandId),
    );
    assert.equal(update.payload.requestId, requestId);

    // A restart of the console (same profile folder): the next seq is 3, never a reused 1.
    core.close();
    core = newCore(dir);
    await core.invoke('session.login', { username: 'agent1', password: 'demo-agent-1' });
    const third = (await core.invoke('command.send', { requestId, fence, command: navigate })) as any;
    assert.equal(third.seq, 3);

    // A second console of the same agent with an empty store: its seq 1 is a replay for the
    // authority; it takes lastSeq (3) and sends 4, once.
    const other = newCore();
    await other.invoke('session.login', { username: 'agent1', password: 'demo-agent-1' });
    const fourth = (await other.invoke('command.send', { requestId, fence, command: navigate })) as any;
    assert.equal(fourth.seq, 4);
    assert.equal(await seqOf(fourth.commandId), 4);
    // The first console is now behind (its store says 3): it resyncs the same way.
    const fifth = (await core.invoke('command.send', { requestId, fence, command: navigate })) as any;
    assert.equal(fifth.seq, 5);

    // Concurrent sends from both consoles: every one lands, with distinct increasing seqs.
    const burst = (await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? core : other).invoke('command.send', { requestId, fence, command: navigate }),
      ),
    )) as PromiseSettledResult<any>[];
    const landed = burst.filter((r) => r.status === 'fulfilled').map((r) => (r as any).value.seq as number);
    const failed = burst.filter((r) => r.status === 'rejected').map((r) => (r as any).reason.code);
    // One resync per call: a call that loses the race twice says so (seq_out_of_order / command_replayed).
    for (const code of failed) assert.match(code, /^(seq_out_of_order|command_replayed)$/);
    assert.ok(landed.length >= 1);
    assert.equal(new Set(landed).size, landed.length, 'no seq used twice');
    const list = (await core.invoke('command.list', { requestId })) as any;
    assert.equal(list.lastSeq, Math.max(...landed));
    // Once the race is over, each console's next command lands at once.
    for (const c of [core, other]) {
      const next = (await c.invoke('command.send', { requestId, fence, command: navigate })) as any;
      assert.ok(next.seq > Math.max(...landed));
    }
    console.log(
      `burst of 6 from two consoles: ${landed.length} landed, ${failed.length} refused after one resync`,
    );
  });

  it('turns frames into bridge events and, after a blind transfer, the old holder is refused', async () => {
    const core = cores[1]!;
    const events = recordEvents(core);
    const sam = newCore();
    const samStaff = (await sam.invoke('session.login', {
      username: 'agent2',
      password: 'demo-agent-2',
    })) as any;
    await a.services.pipeline.agents.setSchedule(samStaff.staffId, []);
    await sam.invoke('agent.setPresence', { state: 'available' });
    const targets = (await core.invoke('transfer.targets', {})) as any;
    assert.ok(targets.staff.some((s: any) => s.staffId === samStaff.staffId && !s.busy));
    assert.ok(!targets.staff.some((s: any) => s.displayName === 'Dana Reyes'), 'not myself');
    assert.ok(targets.queues.some((q: any) => q.queueId === 'payments'));

    const t = (await core.invoke('transfer.start', {
      requestId,
      fence,
      mode: 'blind',
      target: { kind: 'agent', staffId: samStaff.staffId },
    })) as any;
    assert.equal(t.state, 'completed');
    assert.equal(t.toFence, fence + 1);
    await until('transfer.update', () => events.find((e) => e.name === 'transfer.update'));
    await assert.rejects(
      core.invoke('command.send', { requestId, fence, command: navigate }),
      (e: unknown) => e instanceof BridgeError && e.code === 'not_assigned',
    );
    const moved = (await core.invoke('request.get', { requestId })) as any;
    assert.equal(moved.fence, fence + 1);
    assert.equal(moved.agentId, samStaff.staffId);

    // Sam accepts; his console starts at seq 1 under the new fence.
    await sam.invoke('offer.accept', { requestId, fence: fence + 1 });
    const samFirst = (await sam.invoke('command.send', {
      requestId,
      fence: fence + 1,
      command: navigate,
    })) as any;
    assert.equal(samFirst.seq, 1);

    // The customer stops control: a control.state event; further commands refused.
    const samEvents = recordEvents(sam);
    const stop = await device.api('stopControl', { params: { requestId } });
    assert.equal(stop.status, 200);
    const state = await until('control.state', () => samEvents.find((e) => e.name === 'control.state'));
    assert.equal(state.payload.stopped, true);
    assert.deepEqual(state.payload.cancelled, [samFirst.commandId]);
    await assert.rejects(
      sam.invoke('command.send', { requestId, fence: fence + 1, command: navigate }),
      (e: unknown) => e instanceof BridgeError && e.code === 'control_stopped',
    );
  });
});
