/**
 * Chat quick replies (issue 18, "the agent's side"): each staff member's own list, kept by
 * the authority (the defaults until they save one), replaced whole by the console's
 * editor (add, edit, delete), each save audited; bad lists refused 400. The site's team
 * list: kept by supervisors and admins (audited with them as the actor), read by every
 * agent with their own, refused 403 to agents. Through the routes and through main/core's
 * bridge as the console uses them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgeError, DeskCore } from '../../main/core/desk-core.ts';
import { DEFAULT_QUICK_REPLIES, QUICK_REPLIES_MAX, QUICK_REPLY_MAX_CHARS } from '../../protocol/src/chat.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

describe('chat quick replies: stored per staff member by the authority', () => {
  let a: TestAuthority;
  let agent1: { token: string; staffId: string };
  let agent2: { token: string; staffId: string };

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600 });
    agent1 = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    agent2 = await staffLogin(a.url, 'agent2', 'demo-agent-2');
  });
  after(async () => {
    await a?.dispose();
  });

  it("the defaults until saved; a saved list (trimmed, in order) is the agent's own, audited; an empty one stays empty", async () => {
    const first = await api(a.url, 'myQuickReplies', { headers: bearer(agent1.token) });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, {
      replies: [...DEFAULT_QUICK_REPLIES],
      updatedAt: null,
      team: { replies: [], updatedAt: null },
    });

    const put = await api(a.url, 'setQuickReplies', {
      headers: bearer(agent1.token),
      json: { replies: ['  Hi <b>there</b>!  ', 'Your card is on its way.'] },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.replies, ['Hi <b>there</b>!', 'Your card is on its way.']);
    assert.equal(typeof put.body.updatedAt, 'string');

    const again = await api(a.url, 'myQuickReplies', { headers: bearer(agent1.token) });
    assert.deepEqual(again.body, put.body);
    const other = await api(a.url, 'myQuickReplies', { headers: bearer(agent2.token) });
    assert.deepEqual(other.body.replies, [...DEFAULT_QUICK_REPLIES], "agent2's list is not agent1's");

    const audit = await a.sql<{ actor: string; subject: string; outcome: string }>`
      SELECT actor, subject, outcome FROM audit_log WHERE action = ${'chat.quick_replies.set'}`;
    assert.deepEqual(audit, [
      { actor: `staff:${agent1.staffId}`, subject: `staff:${agent1.staffId}`, outcome: 'success' },
    ]);

    const empty = await api(a.url, 'setQuickReplies', {
      headers: bearer(agent1.token),
      json: { replies: [] },
    });
    assert.equal(empty.status, 200);
    assert.deepEqual(
      (await api(a.url, 'myQuickReplies', { headers: bearer(agent1.token) })).body.replies,
      [],
    );
  });

  it('bad lists are refused 400 and change nothing; no token is 401', async () => {
    await api(a.url, 'setQuickReplies', { headers: bearer(agent2.token), json: { replies: ['kept'] } });
    const bad: unknown[] = [
      { replies: Array.from({ length: QUICK_REPLIES_MAX + 1 }, (_, i) => `reply ${i}`) },
      { replies: ['   '] },
      { replies: [''] },
      { replies: ['x'.repeat(QUICK_REPLY_MAX_CHARS + 1)] },
      { replies: [42] },
      { replies: 'Hello' },
      { replies: ['ok'], extra: true },
      {},
    ];
    for (const json of bad) {
      const r = await api(a.url, 'setQuickReplies', { headers: bearer(agent2.token), json: json as never });
      assert.equal(r.status, 400, JSON.stringify(json));
    }
    assert.deepEqual((await api(a.url, 'myQuickReplies', { headers: bearer(agent2.token) })).body.replies, [
      'kept',
    ]);
    assert.equal((await api(a.url, 'myQuickReplies')).status, 401);
    assert.equal((await api(a.url, 'setQuickReplies', { json: { replies: [] } })).status, 401);
  });
});

describe("the team's quick replies: one list for the site, kept by supervisors and admins", () => {
  let a: TestAuthority;
  let agent1: { token: string; staffId: string };
  let supervisor: { token: string; staffId: string };
  let admin: { token: string; staffId: string };

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600 });
    agent1 = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    supervisor = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    admin = await staffLogin(a.url, 'admin', 'demo-admin-1');
  });
  after(async () => {
    await a?.dispose();
  });

  it('a supervisor sets them (trimmed, audited as the actor); every agent reads them beside their own', async () => {
    const none = await api(a.url, 'teamQuickReplies', { headers: bearer(supervisor.token) });
    assert.equal(none.status, 200, JSON.stringify(none.body));
    assert.deepEqual(none.body, { replies: [], updatedAt: null });

    await api(a.url, 'setQuickReplies', { headers: bearer(agent1.token), json: { replies: ['Mine'] } });
    const put = await api(a.url, 'setTeamQuickReplies', {
      headers: bearer(supervisor.token),
      json: { replies: ['  Our opening hours are 8 to 20.  ', 'Thank you for contacting the bank.'] },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.replies, [
      'Our opening hours are 8 to 20.',
      'Thank you for contacting the bank.',
    ]);
    assert.equal(typeof put.body.updatedAt, 'string');
    assert.deepEqual((await api(a.url, 'teamQuickReplies', { headers: bearer(admin.token) })).body, put.body);

    const seen = await api(a.url, 'myQuickReplies', { headers: bearer(agent1.token) });
    assert.equal(seen.status, 200, JSON.stringify(seen.body));
    assert.deepEqual(seen.body.replies, ['Mine'], "the agent's own list is theirs, unchanged");
    assert.deepEqual(seen.body.team, put.body, 'the team list, as stored');
    // the agent's own save answers with the team list too
    const own = await api(a.url, 'setQuickReplies', {
      headers: bearer(agent1.token),
      json: { replies: ['Mine 2'] },
    });
    assert.deepEqual(own.body.team, put.body);

    // an admin replaces the list; an empty one stays empty
    const byAdmin = await api(a.url, 'setTeamQuickReplies', {
      headers: bearer(admin.token),
      json: { replies: [] },
    });
    assert.equal(byAdmin.status, 200);
    assert.deepEqual(
      (await api(a.url, 'myQuickReplies', { headers: bearer(agent1.token) })).body.team.replies,
      [],
    );

    const audit = await a.sql<{ actor: string; subject: string; outcome: string; data: string }>`
      SELECT actor, subject, outcome, data FROM audit_log WHERE action = ${'chat.team_quick_replies.set'} ORDER BY seq`;
    assert.deepEqual(
      audit.map((r) => ({ ...r, data: JSON.parse(r.data) })),
      [
        {
          actor: `staff:${supervisor.staffId}`,
          subject: 'site_quick_replies:site',
          outcome: 'success',
          data: { count: 2 },
        },
        {
          actor: `staff:${admin.staffId}`,
          subject: 'site_quick_replies:site',
          outcome: 'success',
          data: { count: 0 },
        },
      ],
    );
    const rows = await a.sql<{
      site: string;
      updated_by: string;
    }>`SELECT site, updated_by FROM site_quick_replies`;
    assert.deepEqual(rows, [{ site: 'site', updated_by: admin.staffId }], 'one list for the site');
  });

  it('an agent cannot change them (403), nor read them as a supervisor does; bad lists 400 naming the field', async () => {
    await api(a.url, 'setTeamQuickReplies', {
      headers: bearer(supervisor.token),
      json: { replies: ['Team kept'] },
    });
    const refused = await api(a.url, 'setTeamQuickReplies', {
      headers: bearer(agent1.token),
      json: { replies: ['Agent was here'] },
    });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal((refused.body as any).code, 'forbidden');
    assert.equal((await api(a.url, 'teamQuickReplies', { headers: bearer(agent1.token) })).status, 403);

    const bad: unknown[] = [
      { replies: Array.from({ length: QUICK_REPLIES_MAX + 1 }, (_, i) => `reply ${i}`) },
      { replies: ['   '] },
      { replies: ['x'.repeat(QUICK_REPLY_MAX_CHARS + 1)] },
      { replies: [42] },
      { replies: 'Hello' },
      { replies: ['ok'], extra: true },
      {},
    ];
    for (const json of bad) {
      const r = await api(a.url, 'setTeamQuickReplies', {
        headers: bearer(supervisor.token),
        json: json as never,
      });
      assert.equal(r.status, 400, JSON.stringify(json));
      const text = JSON.stringify(r.body);
      assert.match(text, /replies|extra/, `the answer names the field: ${text}`);
    }
    const refusedRows = await a.sql<{ n: number }>`
      SELECT COUNT(*) AS n FROM audit_log WHERE action = ${'chat.team_quick_replies.set'} AND actor = ${`staff:${agent1.staffId}`}`;
    assert.equal(Number(refusedRows[0]!.n), 0, 'nothing audited as a change by the agent');
    assert.deepEqual(
      (await api(a.url, 'myQuickReplies', { headers: bearer(agent1.token) })).body.team.replies,
      ['Team kept'],
    );
    assert.equal((await api(a.url, 'setTeamQuickReplies', { json: { replies: [] } })).status, 401);
  });
});

describe("the console's quick replies through main/core's bridge", () => {
  let a: TestAuthority;
  let core: DeskCore;
  let dataDir: string;

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600 });
    dataDir = mkdtempSync(join(tmpdir(), 'vd-console-quick-replies-'));
    core = new DeskCore({ dataDir, defaultAuthorityUrl: a.url, managed: {} });
  });
  after(async () => {
    core.close();
    await a.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("'chat.quickReplies' / 'chat.setQuickReplies': add, edit, delete are saved by the authority", async () => {
    await core.invoke('session.login', { username: 'agent1', password: 'demo-agent-1' });
    const start: any = await core.invoke('chat.quickReplies', {});
    assert.deepEqual(start.replies, [...DEFAULT_QUICK_REPLIES]);
    // add one, edit the first, delete the second
    const edited = [`${start.replies[0]} (edited)`, ...start.replies.slice(2), 'Added by the editor'];
    const saved: any = await core.invoke('chat.setQuickReplies', { replies: edited });
    assert.deepEqual(saved.replies, edited);
    assert.deepEqual(((await core.invoke('chat.quickReplies', {})) as any).replies, edited);
    const rows = await a.sql<{ replies: string }>`SELECT replies FROM quick_replies`;
    assert.deepEqual(
      rows.map((r) => JSON.parse(r.replies)),
      [edited],
    );
    await assert.rejects(
      core.invoke('chat.setQuickReplies', { replies: [''] }),
      (e: unknown) => e instanceof BridgeError && e.code === 'invalid_argument',
    );
  });

  it("'chat.setTeamQuickReplies': a supervisor's team list reaches the agent's 'chat.quickReplies'; an agent is refused", async () => {
    await assert.rejects(
      core.invoke('chat.setTeamQuickReplies', { replies: ['From an agent'] }),
      (e: unknown) => e instanceof BridgeError && e.code === 'forbidden',
    );
    // the supervisor's own console
    const supDir = mkdtempSync(join(tmpdir(), 'vd-console-team-replies-'));
    const sup = new DeskCore({ dataDir: supDir, defaultAuthorityUrl: a.url, managed: {} });
    try {
      await sup.invoke('session.login', { username: 'supervisor', password: 'demo-supervisor' });
      const team: any = await sup.invoke('chat.setTeamQuickReplies', { replies: ['For everyone'] });
      assert.deepEqual(team.replies, ['For everyone']);
    } finally {
      sup.close();
      rmSync(supDir, { recursive: true, force: true });
    }
    const mine: any = await core.invoke('chat.quickReplies', {});
    assert.deepEqual(mine.team.replies, ['For everyone']);
  });
});
