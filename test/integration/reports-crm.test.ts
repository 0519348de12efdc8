import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { csvCell } from '../../authority/src/reports/reports.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';
import { type Received, webhookReceiver } from '../support/webhook-receiver.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

/**
 * A scripted weekend of calls in Europe/Paris across the spring daylight-saving change
 * (2026-03-29 02:00 local -> 03:00, 01:00 UTC): the report's figures are the ones a
 * supervisor computes by hand from the script; webhooks for the same calls reach two
 * loopback receivers, signed, one failing twice per event before accepting, one always
 * failing until the deliveries are given up. On the Tuesday after, one agent holds two chats at
 * once: the chat channel's figures, messages and concurrency, apart from the calls.
 */
const SECRET = 'webhook-secret-0123456789abcdefghijklmnop';

describe('historical reports over a DST change, CSV, CRM screen pop and signed webhooks', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-28T08:00:00Z'));
  let admin: string;
  let supervisor: string;
  const flaky = webhookReceiver(SECRET, (_id, n) => n <= 2);
  const broken = webhookReceiver(SECRET, () => true);
  const ids: Record<string, string> = {};

  const device = async () => {
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    return new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
  };
  const agent = async () => {
    const s = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const r = await api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return s;
  };
  /** One call: queued at `at`; answered after `answerS` (or abandoned after `abandonS`); held `talkS`; wrap-up after `wrapS`. */
  const call = async (
    name: string,
    at: string,
    p: { answerS?: number; abandonS?: number; talkS?: number; wrapS?: number },
  ) => {
    clock.set(Date.parse(at));
    const s = await agent();
    const d = await device();
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId: string = q.body.request.requestId;
    ids[name] = requestId;
    const me = await api(a.url, 'agentMe', { headers: bearer(s.token) });
    assert.equal(me.body.offer?.requestId, requestId, JSON.stringify(me.body));
    const fence: number = me.body.offer.fence;
    if (p.abandonS !== undefined) {
      clock.advance(p.abandonS * 1000);
      const end = await d.api('endSession', { params: { sessionId: q.body.request.sessionId }, json: {} });
      assert.equal(end.status, 200, JSON.stringify(end.body));
      await until(`${name} abandoned`, async () => {
        const [row] = await a.sql<{ state: string }>`SELECT state FROM requests WHERE id = ${requestId}`;
        return row?.state === 'abandoned';
      });
      return;
    }
    clock.advance(p.answerS! * 1000);
    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(s.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    if (name === 'A') {
      const pop = await api(a.url, 'screenPop', { params: { requestId }, headers: bearer(s.token) });
      assert.equal(pop.status, 200, JSON.stringify(pop.body));
      assert.equal(pop.body.url, `https://crm.example/customers/CRM-ALICE%2F01?request=${requestId}&level=1`);
      assert.equal(pop.body.opensIn, 'browser', 'no screenPopOpensIn: the system browser');
      const other = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
      const notHolder = await api(a.url, 'screenPop', {
        params: { requestId },
        headers: bearer(other.token),
      });
      assert.equal(notHolder.status, 403, 'only the holder gets the screen pop');
    }
    if (name === 'E') {
      // The agent asks the security questions (42 s by the console's clock); the caller gets them wrong.
      const qs = await api(a.url, 'requestKnowledgeQuestions', {
        params: { requestId },
        headers: bearer(s.token),
      });
      assert.equal(qs.status, 200, JSON.stringify(qs.body));
      const answers = qs.body.questions.map((q: any) => ({ questionId: q.questionId, answer: 'not it' }));
      const k = await api(a.url, 'requestKnowledgeCheck', {
        params: { requestId },
        headers: bearer(s.token),
        json: { fence, answers, agentMs: 42_000 },
      });
      assert.equal(k.status, 200, JSON.stringify(k.body));
    }
    clock.advance(p.talkS! * 1000);
    const done = await api(a.url, 'completeRequest', {
      params: { requestId },
      headers: bearer(s.token),
      json: { fence },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    if (p.wrapS !== undefined) {
      clock.advance(p.wrapS * 1000);
      const w = await api(a.url, 'wrapUp', {
        params: { requestId },
        headers: bearer(s.token),
        json: {
          fence,
          idempotencyKey: `wrap-up-of-call-${name}-0001`,
          disposition: ['resolved', 'information-given'],
          notes: '=cmd|calc',
        },
      });
      assert.equal(w.status, 201, JSON.stringify(w.body));
    }
  };

  /** Two chats one agent holds at once on Tuesday 31 March (UTC+2): G held 08:00:10-08:05:10, H 08:01:20-08:07:20. */
  const twoChats = async () => {
    clock.set(Date.parse('2026-03-31T08:00:00Z'));
    const s = await agent();
    const staff = await TestSocket.open(a.url);
    staff.send({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } });
    assert.equal((await staff.next()).type, 'welcome');
    const staffLog = new FrameLog(staff);
    const sockets = [staff];
    const open = async (name: string) => {
      const d = await device();
      const q = await d.api('createRequest', { json: { optionId: 'other', channel: 'chat' } });
      assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
      const socket = await TestSocket.open(a.url);
      sockets.push(socket);
      socket.send(await d.wsHello(q.body.request.sessionId));
      assert.equal((await socket.next()).type, 'welcome');
      ids[name] = q.body.request.requestId;
      return { log: new FrameLog(socket), socket, requestId: q.body.request.requestId as string };
    };
    const accept = async (requestId: string) => {
      const me = await api(a.url, 'agentMe', { headers: bearer(s.token) });
      assert.equal(me.body.offer?.requestId, requestId, JSON.stringify(me.body));
      const r = await api(a.url, 'acceptOffer', {
        params: { requestId },
        headers: bearer(s.token),
        json: { fence: me.body.offer.fence },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return me.body.offer.fence as number;
    };
    const customerSays = async (c: Awaited<ReturnType<typeof open>>, id: string) => {
      c.socket.send({ type: 'chat.send', requestId: c.requestId, clientMsgId: id.padEnd(16, '_'), text: id });
      await c.log.take((f) => f.type === 'chat.ack' && f.clientMsgId === id.padEnd(16, '_'));
    };
    const agentSays = async (requestId: string, fence: number, id: string) => {
      staff.send({ type: 'chat.send', requestId, clientMsgId: id.padEnd(16, '_'), fence, text: id });
      await staffLog.take((f) => f.type === 'chat.ack' && f.clientMsgId === id.padEnd(16, '_'));
    };
    const complete = async (requestId: string, fence: number) => {
      const r = await api(a.url, 'completeRequest', {
        params: { requestId },
        headers: bearer(s.token),
        json: { fence },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const g = await open('G');
    clock.advance(10_000);
    const gFence = await accept(g.requestId);
    await customerSays(g, 'g-customer-1');
    await agentSays(g.requestId, gFence, 'g-agent-1');
    await customerSays(g, 'g-customer-2');
    clock.set(Date.parse('2026-03-31T08:01:00Z'));
    const h = await open('H');
    clock.advance(20_000);
    const hFence = await accept(h.requestId);
    await customerSays(h, 'h-customer-1');
    await agentSays(h.requestId, hFence, 'h-agent-1');
    clock.set(Date.parse('2026-03-31T08:05:10Z'));
    await complete(g.requestId, gFence);
    clock.set(Date.parse('2026-03-31T08:07:20Z'));
    await complete(h.requestId, hFence);
    for (const x of sockets) x.close();
  };

  before(async () => {
    const pipeline = JSON.parse(
      readFileSync(new URL('../../authority/config/pipeline.json', import.meta.url), 'utf8'),
    );
    // 'Something else' may be asked by chat too; an agent holds up to two chats at once.
    offerChatOn(pipeline.menu);
    pipeline.chatCapacity = 2;
    const general = pipeline.queues.find((q: any) => q.id === 'general');
    general.targetAnswerSeconds = 60;
    general.screenPopUrl = 'https://crm.example/customers/{externalRef}?request={requestId}&level={level}';
    const file = join(tmpdir(), `vd-pipeline-reports-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(pipeline));
    a = await startTestAuthority(
      {
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        offerTimeoutSeconds: 300,
        sessionIdleSeconds: 86_400,
        sessionAbsoluteSeconds: 86_400,
        authenticationTtlSeconds: 86_400,
        pipelineFile: file,
        siteTimeZone: 'Europe/Paris',
        webhookUrls: [await flaky.listen(), await broken.listen()],
        webhookSecret: SECRET,
        webhookMaxAttempts: 3,
        webhookRetrySeconds: 1,
        webhookSweepSeconds: 0.05,
        screenPopOrigins: ['https://crm.example'],
      },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    supervisor = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
    await a.sql`UPDATE customers SET external_ref = ${'CRM-ALICE/01'} WHERE id = ${'c_alice_martin_01'}`;

    // Saturday 28 March (UTC+1)
    await call('A', '2026-03-28T09:00:00Z', { answerS: 20, talkS: 300, wrapS: 30 }); // 10:00 local
    await call('B', '2026-03-28T10:00:00Z', { abandonS: 8 }); // 11:00 local, short abandon
    // Sunday 29 March: 01:30 local (UTC+1), then 03:30 local (UTC+2) after the change
    await call('C', '2026-03-29T00:30:00Z', { answerS: 90, talkS: 120 }); // beyond the 60 s target, no wrap-up
    await call('D', '2026-03-29T01:30:00Z', { abandonS: 45 });
    await call('E', '2026-03-29T08:00:00Z', { answerS: 10, talkS: 200, wrapS: 40 }); // 10:00 local
    // A Monday call outside the range
    await call('F', '2026-03-30T08:00:00Z', { answerS: 5, talkS: 60 });
    await twoChats();
    supervisor = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  });
  after(async () => {
    await a.dispose();
    await flaky.close();
    await broken.close();
  });

  it('the day report has the figures computed by hand, days in the site zone (the DST day has 23 hours)', async () => {
    const r = await api(a.url, 'report', {
      query: { from: '2026-03-28', to: '2026-03-29', granularity: 'day' },
      headers: bearer(supervisor),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const v = r.body;
    assert.equal(v.timeZone, 'Europe/Paris');
    assert.equal(v.from, '2026-03-27T23:00:00.000Z', 'midnight in Paris (UTC+1)');
    assert.equal(v.to, '2026-03-29T22:00:00.000Z', 'midnight after the change (UTC+2)');
    assert.deepEqual(
      v.series.map((b: any) => [b.label, b.hours, b.offered, b.answered, b.abandoned]),
      [
        ['2026-03-28', 24, 2, 1, 1],
        ['2026-03-29', 23, 3, 2, 1],
      ],
    );
    const t = v.totals;
    assert.equal(t.offered, 5);
    assert.equal(t.answered, 3);
    assert.equal(t.abandoned, 2);
    assert.equal(t.abandonedWithin10s, 1, 'B left after 8 s');
    assert.equal(t.avgAbandonSeconds, 26.5, '(8 + 45) / 2');
    assert.equal(t.maxAbandonSeconds, 45);
    assert.equal(t.avgSpeedOfAnswerSeconds, 40, '(20 + 90 + 10) / 3');
    assert.equal(t.answeredWithinTarget, 2, 'A and E within 60 s, C after 90 s');
    assert.equal(t.serviceLevel, 0.4, '2 / (3 answered + 2 abandoned)');
    assert.equal(t.avgTalkSeconds, 206.7, '(300 + 120 + 200) / 3');
    assert.equal(t.avgWrapUpSeconds, 35, '(30 + 40) / 2 (C has no wrap-up)');
    assert.equal(t.avgHandleSeconds, 230, '(330 + 120 + 240) / 3');
    assert.equal(t.answeredAtLevel1, 3);
    assert.equal(t.transfers, 0);
    assert.equal(t.callbacksBooked, 0);
    assert.deepEqual(
      v.queues.map((q: any) => [q.queueId, q.targetAnswerSeconds, q.offered, q.serviceLevel]),
      [['general', 60, 5, 0.4]],
    );
    const dana = v.agents.find((x: any) => x.agentName === 'Dana Reyes');
    assert.equal(dana.answered, 3);
    assert.equal(dana.talkSeconds, 620);
    assert.equal(dana.wrapUpSeconds, 70);
    assert.equal(dana.avgHandleSeconds, 230);
    assert.equal(dana.knowledgeChecks, 1);
    assert.equal(dana.knowledgeChecksPassed, 0);
    assert.equal(dana.knowledgeSeconds, 42, "the console's 42 s, from the audit row");
    assert.equal(t.knowledgeChecks, 1);
    assert.equal(t.knowledgeSeconds, 42);
    assert.ok(v.missing.some((m: string) => /knowledge/.test(m)));
  });

  it('hours are local with the offset in force: 01:00 +01:00 is followed by 03:00 +02:00', async () => {
    const r = await api(a.url, 'report', {
      query: { from: '2026-03-29', to: '2026-03-29', granularity: 'hour' },
      headers: bearer(supervisor),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const s = r.body.series;
    assert.equal(s.length, 23);
    assert.deepEqual(
      s.slice(0, 4).map((b: any) => b.label),
      [
        '2026-03-29 00:00 +01:00',
        '2026-03-29 01:00 +01:00',
        '2026-03-29 03:00 +02:00',
        '2026-03-29 04:00 +02:00',
      ],
    );
    const busy = s.filter((b: any) => b.offered > 0).map((b: any) => [b.label, b.answered, b.abandoned]);
    assert.deepEqual(busy, [
      ['2026-03-29 01:00 +01:00', 1, 0],
      ['2026-03-29 03:00 +02:00', 0, 1],
      ['2026-03-29 10:00 +02:00', 1, 0],
    ]);
  });

  it('CSV export equals the table, RFC 4180 quoted, formula-safe; agents and bad input are refused', async () => {
    const r = await api(a.url, 'reportCsv', {
      query: { from: '2026-03-28', to: '2026-03-29', granularity: 'day', table: 'series' },
      headers: bearer(supervisor),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.filename, 'report-series-all-2026-03-28-2026-03-29-day.csv');
    const lines = r.body.csv.split('\r\n');
    assert.equal(lines.at(-1), '', 'CRLF after the last row');
    assert.match(lines[0], /^channel,label,start,hours,offered,answered,abandoned,.*,chatMessages$/);
    assert.match(
      lines[1],
      /^all,2026-03-28,2026-03-27T23:00:00.000Z,24,2,1,1,1,8,8,20,1,0.5,300,30,330,0,0,0,1,0,0,0,0,0,0,0$/,
    );
    assert.match(lines[2], /^all,2026-03-29,2026-03-28T23:00:00.000Z,23,3,2,1,0,45,45,50,1,0.3333,160,40,/);
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvCell('-2+3'), "'-2+3");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell(-2), '-2', 'numbers stay numbers');
    const agentToken = (await staffLogin(a.url, 'agent1', 'demo-agent-1')).token;
    assert.equal(
      (
        await api(a.url, 'report', {
          query: { from: '2026-03-28', to: '2026-03-29' },
          headers: bearer(agentToken),
        })
      ).status,
      403,
    );
    const backwards = await api(a.url, 'report', {
      query: { from: '2026-03-29', to: '2026-03-28' },
      headers: bearer(supervisor),
    });
    assert.equal(backwards.status, 400);
    const tooLong = await api(a.url, 'report', {
      query: { from: '2026-01-01', to: '2026-12-31' },
      headers: bearer(supervisor),
    });
    assert.equal(tooLong.status, 400);
  });

  it('the chat channel apart: two chats held at once (1.53 at a time), messages, calls left out; CSV per channel', async () => {
    const report = async (query: Record<string, string>) => {
      const r = await api(a.url, 'report', { query: query as any, headers: bearer(supervisor) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    const chat = await report({ from: '2026-03-30', to: '2026-03-31', channel: 'chat' });
    assert.equal(chat.channel, 'chat');
    const t = chat.totals;
    assert.deepEqual([t.offered, t.answered, t.abandoned], [2, 2, 0], 'the Monday call F is not a chat');
    assert.equal(t.avgSpeedOfAnswerSeconds, 15, '(10 + 20) / 2');
    assert.equal(t.avgTalkSeconds, 330, '(300 + 360) / 2: each chat its own time, though held together');
    assert.equal(t.chatMessages, 5, 'G: 3, H: 2');
    assert.equal(chat.channels.length, 1);
    assert.equal(chat.channels[0].channel, 'chat');
    assert.equal(chat.channels[0].avgConcurrentChats, 1.53, '(300 + 360) s of chats in 430 s with one open');
    const dana = chat.agents.find((x: any) => x.agentName === 'Dana Reyes');
    assert.deepEqual(
      [dana.answered, dana.chatMessagesSent, dana.chatTalkSeconds, dana.avgConcurrentChats],
      [2, 2, 660, 1.53],
    );

    const all = await report({ from: '2026-03-30', to: '2026-03-31' });
    assert.equal(all.channel, 'all');
    assert.deepEqual(
      all.channels.map((c: any) => [
        c.channel,
        c.offered,
        c.avgTalkSeconds,
        c.chatMessages,
        c.avgConcurrentChats,
      ]),
      [
        ['voice', 1, 60, 0, null],
        ['chat', 2, 330, 5, 1.53],
      ],
    );
    assert.equal(all.totals.avgTalkSeconds, 240, '(60 + 300 + 360) / 3: calls and chats mixed');
    const voice = await report({ from: '2026-03-30', to: '2026-03-31', channel: 'voice' });
    assert.deepEqual([voice.totals.offered, voice.totals.avgTalkSeconds], [1, 60]);
    assert.equal(voice.agents.find((x: any) => x.agentName === 'Dana Reyes').avgConcurrentChats, null);

    const csv = await api(a.url, 'reportCsv', {
      query: { from: '2026-03-30', to: '2026-03-31', table: 'channels' } as any,
      headers: bearer(supervisor),
    });
    assert.equal(csv.status, 200, JSON.stringify(csv.body));
    assert.equal(csv.body.filename, 'report-channels-all-2026-03-30-2026-03-31-day.csv');
    const rows = csv.body.csv.split('\r\n');
    assert.match(rows[0], /^channel,offered,.*,chatMessages,avgConcurrentChats$/);
    assert.match(rows[1], /^voice,1,1,0,.*,0,$/);
    assert.match(rows[2], /^chat,2,2,0,.*,5,1\.53$/);
    const agentsCsv = await api(a.url, 'reportCsv', {
      query: { from: '2026-03-30', to: '2026-03-31', table: 'agents', channel: 'chat' } as any,
      headers: bearer(supervisor),
    });
    assert.match(agentsCsv.body.csv.split('\r\n')[1], /^chat,/, 'each row says its channel');
    const bad = await api(a.url, 'report', {
      query: { from: '2026-03-30', to: '2026-03-31', channel: 'fax' } as any,
      headers: bearer(supervisor),
    });
    assert.equal(bad.status, 400);
  });

  it('a screen pop whose origin is not allow-listed is refused (409), never handed to the console', async () => {
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    assert.equal(cfg.status, 200, JSON.stringify(cfg.body));
    const changed = structuredClone(cfg.body.config ?? cfg.body);
    changed.queues.find((q: any) => q.id === 'general').screenPopUrl =
      'https://evil.example/steal?c={externalRef}';
    const put = await api(a.url, 'putPipelineConfig', { headers: bearer(admin), json: changed });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const s = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    assert.equal(
      (await api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } })).status,
      200,
    );
    const d = await device();
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    const requestId: string = q.body.request.requestId;
    const me = await api(a.url, 'agentMe', { headers: bearer(s.token) });
    const fence = me.body.offer.fence;
    await api(a.url, 'acceptOffer', { params: { requestId }, headers: bearer(s.token), json: { fence } });
    const pop = await api(a.url, 'screenPop', { params: { requestId }, headers: bearer(s.token) });
    assert.equal(pop.status, 409, JSON.stringify(pop.body));
    assert.match(pop.body.message, /https:\/\/evil\.example is not allow-listed/);
    await api(a.url, 'completeRequest', { params: { requestId }, headers: bearer(s.token), json: { fence } });
  });

  it('webhooks: signed, retried after 500s until delivered, given up (dead) after 3 attempts at a broken receiver', async () => {
    // accepted x7, ended x9 (7 completed, 2 of them the chats, + 2 abandoned), wrap-up saved x2 (the day, Monday's call, the refused pop's)
    const expected = 18;
    // A customer steps up with their PIN: the CRM hears of the new level (verification.changed).
    const d = await device();
    assert.equal((await d.api('setPin', { json: { pin: '246810' } })).status, 200);
    assert.equal((await d.api('pinFactor', { json: { pin: '246810' } })).body.level, 2);
    const isVerification = (g: Received) => g.type === 'verification.changed';
    await until(
      'every event delivered to the flaky receiver',
      async () => {
        clock.advance(5_000);
        return (
          flaky.got.filter((g) => !isVerification(g)).length >= expected &&
          flaky.got.some((g) => isVerification(g) && g.body.data.verificationLevel === 2)
        );
      },
      { timeoutMs: 30_000 },
    );
    const stepUp = flaky.got.find((g) => isVerification(g) && g.body.data.verificationLevel === 2)!;
    assert.equal(stepUp.body.data.externalRef, 'CRM-ALICE/01');
    assert.match(stepUp.body.data.authenticationId, /\S+/);
    const types = flaky.got
      .filter((g) => !isVerification(g))
      .map((g) => g.type)
      .sort();
    assert.deepEqual(
      types,
      [
        ...Array(9).fill('request.ended'),
        ...Array(7).fill('request.accepted'),
        ...Array(2).fill('wrapup.saved'),
      ].sort(),
    );
    assert.ok(
      flaky.got.every((g) => g.attempt === 3),
      'each event answered 500 twice, delivered on the third attempt',
    );
    const accepted = flaky.got.find(
      (g) => g.body.type === 'request.accepted' && g.body.data.requestId === ids.A,
    )!;
    assert.equal(accepted.body.id, accepted.eventId, 'the idempotency id is in the body and the header');
    assert.equal(accepted.body.data.externalRef, 'CRM-ALICE/01');
    assert.equal(accepted.body.data.verificationLevel, 1);
    assert.equal(accepted.body.data.queueId, 'general');
    const ended = flaky.got.filter((g) => g.body.data.requestId === ids.B);
    assert.deepEqual(
      ended.map((g) => [g.type, g.body.data.outcome]),
      [['request.ended', 'abandoned']],
    );
    await until(
      'every delivery delivered or given up',
      async () => {
        clock.advance(5_000);
        const d = await api(a.url, 'webhookDeliveries', { query: { limit: 500 }, headers: bearer(admin) });
        const all = d.body.deliveries ?? [];
        return all.length >= 2 * expected && all.every((x: any) => x.state !== 'pending') && all;
      },
      { timeoutMs: 30_000 },
    );
    const log = await api(a.url, 'webhookDeliveries', { query: { limit: 500 }, headers: bearer(admin) });
    assert.equal(log.status, 200);
    const dead = log.body.deliveries.filter((d: any) => d.state === 'dead');
    assert.equal(dead.length, flaky.got.length, 'every event given up at the broken receiver');
    assert.ok(dead.every((d: any) => d.attempts === 3 && d.lastStatus === 500 && d.lastError === 'HTTP 500'));
    assert.equal(
      log.body.deliveries.filter((d: any) => d.state === 'delivered').length,
      flaky.got.length,
      'the flaky receiver got each once',
    );
    assert.ok(
      [...broken.tries.values()].every((n) => n === 3),
      'no attempt after giving up',
    );
    assert.equal(
      (await api(a.url, 'webhookDeliveries', { headers: bearer(supervisor) })).status,
      403,
      'admins only',
    );
  });
});
