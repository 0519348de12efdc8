import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openReadOnly } from '../../authority/src/store/engine.ts';
import { DeskCore } from '../../main/core/desk-core.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { AuthorityProcess, freePort } from '../support/process.ts';

/** Resolve with the first payload of event `name` that satisfies `pred`. */
const nextEvent = (core: DeskCore, name: string, pred: (p: any) => boolean = () => true) =>
  new Promise<any>((resolve) => {
    const on = (n: string, p: unknown) => {
      if (n !== name || !pred(p)) return;
      core.off('event', on);
      resolve(p);
    };
    core.on('event', on);
  });

/** On SQLite, or on PostgreSQL with VD_TEST_ENGINE=postgres (the authority is killed, the database server stays up). */
describe('a wrap-up saved while the authority is down (SIGKILL) arrives exactly once after its restart', () => {
  let dir: string;
  let authority: AuthorityProcess;
  let core: DeskCore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-wrapup-crash-'));
    authority = new AuthorityProcess({
      port: await freePort(),
      dataDir: join(dir, 'authority'),
      env: {
        VD_ACCESS_TOKEN_SECONDS: '3600',
        VD_AGENT_TIMEOUT_SECONDS: '3600',
        VD_WRAP_UP_REQUIRED: 'true',
        VD_WRAP_UP_SECONDS: '60',
        VD_LOG_LEVEL: 'warn',
      },
    });
    await authority.start();
    core = new DeskCore({ dataDir: join(dir, 'console'), defaultAuthorityUrl: authority.url, managed: {} });
  });
  after(async () => {
    core.close();
    await authority.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the save returns pending, survives the crash, is sent on reconnect, and a replay is deduplicated', async () => {
    await core.invoke('session.login', { username: 'agent1', password: 'demo-agent-1' });
    await core.invoke('agent.setPresence', { state: 'available' });
    const admin = (await staffLogin(authority.url, 'admin', 'demo-admin-1')).token;
    const code = await api(authority.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(authority.url).enrolAndAuthenticate(code.body.code);
    const offered = nextEvent(core, 'offer');
    const req = (await d.api('createRequest', { json: { optionId: 'other' } })).body.request;
    const offer = await offered;
    assert.equal(offer.requestId, req.requestId);
    await core.invoke('offer.accept', { requestId: req.requestId, fence: offer.fence });
    await core.invoke('request.complete', { requestId: req.requestId, fence: offer.fence });

    // The authority dies while the agent writes the wrap-up.
    const lost = nextEvent(core, 'connection.state', (s) => s.state === 'reconnecting');
    await authority.kill();
    await lost;
    const saved: any = await core.invoke('wrapUp.save', {
      requestId: req.requestId,
      fence: offer.fence,
      disposition: ['resolved', 'information-given'],
      notes: 'Saved while the authority was down.',
    });
    assert.equal(saved.state, 'pending');
    const pending: any = await core.invoke('outbox.status', {});
    assert.equal(pending.pending, 1);
    assert.match(pending.lastError ?? '', /unreachable/);

    // Back up: the reconnect triggers the outbox; the entry is acknowledged.
    const sent = nextEvent(core, 'outbox.status', (s) => s.pending === 0 && s.sent === 1);
    await authority.restart();
    await sent;
    const history: any = await core.invoke('history.list', { limit: 5 });
    assert.equal(history.find((h: any) => h.requestId === req.requestId).wrapUpState, 'sent');

    // A replay of the same entry (as after a console crash between send and ack) is deduplicated.
    core.db.prepare('UPDATE outbox SET sent_at = NULL WHERE idempotency_key = ?').run(saved.idempotencyKey);
    const again = nextEvent(core, 'outbox.status', (s) => s.pending === 0);
    core.outbox.retryNow();
    await again;

    const ro = await openReadOnly(await authority.storeTarget());
    const rows = (
      await sql<{ idempotency_key: string; notes: string }>`
        SELECT idempotency_key, notes FROM wrap_ups WHERE request_id = ${req.requestId}`.execute(ro.db)
    ).rows;
    const audited = (
      await sql<{ actor: string }>`
        SELECT actor FROM audit_log
        WHERE action = 'wrapup.record' AND outcome = 'success' AND subject = ${`request:${req.requestId}`}`.execute(
        ro.db,
      )
    ).rows;
    await ro.close();
    console.log(
      `wrap-up across an authority SIGKILL (${authority.engine}): saved pending, delivered after restart, ` +
        `stored ${rows.length} time(s), audited ${audited.length} time(s)`,
    );
    assert.equal(audited.length, 1, 'the recorded wrap-up has exactly one audit row');
    assert.match(audited[0]!.actor, /^staff:/);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.idempotency_key, saved.idempotencyKey);
    assert.equal(rows[0]!.notes, 'Saved while the authority was down.');
    const agent = await core.invoke('agent.me', {});
    assert.equal((agent as any).presence, 'available', 'the recorded wrap-up released the agent');
  });
});
