/**
 * `--demo` seeds a data dir once: what admins change afterwards (an agent's skills, queues and
 * shifts, staff roles, the pipeline configuration) survives a restart with `--demo`. Only the
 * demo customers' one-time enrolment codes are re-armed at each start. A fresh data dir still
 * gets the whole demo. The authority runs as a real child process restarted on the same files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { AuthorityProcess, freePort } from '../support/process.ts';

const ADMIN = { username: 'admin', password: 'demo-admin-1' };
const DEMO_LOGINS = [
  ['agent1', 'demo-agent-1'],
  ['agent2', 'demo-agent-2'],
  ['supervisor', 'demo-supervisor'],
  ['admin', 'demo-admin-1'],
] as const;

async function agentOnBoard(url: string, token: string, staffId: string) {
  const board = await api(url, 'board', { headers: bearer(token) });
  assert.equal(board.status, 200);
  const agent = board.body.agents.find((a: { staffId: string }) => a.staffId === staffId);
  assert.ok(agent, `agent ${staffId} is on the board`);
  return agent as { skills: { skill: string; level: number }[]; queues: string[]; onShift: boolean };
}

describe('--demo seeds once: a restart keeps what admins changed and re-arms only the enrolment codes', () => {
  let dir: string;
  let authority: AuthorityProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-demo-seed-'));
    authority = new AuthorityProcess({
      port: await freePort(),
      dataDir: join(dir, 'authority'),
      env: { VD_LOG_LEVEL: 'warn' },
    });
    await authority.start();
  });
  after(async () => {
    await authority?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an agent's skills, queues and shifts, a role and the pipeline set by an admin survive two restarts", async () => {
    const url = authority.url;
    let admin = (await staffLogin(url, ADMIN.username, ADMIN.password)).token;
    const agent1 = (await staffLogin(url, 'agent1', 'demo-agent-1')).staffId;
    const agent2 = (await staffLogin(url, 'agent2', 'demo-agent-2')).staffId;

    // The demo as seeded: agent1 in three queues, on shift all day.
    const seeded = await agentOnBoard(url, admin, agent1);
    assert.deepEqual(seeded.queues, ['cards', 'payments', 'general']);
    assert.equal(seeded.onShift, true);

    // The admin changes agent1's profile and shifts (one shift, far in the future: off shift now),
    // agent2's role, and the pipeline configuration.
    const profile = await api(url, 'setAgentProfile', {
      params: { staffId: agent1 },
      headers: bearer(admin),
      json: { skills: [{ skill: 'mortgages', level: 3 }], queues: ['business'] },
    });
    assert.equal(profile.status, 200);
    const schedule = await api(url, 'setAgentSchedule', {
      params: { staffId: agent1 },
      headers: bearer(admin),
      json: { shifts: [{ start: '2099-01-05T09:00:00.000Z', end: '2099-01-05T17:00:00.000Z' }] },
    });
    assert.equal(schedule.status, 200);
    assert.equal(schedule.body.onShift, false);
    const role = await api(url, 'setRole', {
      params: { staffId: agent2 },
      headers: bearer(admin),
      json: { role: 'supervisor' },
    });
    assert.equal(role.status, 200);
    const pipeline = await api(url, 'getPipelineConfig', { headers: bearer(admin) });
    const changed = { ...pipeline.body, company: 'Renamed by the admin' };
    assert.equal(
      (await api(url, 'putPipelineConfig', { headers: bearer(admin), json: changed })).status,
      200,
    );

    // The demo code of Alice is used once.
    assert.equal((await new TestDevice(url).enrol('ALICE-DEMO-2026')).status, 201);
    assert.equal((await new TestDevice(url).enrol('ALICE-DEMO-2026')).status, 401);

    for (const restart of ['clean stop', 'SIGKILL']) {
      if (restart === 'clean stop') {
        await authority.stop();
        await authority.start();
      } else await authority.restart();
      admin = (await staffLogin(url, ADMIN.username, ADMIN.password)).token;

      const after = await agentOnBoard(url, admin, agent1);
      assert.deepEqual(after.skills, [{ skill: 'mortgages', level: 3 }], `skills after ${restart}`);
      assert.deepEqual(after.queues, ['business'], `queues after ${restart}`);
      assert.equal(after.onShift, false, `the admin's shifts after ${restart}`);
      const me = await api(url, 'staffMe', {
        headers: bearer((await staffLogin(url, 'agent2', 'demo-agent-2')).token),
      });
      assert.equal(me.body.role, 'supervisor', `agent2's role after ${restart}`);
      const config = await api(url, 'getPipelineConfig', { headers: bearer(admin) });
      assert.equal(config.body.company, 'Renamed by the admin', `pipeline after ${restart}`);

      // The demo enrolment code is re-armed at each start: one more device can enrol with it.
      assert.equal((await new TestDevice(url).enrol('ALICE-DEMO-2026')).status, 201, `code after ${restart}`);
      assert.equal((await new TestDevice(url).enrol('ALICE-DEMO-2026')).status, 401);
    }
  });
});

describe('--demo on a fresh data dir seeds the whole demo', () => {
  let dir: string;
  let authority: AuthorityProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-demo-fresh-'));
    authority = new AuthorityProcess({
      port: await freePort(),
      dataDir: join(dir, 'authority'),
      env: { VD_LOG_LEVEL: 'warn' },
    });
    await authority.start();
  });
  after(async () => {
    await authority?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every demo login, the agents’ profiles and shifts, and every demo enrolment code work', async () => {
    const url = authority.url;
    const ids: Record<string, string> = {};
    for (const [username, password] of DEMO_LOGINS)
      ids[username] = (await staffLogin(url, username, password)).staffId;
    const admin = (await staffLogin(url, ADMIN.username, ADMIN.password)).token;
    const agent1 = await agentOnBoard(url, admin, ids.agent1!);
    assert.deepEqual(agent1.skills, [
      { skill: 'cards', level: 8 },
      { skill: 'fx', level: 5 },
    ]);
    assert.deepEqual(agent1.queues, ['cards', 'payments', 'general']);
    assert.equal(agent1.onShift, true);
    const agent2 = await agentOnBoard(url, admin, ids.agent2!);
    assert.deepEqual(agent2.queues, ['payments', 'general', 'business']);
    const supervisor = await agentOnBoard(url, admin, ids.supervisor!);
    assert.deepEqual(supervisor.queues, ['cards', 'payments', 'business', 'general']);
    assert.equal(supervisor.onShift, true);
    for (const code of ['ALICE-DEMO-2026', 'BOB-DEMO-2026', 'CHEN-DEMO-2026']) {
      const d = new TestDevice(url);
      assert.equal((await d.enrol(code)).status, 201, code);
    }
  });
});
