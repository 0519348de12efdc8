/**
 * Verified chat through crashes (issue 18, "Reliability"): an authority in a process of its
 * own, K chat conversations (an enrolled, verified customer device and an agent who accepted
 * the chat request), both sides sending with the real client session (browser-common
 * ChatSession: a clientMsgId per message, resent after every reconnect until acknowledged,
 * `chat.resume` from the last seq held, a rate-limited message sent again after the pause
 * asked for). Meanwhile the authority is SIGKILLed at random moments and restarted, and
 * client sockets are cut at random. Then the authority is SIGKILLed once more and a checker
 * reads the stored transcripts: every acknowledged clientMsgId is there exactly once, under
 * the seq its ack named; seq runs 1..n without gaps per conversation; each sender's messages
 * are stored in the order it sent them; nothing is stored that no client sent. After a
 * restart each client resumes and what it shows equals the stored transcript.
 *
 * Sizes: VD_CHAT_CRASH_MESSAGES (default 150; the documented full size 1000), VD_CHAT_CRASH_KILLS
 * (default 3; 10 from 1000 messages), VD_CHAT_CRASH_CONVERSATIONS (default 3, at most 3: one per
 * seeded staff member). Bounded: the senders give up at a deadline and the test fails then.
 * On SQLite, or on PostgreSQL with VD_TEST_ENGINE=postgres (the database server stays up).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import WebSocket from 'ws';
import { ChatSession } from '../../browser-common/chat-session.ts';
import { WS_PATH } from '../../protocol/src/index.ts';
import { openReadOnly } from '../../authority/src/store/engine.ts';
import { TestDevice } from '../support/device.ts';
import { api, apiWith, bearer, staffLogin } from '../support/http.ts';
import { AuthorityProcess, freePort } from '../support/process.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

const int = (v: string | undefined, d: number) => {
  const n = v === undefined || v === '' ? NaN : parseInt(v, 10);
  return Number.isFinite(n) && n >= 0 ? n : d;
};
const MESSAGES = Math.max(12, int(process.env.VD_CHAT_CRASH_MESSAGES, 150));
const KILLS = int(process.env.VD_CHAT_CRASH_KILLS, MESSAGES >= 1000 ? 10 : 3);
const CONVERSATIONS = Math.min(3, Math.max(1, int(process.env.VD_CHAT_CRASH_CONVERSATIONS, 3)));
/** A bound on the run, not an expectation. */
const DEADLINE_MS = 120_000 + MESSAGES * 400 + KILLS * 180_000;
/** Own messages a sender has on their way at most (a fast typist). */
const WINDOW = 3;

const STAFF = [
  { username: 'agent1', password: 'demo-agent-1' },
  { username: 'agent2', password: 'demo-agent-2' },
  { username: 'supervisor', password: 'demo-supervisor' },
];
const CUSTOMERS = ['c_alice_martin_01', 'c_bob_okafor_002', 'c_chen_wei_00003'];

interface Counters {
  reconnects: number;
  cuts: number;
  refusals: string[];
  socketErrors: number;
}

/**
 * One side of a conversation: a ChatSession over a WebSocket that reconnects (hello, then
 * `connected()`: resume and resend) whenever its socket closes, until stopped.
 */
class Party {
  readonly session: ChatSession;
  /** clientMsgIds in the order this side sent them. */
  readonly sent: string[] = [];
  /** Acknowledged (its chat.ack, or the message back in a resume): clientMsgId -> seq. */
  readonly acked = new Map<string, number>();
  readonly ackConflicts: string[] = [];
  resends = 0;
  /** Own messages a resume brought back (counted once per frame). */
  confirmedByResume = 0;
  rateLimited = 0;
  private ws: WebSocket | null = null;
  private welcomed = false;
  private stopped = false;
  private pinger: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly requestId: string,
    readonly role: 'customer' | 'agent',
    private readonly hello: () => Promise<unknown>,
    readonly counters: Counters,
    fence?: number,
  ) {
    this.session = new ChatSession({
      requestId,
      role,
      transport: {
        send: (frame) => {
          if (!this.ws || !this.welcomed || this.ws.readyState !== WebSocket.OPEN) return false;
          if (frame.type === 'chat.send' && this.sentOnce.has(frame.clientMsgId)) this.resends++;
          if (frame.type === 'chat.send') this.sentOnce.add(frame.clientMsgId);
          this.ws.send(JSON.stringify(frame));
          return true;
        },
      },
      ...(fence !== undefined ? { fence: () => fence } : {}),
    });
    this.session.on('refused', ({ clientMsgId, code }) => {
      if (code === 'rate_limited') this.rateLimited++;
      else this.counters.refusals.push(`${this.name} ${clientMsgId}: ${code}`);
    });
  }

  private readonly sentOnce = new Set<string>();

  get connected(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Connect, and connect again after every close (a short random pause), until stop(). */
  async run(): Promise<void> {
    while (!this.stopped) {
      await this.connectOnce();
      if (this.stopped) return;
      await sleep(100 + Math.random() * 200);
    }
  }

  private async connectOnce(): Promise<void> {
    let hello: unknown;
    try {
      hello = await this.hello();
    } catch {
      this.counters.socketErrors++;
      return;
    }
    const ws = new WebSocket(this.url.replace(/^http/, 'ws') + WS_PATH);
    this.ws = ws;
    this.welcomed = false;
    await new Promise<void>((resolve) => {
      ws.on('open', () => ws.send(JSON.stringify(hello)));
      ws.on('message', (data) => {
        let f: any;
        try {
          f = JSON.parse(String(data));
        } catch {
          return;
        }
        if (f.type === 'welcome') {
          this.welcomed = true;
          this.counters.reconnects++;
          this.session.connected();
          this.pinger = setInterval(() => {
            if (ws.readyState === WebSocket.OPEN)
              ws.send(JSON.stringify({ type: 'ping', id: `p${Date.now()}` }));
          }, 5000);
          return;
        }
        // Acknowledged: by its ack, or by a resume that brought the message back (the ack was lost).
        const own =
          f.type === 'chat.ack' && f.requestId === this.requestId
            ? { id: f.clientMsgId as string, seq: f.seq as number }
            : f.type === 'chat.message' &&
                f.message?.requestId === this.requestId &&
                f.message.sender === this.role
              ? { id: f.message.clientMsgId as string, seq: f.message.seq as number }
              : null;
        if (own) {
          const prev = this.acked.get(own.id);
          if (prev !== undefined && prev !== own.seq)
            this.ackConflicts.push(`${this.name} ${own.id}: acknowledged as ${prev} then ${own.seq}`);
          this.acked.set(own.id, own.seq);
          if (f.type === 'chat.message') this.confirmedByResume++;
        }
        this.session.handle(f);
      });
      ws.on('error', () => this.counters.socketErrors++);
      ws.on('close', () => {
        if (this.pinger) clearInterval(this.pinger);
        this.pinger = null;
        this.welcomed = false;
        this.session.disconnected();
        resolve();
      });
    });
  }

  /** Cut the connection (as a network loss would): the socket dies without a close handshake. */
  cut(): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.counters.cuts++;
      this.ws.terminate();
    }
  }

  send(text: string): void {
    this.sent.push(this.session.send(text));
  }

  stop(): void {
    this.stopped = true;
    this.ws?.terminate();
    this.session.dispose();
  }
}

interface StoredMessage {
  request_id: string;
  seq: number;
  client_msg_id: string;
  sender: string;
  text: string;
}

describe(`verified chat through ${KILLS} authority SIGKILLs and cut sockets: ${MESSAGES} messages in ${CONVERSATIONS} conversations`, () => {
  let dir: string;
  let authority: AuthorityProcess;
  const parties: Party[] = [];
  const runs: Promise<void>[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-chat-crash-'));
    authority = new AuthorityProcess({
      port: await freePort(),
      dataDir: join(dir, 'authority'),
      // A loaded machine starts the authority slowly: a bound, not an expectation.
      startTimeoutMs: 180_000,
      env: {
        VD_ACCESS_TOKEN_SECONDS: '3600',
        VD_AGENT_TIMEOUT_SECONDS: '3600',
        VD_OFFER_TIMEOUT_SECONDS: '60',
        VD_WRAP_UP_SECONDS: '0',
        VD_LOG_LEVEL: 'warn',
      },
    });
    await authority.start();
  });
  after(async () => {
    for (const p of parties) p.stop();
    await Promise.allSettled(runs);
    await authority.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'every acknowledged message is stored exactly once, seq 1..n without gaps, in each sender’s order; each client shows the stored transcript',
    { timeout: DEADLINE_MS + 600_000 },
    async () => {
      const url = authority.url;
      const t0 = Date.now();
      const admin = (await staffLogin(url, 'admin', 'demo-admin-1')).token;
      const cfg = await api(url, 'getPipelineConfig', { headers: bearer(admin) });
      offerChatOn(cfg.body.menu);
      const put = await api(url, 'putPipelineConfig', { headers: bearer(admin), json: cfg.body });
      assert.equal(put.status, 200, JSON.stringify(put.body));

      const staff: Awaited<ReturnType<typeof staffLogin>>[] = [];
      for (const s of STAFF.slice(0, CONVERSATIONS)) {
        const l = await staffLogin(url, s.username, s.password);
        await apiWith(url, bearer(l.token), 'setPresence', { json: { state: 'offline' } });
        staff.push(l);
      }
      const counters: Counters = { reconnects: 0, cuts: 0, refusals: [], socketErrors: 0 };
      // One conversation at a time: its agent alone is available, takes the offer and keeps it.
      for (let i = 0; i < CONVERSATIONS; i++) {
        const s = staff[i]!;
        const code = await api(url, 'issueEnrolmentCode', {
          params: { customerId: CUSTOMERS[i]! },
          headers: bearer(admin),
        });
        const d = await new TestDevice(url).enrolAndAuthenticate(code.body.code);
        const setPin = await d.api('setPin', { json: { pin: '112358' } });
        assert.ok(setPin.status === 200 || setPin.body.code === 'conflict', JSON.stringify(setPin.body));
        assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
        const q = await d.api('createRequest', { json: { optionId: 'other', channel: 'chat' } });
        assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
        const requestId = q.body.request.requestId as string;
        const sessionId = q.body.request.sessionId as string;
        await apiWith(url, bearer(s.token), 'setPresence', { json: { state: 'available' } });
        let fence: number | undefined;
        for (let t = 0; t < 200 && fence === undefined; t++) {
          const me = await apiWith(url, bearer(s.token), 'agentMe');
          if (me.body.offer?.requestId === requestId) fence = me.body.offer.fence as number;
          else await sleep(50);
        }
        assert.ok(fence !== undefined, `conversation ${i}: the chat was offered to ${s.staffId}`);
        const ok = await apiWith(url, bearer(s.token), 'acceptOffer', {
          params: { requestId },
          json: { fence },
        });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        parties.push(
          new Party(`c${i}/customer`, url, requestId, 'customer', () => d.wsHello(sessionId), counters),
          new Party(
            `c${i}/agent`,
            url,
            requestId,
            'agent',
            async () => ({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } }),
            counters,
            fence,
          ),
        );
      }
      for (const p of parties) runs.push(p.run());
      const t1 = Date.now();

      // The senders: each party its share, a few on their way at most, at a human-ish pace.
      const deadline = Date.now() + DEADLINE_MS;
      const quota = parties.map(
        (_, i) => Math.floor(MESSAGES / parties.length) + (i < MESSAGES % parties.length ? 1 : 0),
      );
      const totalAcked = () => parties.reduce((n, p) => n + p.acked.size, 0);
      const senders = parties.map(async (p, i) => {
        let n = 0;
        while (n < quota[i]! && Date.now() < deadline) {
          if (p.session.unacknowledged < WINDOW) {
            n++;
            p.send(`${p.name} #${n} <b>${Math.random().toString(36).slice(2, 8)}</b>`);
          }
          await sleep(80 + Math.random() * 400);
        }
      });

      // The crashes: SIGKILL (then restart) when the acknowledged count passes random marks.
      const marks = Array.from({ length: KILLS }, () =>
        Math.floor(MESSAGES * (0.1 + 0.8 * Math.random())),
      ).sort((x, y) => x - y);
      const killAt: number[] = [];
      let sendersDone = false;
      const killer = (async () => {
        for (const mark of marks) {
          while (totalAcked() < mark && Date.now() < deadline && !sendersDone) await sleep(20);
          if (Date.now() >= deadline) return;
          await sleep(Math.random() * 150);
          killAt.push(totalAcked());
          await authority.restart();
        }
      })();
      // The network: a random party's socket cut now and then.
      const cutter = (async () => {
        while (!sendersDone && Date.now() < deadline) {
          await sleep(500 + Math.random() * 1500);
          parties[Math.floor(Math.random() * parties.length)]!.cut();
        }
      })();
      await Promise.all(senders);
      await killer;
      sendersDone = true;
      await cutter;
      // Everything sent is acknowledged in the end (resent after each reconnect until then).
      while (parties.some((p) => p.session.unacknowledged > 0) && Date.now() < deadline) await sleep(100);
      const unacked = parties.reduce((n, p) => n + p.session.unacknowledged, 0);

      const t2 = Date.now();
      // The last crash, then the checker reads what is durable.
      await authority.kill();
      const ro = await openReadOnly(await authority.storeTarget());
      const requestIds = [...new Set(parties.map((p) => p.requestId))];
      let rows: StoredMessage[];
      try {
        rows = (
          await sql<StoredMessage>`
            SELECT request_id, seq, client_msg_id, sender, text FROM chat_messages
            ORDER BY request_id, seq`.execute(ro.db)
        ).rows.map((r) => ({ ...r, seq: Number(r.seq) }));
      } finally {
        await ro.close();
      }
      const byConversation = new Map(requestIds.map((id) => [id, rows.filter((r) => r.request_id === id)]));
      const unexpectedRequests = rows.filter((r) => !byConversation.has(r.request_id)).length;

      const lost: string[] = [];
      const duplicated: string[] = [];
      const outOfOrder: string[] = [];
      const mismatched: string[] = [];
      const unexpected: string[] = [];
      for (const [requestId, list] of byConversation) {
        list.forEach((r, i) => {
          if (r.seq !== i + 1) outOfOrder.push(`${requestId}: seq ${r.seq} at position ${i + 1}`);
        });
        const count = new Map<string, number>();
        for (const r of list)
          count.set(`${r.sender}:${r.client_msg_id}`, (count.get(`${r.sender}:${r.client_msg_id}`) ?? 0) + 1);
        for (const [k, n] of count) if (n > 1) duplicated.push(`${requestId} ${k}: stored ${n} times`);
        for (const p of parties.filter((x) => x.requestId === requestId)) {
          const mine = new Map(list.filter((r) => r.sender === p.role).map((r) => [r.client_msg_id, r]));
          for (const [id, seq] of p.acked) {
            const r = mine.get(id);
            if (!r) lost.push(`${p.name} ${id} (acked ${seq})`);
            else if (r.seq !== seq) mismatched.push(`${p.name} ${id}: acked ${seq}, stored ${r.seq}`);
          }
          const sent = new Set(p.sent);
          for (const r of mine.values())
            if (!sent.has(r.client_msg_id)) unexpected.push(`${p.name} seq ${r.seq}`);
          // In the order the sender sent them.
          const seqs = p.sent.map((id) => mine.get(id)?.seq).filter((s): s is number => s !== undefined);
          for (let i = 1; i < seqs.length; i++)
            if (seqs[i]! < seqs[i - 1]!)
              outOfOrder.push(
                `${p.name}: sent #${i + 1} stored at ${seqs[i]} before #${i} at ${seqs[i - 1]}`,
              );
        }
      }

      // What the clients held acknowledged when the checker read (before they resume below).
      const ackedAtCheck = parties.reduce((n, p) => n + p.acked.size, 0);
      // Back up: every client resumes; what it shows is the stored transcript, each message once.
      await authority.start();
      const shown = (p: Party) =>
        p.session.transcript.messages.map((m) => `${m.seq}|${m.sender}|${m.clientMsgId}|${m.text}`);
      const stored = (p: Party) =>
        byConversation.get(p.requestId)!.map((r) => `${r.seq}|${r.sender}|${r.client_msg_id}|${r.text}`);
      const viewDeadline = Date.now() + 60_000;
      while (
        parties.some((p) => !p.connected || shown(p).length < stored(p).length) &&
        Date.now() < viewDeadline
      )
        await sleep(100);
      const viewMismatches = parties
        .filter((p) => JSON.stringify(shown(p)) !== JSON.stringify(stored(p)))
        .map((p) => `${p.name}: shows ${shown(p).length}, stored ${stored(p).length}`);
      for (const p of parties) p.stop();

      const acked = ackedAtCheck;
      const sent = parties.reduce((n, p) => n + p.sent.length, 0);
      const resends = parties.reduce((n, p) => n + p.resends, 0);
      const limited = parties.reduce((n, p) => n + p.rateLimited, 0);
      const byResume = parties.reduce((n, p) => n + p.confirmedByResume, 0);
      const ackConflicts = parties.flatMap((p) => p.ackConflicts);
      console.log(
        `chat crash (${authority.engine}): ${CONVERSATIONS} conversations, ${sent} messages sent, ${acked} acknowledged, ` +
          `${rows.length} stored; ${authority.kills} SIGKILLs (at ${killAt.join(', ')} acked), ${counters.cuts} sockets cut, ` +
          `${counters.reconnects} (re)connects, ${resends} resends, ${byResume} own messages confirmed by a resume, ${limited} rate-limited and sent again; ` +
          `lost ${lost.length}, duplicated ${duplicated.length}, out of order ${outOfOrder.length}, ` +
          `ack/seq mismatches ${mismatched.length + ackConflicts.length}, unexpected ${unexpected.length + unexpectedRequests}, ` +
          `unacknowledged ${unacked}, views differing ${viewMismatches.length}; ` +
          `setup ${((t1 - t0) / 1000).toFixed(1)} s, run ${((t2 - t1) / 1000).toFixed(1)} s, ` +
          `restarts ${authority.startTimes.map((t) => (t / 1000).toFixed(1)).join('/')} s`,
      );
      const show = (xs: string[]) => xs.slice(0, 10).join('\n');
      assert.deepEqual(counters.refusals, [], 'no send refused (other than rate_limited)');
      assert.equal(sent, MESSAGES, 'every message was sent before the deadline');
      assert.equal(unacked, 0, 'every message sent was acknowledged in the end');
      assert.equal(acked, sent);
      assert.equal(authority.kills, KILLS + 1, 'the kills happened (and the last one)');
      assert.equal(lost.length, 0, show(lost));
      assert.equal(duplicated.length, 0, show(duplicated));
      assert.equal(outOfOrder.length, 0, show(outOfOrder));
      assert.equal(mismatched.length + ackConflicts.length, 0, show([...mismatched, ...ackConflicts]));
      assert.equal(unexpected.length + unexpectedRequests, 0, show(unexpected));
      assert.equal(rows.length, acked, 'stored exactly what was acknowledged');
      assert.deepEqual(viewMismatches, [], 'each client shows the stored transcript');
    },
  );
});
