/**
 * Verified chat (issue 18), figures printed, never asserted. An authority in its own
 * process (demo data, temp data dir or a fresh PostgreSQL database); everything set up
 * through the real routes: the pipeline configuration (the menu option 'other' offers
 * chat, `chatCapacity`), bench agents (staff account, profile on queue general, a shift,
 * login, WebSocket), customers and their devices (enrolment code, device key, PIN
 * step-up: level 2), each device's chat request and its WebSocket, the agents' accepts.
 *
 * (a) latency: one message at a time, alternately the customer's device -> the agent and
 *     the agent -> the device: `chat.send` on the sender's socket -> `chat.message` on the
 *     other party's socket (the authority checks the sender, stores the message with its
 *     seq in one commit, acks the sender and relays it), p50/p99; and send -> `chat.ack`
 *     on the sender's socket. Baseline in the same run: a raw `ws` echo round trip (a
 *     server in its own process; one hop in, one hop out, like a relayed message), a
 *     message the size of a `chat.message` frame.
 * (b) load: VD_BENCH_CHAT_CONVERSATIONS conversations at once on one node, each
 *     exchanging VD_BENCH_CHAT_MESSAGES messages (customer and agent in turn, each sent
 *     when the previous one is shown): messages/s, p50/p99 send -> shown; every message
 *     checked once on the other side's socket and once in the transcript (seq 1..M, the
 *     ids sent): lost and duplicated counted.
 *
 * The authority limits each sender to RATE_MAX messages per RATE_WINDOW_MS per
 * conversation (chat-service.ts); the bench paces each sender below it, so what it
 * measures is never a refusal (refusals are counted and printed all the same).
 *
 * Sizes: VD_BENCH_CHAT_N (2,000 messages in (a), after VD_BENCH_CHAT_WARMUP 50),
 * VD_BENCH_CHAT_LATENCY_CONVERSATIONS (20), VD_BENCH_CHAT_CONVERSATIONS (1,000),
 * VD_BENCH_CHAT_MESSAGES (10 per conversation), VD_BENCH_CHAT_CAPACITY (20 chats per
 * agent: 50 agents for 1,000).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { RATE_MAX, RATE_WINDOW_MS } from '../authority/src/chat/chat-service.ts';
import type { Engine } from '../authority/src/store/engine.ts';
import { WS_PATH } from '../protocol/src/index.ts';
import { engineName, startBenchAuthority } from './authority-process.ts';
import { fmt, pct } from './console-support.ts';
import { TestDevice } from '../test/support/device.ts';
import { api, bearer, staffLogin } from '../test/support/http.ts';

const env = (name: string, dflt: number, min = 1) => Math.max(min, Number(process.env[name] ?? dflt));
const N = env('VD_BENCH_CHAT_N', 2000);
const WARMUP = env('VD_BENCH_CHAT_WARMUP', 50, 0);
const LATENCY_CONVERSATIONS = env('VD_BENCH_CHAT_LATENCY_CONVERSATIONS', 20);
const CONVERSATIONS = env('VD_BENCH_CHAT_CONVERSATIONS', 1000);
const MESSAGES = env('VD_BENCH_CHAT_MESSAGES', 10);
/** (b)'s second phase: each conversation sends a message every THINK_MS (0: no second phase). */
const THINK_MS = env('VD_BENCH_CHAT_THINK_MS', 5000, 0);
const CAPACITY = Math.min(20, env('VD_BENCH_CHAT_CAPACITY', 20));
/** Devices per bench customer (the PIN is the customer's: set once, stepped up on each device). */
const DEVICES_PER_CUSTOMER = 10;
/** Setup requests in flight (enrolments, PIN step-ups, requests). */
const SETUP_CONCURRENCY = 8;
/** A message not shown this long after its send is counted lost. */
const SHOWN_TIMEOUT_MS = 120_000;
const PEPPER = 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz';
const PIN = '135790';
const root = new URL('..', import.meta.url).pathname;

const now = () => performance.now();
const newId = () => randomBytes(12).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run `fn` over `items`, `concurrency` at a time. */
async function pool<T>(items: readonly T[], concurrency: number, fn: (x: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

// ---- sockets -------------------------------------------------------------------

/** A hello'd WebSocket on the authority: every frame goes to `onFrame` with its arrival time. */
class Sock {
  onFrame: (f: any, t: number) => void = () => {};
  private constructor(readonly ws: WebSocket) {}

  static async open(url: string, hello: unknown): Promise<Sock> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + WS_PATH);
    const s = new Sock(ws);
    await once(ws, 'open');
    const welcome = new Promise<any>((resolve) => (s.onFrame = resolve));
    ws.on('message', (data) => {
      const t = now();
      s.onFrame(JSON.parse(String(data)), t);
    });
    ws.send(JSON.stringify(hello));
    const w = await welcome;
    if (w.type !== 'welcome') throw new Error(`hello refused: ${JSON.stringify(w)}`);
    s.onFrame = () => {};
    return s;
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }
}

// ---- setup through the routes ----------------------------------------------------------

interface Agent {
  staffId: string;
  token: string;
  sock: Sock;
}

interface Conversation {
  requestId: string;
  device: Sock;
  agent: Agent;
  fence: number;
}

/**
 * `count` chat conversations accepted by bench agents (chatCapacity `capacity` each),
 * every step through the authority's routes and sockets.
 */
async function setUpConversations(
  url: string,
  count: number,
  capacity: number,
): Promise<{ conversations: Conversation[]; agents: Agent[]; seconds: number }> {
  const t0 = now();
  const admin = (await staffLogin(url, 'admin', 'demo-admin-1')).token;
  const cfg = await api(url, 'getPipelineConfig', { headers: bearer(admin) });
  const walk = (nodes: any[]): void => {
    for (const n of nodes) {
      if (n.children) walk(n.children);
      else if (n.id === 'other') n.channels = ['voice', 'chat'];
    }
  };
  walk(cfg.body.menu);
  cfg.body.chatCapacity = capacity;
  const put = await api(url, 'putPipelineConfig', { headers: bearer(admin), json: cfg.body });
  if (put.status !== 200) throw new Error(`pipeline config: ${put.status} ${JSON.stringify(put.body)}`);

  // Agents on queue general (the option's queue), on shift, signed in, socket open; offline for now.
  const agentCount = Math.ceil(count / capacity);
  const agents: Agent[] = new Array(agentCount);
  const shift = {
    start: new Date(Date.now() - 3_600_000).toISOString(),
    end: new Date(Date.now() + 86_400_000).toISOString(),
  };
  await pool([...Array(agentCount).keys()], 4, async (i) => {
    const username = `bench-chat-${i}`;
    const password = `bench-chat-password-${i}`;
    const s = await api(url, 'createStaff', {
      headers: bearer(admin),
      json: { username, displayName: `Bench Agent ${i}`, role: 'agent', password },
    });
    if (s.status !== 201) throw new Error(`create staff: ${s.status} ${JSON.stringify(s.body)}`);
    const staffId = s.body.staffId as string;
    const p = await api(url, 'setAgentProfile', {
      headers: bearer(admin),
      params: { staffId },
      json: { skills: [], queues: ['general'] },
    });
    if (p.status !== 200) throw new Error(`profile: ${p.status} ${JSON.stringify(p.body)}`);
    const h = await api(url, 'setAgentSchedule', {
      headers: bearer(admin),
      params: { staffId },
      json: { shifts: [shift] },
    });
    if (h.status !== 200) throw new Error(`schedule: ${h.status} ${JSON.stringify(h.body)}`);
    const token = (await staffLogin(url, username, password)).token;
    const sock = await Sock.open(url, { type: 'hello', auth: { kind: 'staff', accessToken: token } });
    agents[i] = { staffId, token, sock };
  });

  // Customers (DEVICES_PER_CUSTOMER devices each): enrolled devices, PIN step-up (level 2), a chat request each.
  const customers = Math.ceil(count / DEVICES_PER_CUSTOMER);
  const waiting: { requestId: string; device: Sock }[] = [];
  await pool([...Array(customers).keys()], SETUP_CONCURRENCY, async (c) => {
    const cu = await api(url, 'createCustomer', {
      headers: bearer(admin),
      json: { displayName: `Bench Customer ${c}` },
    });
    if (cu.status !== 201) throw new Error(`create customer: ${cu.status} ${JSON.stringify(cu.body)}`);
    const customerId = cu.body.customerId as string;
    const devices = Math.min(DEVICES_PER_CUSTOMER, count - c * DEVICES_PER_CUSTOMER);
    for (let k = 0; k < devices; k++) {
      const code = await api(url, 'issueEnrolmentCode', { headers: bearer(admin), params: { customerId } });
      if (code.status !== 201 && code.status !== 200)
        throw new Error(`enrolment code: ${JSON.stringify(code.body)}`);
      const d = await new TestDevice(url).enrolAndAuthenticate(code.body.code);
      if (k === 0) {
        const set = await d.api('setPin', { json: { pin: PIN } });
        if (set.status !== 200) throw new Error(`set PIN: ${set.status} ${JSON.stringify(set.body)}`);
      }
      const step = await d.api('pinFactor', { json: { pin: PIN } });
      if (step.body?.level !== 2) throw new Error(`PIN step-up: ${step.status} ${JSON.stringify(step.body)}`);
      const q = await d.api('createRequest', { json: { optionId: 'other', channel: 'chat' } });
      if (q.body?.status !== 'queued') throw new Error(`request: ${q.status} ${JSON.stringify(q.body)}`);
      const device = await Sock.open(url, await d.wsHello(q.body.request.sessionId));
      waiting.push({ requestId: q.body.request.requestId, device });
      if (waiting.length % 250 === 0)
        console.log(`  set-up: ${waiting.length} of ${count} devices verified, their chats queued`);
    }
  });

  // The agents go available and accept every chat offered to them until all are held.
  const byRequest = new Map(waiting.map((w) => [w.requestId, w.device]));
  const conversations: Conversation[] = [];
  const failure: { error: Error | null } = { error: null };
  let done!: () => void;
  const allHeld = new Promise<void>((resolve) => (done = resolve));
  const accepting = new Set<string>();
  const accept = async (agent: Agent, offer: { requestId: string; fence: number }) => {
    if (accepting.has(offer.requestId)) return;
    accepting.add(offer.requestId);
    const r = await api(url, 'acceptOffer', {
      headers: bearer(agent.token),
      params: { requestId: offer.requestId },
      json: { fence: offer.fence },
    });
    if (r.status !== 200) {
      failure.error = new Error(`accept: ${r.status} ${JSON.stringify(r.body)}`);
      return done();
    }
    const device = byRequest.get(offer.requestId);
    if (!device) return;
    conversations.push({ requestId: offer.requestId, device, agent, fence: offer.fence });
    if (conversations.length === count) done();
  };
  for (const agent of agents) {
    agent.sock.onFrame = (f) => {
      if (f.type === 'offer') void accept(agent, f.offer);
    };
  }
  await pool(agents, 4, async (agent) => {
    const av = await api(url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } });
    if (av.status !== 200) throw new Error(`available: ${av.status} ${JSON.stringify(av.body)}`);
    if (av.body.offer) void accept(agent, av.body.offer);
  });
  await allHeld;
  if (failure.error) throw failure.error;
  for (const agent of agents) agent.sock.onFrame = () => {};
  return { conversations, agents, seconds: (now() - t0) / 1000 };
}

// ---- messages -------------------------------------------------------------------

/**
 * Keeps each sender (conversation and side) below the authority's rate limit: at most
 * RATE_MAX - 1 sends in any window of RATE_WINDOW_MS + 1 s (the margin covers the time
 * between this process's send and the authority's stamp).
 */
class Pace {
  private readonly sent = new Map<string, number[]>();
  async wait(key: string): Promise<void> {
    for (;;) {
      const t = now();
      const list = (this.sent.get(key) ?? []).filter((x) => x > t - RATE_WINDOW_MS - 1000);
      if (list.length < RATE_MAX - 1) {
        list.push(t);
        this.sent.set(key, list);
        return;
      }
      this.sent.set(key, list);
      await sleep(list[0]! + RATE_WINDOW_MS + 1000 - t + 1);
    }
  }
}

interface Pending {
  t0: number;
  shown?: (t: number) => void;
  acked?: (t: number) => void;
}

/**
 * The message traffic of a set of conversations: sends with a fresh clientMsgId, and the
 * times their `chat.message` reaches the other party and their `chat.ack` the sender.
 * Counts duplicates (a message shown twice on a socket) and refusals.
 */
class Traffic {
  readonly pending = new Map<string, Pending>();
  readonly shownIds = new Set<string>();
  readonly sentIds = new Map<string, string[]>();
  duplicates = 0;
  refused = 0;
  errors: string[] = [];
  private readonly pace = new Pace();

  constructor(conversations: readonly Conversation[], agents: readonly Agent[]) {
    const onFrame = (f: any, t: number) => {
      if (f.type === 'chat.message') {
        const id = f.message.clientMsgId as string;
        if (this.shownIds.has(id)) return void this.duplicates++;
        this.shownIds.add(id);
        this.pending.get(id)?.shown?.(t);
      } else if (f.type === 'chat.ack') this.pending.get(f.clientMsgId)?.acked?.(t);
      else if (f.type === 'chat.refused') {
        this.refused++;
        this.errors.push(JSON.stringify(f));
      } else if (f.type === 'error') this.errors.push(JSON.stringify(f));
    };
    for (const c of conversations) c.device.onFrame = onFrame;
    for (const a of agents) a.sock.onFrame = onFrame;
  }

  /** Send one message and resolve with send -> shown and send -> ack (ms); null when not shown in time. */
  async message(c: Conversation, from: 'customer' | 'agent'): Promise<{ shown: number; ack: number } | null> {
    await this.pace.wait(`${c.requestId}:${from}`);
    const clientMsgId = newId();
    const ids = this.sentIds.get(c.requestId) ?? [];
    ids.push(clientMsgId);
    this.sentIds.set(c.requestId, ids);
    const p: Pending = { t0: now() };
    const shown = new Promise<number>((resolve) => (p.shown = resolve));
    const acked = new Promise<number>((resolve) => (p.acked = resolve));
    this.pending.set(clientMsgId, p);
    const text = `bench message ${ids.length} from the ${from}`;
    p.t0 = now();
    if (from === 'customer') c.device.send({ type: 'chat.send', requestId: c.requestId, clientMsgId, text });
    else c.agent.sock.send({ type: 'chat.send', requestId: c.requestId, clientMsgId, fence: c.fence, text });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>(
      (resolve) => (timer = setTimeout(() => resolve(null), SHOWN_TIMEOUT_MS)),
    );
    const out = await Promise.race([Promise.all([shown, acked]), timeout]);
    clearTimeout(timer);
    this.pending.delete(clientMsgId);
    return out ? { shown: out[0] - p.t0, ack: out[1] - p.t0 } : null;
  }

  /** Each conversation's transcript as its holder reads it: messages missing or twice against what was sent. */
  async checkTranscripts(url: string, conversations: readonly Conversation[]) {
    let lost = 0;
    let duplicated = 0;
    await pool(conversations, SETUP_CONCURRENCY, async (c) => {
      const sent = this.sentIds.get(c.requestId) ?? [];
      const seen = new Map<string, number>();
      let after = 0;
      for (;;) {
        const r = await api(url, 'requestTranscript', {
          headers: bearer(c.agent.token),
          params: { requestId: c.requestId },
          query: { after: String(after), limit: '500' },
        });
        if (r.status !== 200) throw new Error(`transcript: ${r.status} ${JSON.stringify(r.body)}`);
        for (const [i, m] of (r.body.messages as { seq: number; clientMsgId: string }[]).entries()) {
          if (m.seq !== after + i + 1)
            this.errors.push(`transcript ${c.requestId}: seq ${m.seq} after ${after + i}`);
          seen.set(m.clientMsgId, (seen.get(m.clientMsgId) ?? 0) + 1);
        }
        if (r.body.nextAfter === null) break;
        after = r.body.nextAfter;
      }
      for (const id of sent) if (!seen.has(id)) lost++;
      for (const [id, k] of seen) if (k > 1 || !sent.includes(id)) duplicated += k > 1 ? k - 1 : 1;
    });
    return { lost, duplicated };
  }
}

// ---- the raw baseline ----------------------------------------------------------------

/** A raw `ws` echo server in its own process (like the authority): `use` gets its port. */
async function withEchoServer<T>(use: (port: number) => Promise<T>): Promise<T> {
  const code = `
    import { WebSocketServer } from 'ws';
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (s) => s.on('message', (m, bin) => s.send(m, { binary: bin })));
    wss.on('listening', () => console.log('echo on ' + wss.address().port));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = /echo on (\d+)/.exec(String(d));
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (c) => reject(new Error(`echo server exited ${c}`)));
    });
    return await use(port);
  } finally {
    child.kill('SIGTERM');
  }
}

/** `n` round trips of `body` on one socket, one at a time. */
async function roundTrips(ws: WebSocket, n: number, body: string, warmup = 0): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n + warmup; i++) {
    const t0 = now();
    const got = once(ws, 'message');
    ws.send(body);
    await got;
    if (i >= warmup) times.push(now() - t0);
  }
  return times;
}

/** The raw baseline of (a): `n` round trips of `body` through the echo process. */
export function wsEchoRoundTrips(n: number, body: string, warmup = 0): Promise<number[]> {
  return withEchoServer(async (port) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await once(ws, 'open');
    const times = await roundTrips(ws, n, body, warmup);
    ws.close();
    return times;
  });
}

/** The raw baseline of (b): `sockets` sockets at once, `n` round trips each: round trips/s and their times. */
export function wsEchoLoad(
  sockets: number,
  n: number,
  body: string,
): Promise<{ times: number[]; seconds: number }> {
  return withEchoServer(async (port) => {
    const all: WebSocket[] = [];
    await pool([...Array(sockets).keys()], 64, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      await once(ws, 'open');
      all.push(ws);
    });
    const t0 = now();
    const times = (await Promise.all(all.map((ws) => roundTrips(ws, n, body)))).flat();
    const seconds = (now() - t0) / 1000;
    for (const ws of all) ws.terminate();
    return { times, seconds };
  });
}

/** A `chat.message` frame as the authority sends it (the baseline moves as many bytes). */
const CHAT_FRAME_SIZED = JSON.stringify({
  type: 'chat.message',
  message: {
    requestId: 'r'.repeat(22),
    seq: 1234,
    clientMsgId: 'c'.repeat(16),
    sender: 'agent',
    staffId: 's'.repeat(22),
    text: 'bench message 1234 from the customer',
    at: new Date().toISOString(),
  },
});

// ---- the benches -------------------------------------------------------------------

const AUTHORITY_ENV = {
  VD_PIN_PEPPER: PEPPER,
  VD_AUTHENTICATION_TTL_SECONDS: '86400',
  VD_ACCESS_TOKEN_SECONDS: '3600',
  VD_AGENT_TIMEOUT_SECONDS: '3600',
  VD_OFFER_TIMEOUT_SECONDS: '300',
  VD_WRAP_UP_SECONDS: '0',
};

async function withAuthority<T>(engine: Engine, fn: (url: string) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vd-bench-chat-'));
  const authority = await startBenchAuthority(dataDir, AUTHORITY_ENV, engine);
  try {
    return await fn(authority.url);
  } finally {
    await authority.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export interface ChatLatencyFigures {
  engine: Engine;
  n: number;
  conversations: number;
  /** send -> chat.message on the other side, ms. */
  toAgent: number[];
  toDevice: number[];
  /** send -> chat.ack on the sender's socket, ms. */
  acked: number[];
  echo: number[];
  lost: number;
  duplicated: number;
  refused: number;
  errors: string[];
  setupSeconds: number;
}

/** (a) one message at a time, device -> agent and agent -> device in turn, against a raw WebSocket echo. */
export async function benchChatLatency(engine: Engine = 'sqlite', n = N): Promise<ChatLatencyFigures> {
  return withAuthority(engine, async (url) => {
    const k = Math.min(LATENCY_CONVERSATIONS, CAPACITY);
    const { conversations, agents, seconds } = await setUpConversations(url, k, CAPACITY);
    const traffic = new Traffic(conversations, agents);
    const f: ChatLatencyFigures = {
      engine,
      n,
      conversations: k,
      toAgent: [],
      toDevice: [],
      acked: [],
      echo: [],
      lost: 0,
      duplicated: 0,
      refused: 0,
      errors: traffic.errors,
      setupSeconds: seconds,
    };
    for (let i = 0; i < n + WARMUP; i++) {
      const from = i % 2 === 0 ? 'customer' : 'agent';
      const r = await traffic.message(conversations[Math.floor(i / 2) % k]!, from);
      if (!r) continue;
      if (i < WARMUP) continue;
      (from === 'customer' ? f.toAgent : f.toDevice).push(r.shown);
      f.acked.push(r.ack);
    }
    const check = await traffic.checkTranscripts(url, conversations);
    f.lost = check.lost;
    f.duplicated = check.duplicated + traffic.duplicates;
    f.refused = traffic.refused;
    for (const c of conversations) c.device.ws.terminate();
    for (const a of agents) a.sock.ws.terminate();
    f.echo = await wsEchoRoundTrips(n, CHAT_FRAME_SIZED, WARMUP);
    return f;
  });
}

export interface ChatLoadFigures {
  engine: Engine;
  conversations: number;
  agents: number;
  messagesEach: number;
  sent: number;
  shown: number[];
  seconds: number;
  lost: number;
  duplicated: number;
  refused: number;
  errors: string[];
  setupSeconds: number;
  /** The raw baseline: as many echo sockets, as many round trips each. */
  echo: { times: number[]; seconds: number };
  /** The second phase: a message every `thinkMs` per conversation (null when VD_BENCH_CHAT_THINK_MS=0). */
  paced: { thinkMs: number; sent: number; shown: number[]; seconds: number } | null;
}

/** (b) `count` conversations at once on one node, `messages` each (customer and agent in turn). */
export async function benchChatLoad(
  engine: Engine = 'sqlite',
  count = CONVERSATIONS,
  messages = MESSAGES,
): Promise<ChatLoadFigures> {
  return withAuthority(engine, async (url) => {
    const { conversations, agents, seconds } = await setUpConversations(url, count, CAPACITY);
    const traffic = new Traffic(conversations, agents);
    const shown: number[] = [];
    let sent = 0;
    let notShown = 0;
    const t0 = now();
    await Promise.all(
      conversations.map(async (c) => {
        for (let j = 0; j < messages; j++) {
          sent++;
          const r = await traffic.message(c, j % 2 === 0 ? 'customer' : 'agent');
          if (r) shown.push(r.shown);
          else notShown++;
        }
      }),
    );
    const elapsed = (now() - t0) / 1000;
    // Paced: each conversation (starting at a random point of the first period) sends one
    // message every THINK_MS, customer and agent in turn, the same count again.
    let paced: ChatLoadFigures['paced'] = null;
    if (THINK_MS > 0) {
      const p = { thinkMs: THINK_MS, sent: 0, shown: [] as number[], seconds: 0 };
      const t1 = now();
      await Promise.all(
        conversations.map(async (c) => {
          const start = t1 + Math.random() * THINK_MS;
          for (let j = 0; j < messages; j++) {
            await sleep(Math.max(0, start + j * THINK_MS - now()));
            p.sent++;
            const r = await traffic.message(c, (messages + j) % 2 === 0 ? 'customer' : 'agent');
            if (r) p.shown.push(r.shown);
            else notShown++;
          }
        }),
      );
      p.seconds = (now() - t1) / 1000;
      paced = p;
    }
    const check = await traffic.checkTranscripts(url, conversations);
    for (const c of conversations) c.device.ws.terminate();
    for (const a of agents) a.sock.ws.terminate();
    const echo = await wsEchoLoad(conversations.length, messages, CHAT_FRAME_SIZED);
    return {
      echo,
      paced,
      engine,
      conversations: conversations.length,
      agents: agents.length,
      messagesEach: messages,
      sent: sent + (paced?.sent ?? 0),
      shown,
      seconds: elapsed,
      lost: Math.max(check.lost, notShown),
      duplicated: check.duplicated + traffic.duplicates,
      refused: traffic.refused,
      errors: traffic.errors,
      setupSeconds: seconds,
    };
  });
}

// ---- printing --------------------------------------------------------------------

const ms = (xs: number[], p: number, d = 2) => fmt(pct(xs, p), d);

export function printChatLatency(f: ChatLatencyFigures): void {
  const all = [...f.toAgent, ...f.toDevice];
  console.log(
    `\n(a) chat message send -> shown on the other side, ${engineName(f.engine)}: ${fmt(f.n)} messages (VD_BENCH_CHAT_N), ` +
      `one at a time over ${f.conversations} conversations, after ${WARMUP} warm-up; set-up ${fmt(f.setupSeconds, 1)} s`,
  );
  const line = (what: string, xs: number[]) =>
    console.log(
      `  ${what.padEnd(38)} p50 ${ms(xs, 50)} ms, p99 ${ms(xs, 99)} ms` +
        (what.startsWith('raw')
          ? ''
          : `  (${fmt(pct(xs, 50) / pct(f.echo, 50), 1)}x / ${fmt(pct(xs, 99) / pct(f.echo, 99), 1)}x echo)`),
    );
  line('device -> agent socket (chat.message):', f.toAgent);
  line('agent -> device socket (chat.message):', f.toDevice);
  line('either way:', all);
  line('send -> chat.ack on the sender:', f.acked);
  line('raw WebSocket echo (baseline):', f.echo);
  console.log(
    `  checked: lost ${f.lost}, duplicated ${f.duplicated}, refused ${f.refused}` +
      (f.errors.length ? `; errors: ${f.errors.slice(0, 3).join(' ')}` : ''),
  );
}

export function printChatLoad(f: ChatLoadFigures): void {
  console.log(
    `\n(b) ${fmt(f.conversations)} concurrent chat conversations on one node (VD_BENCH_CHAT_CONVERSATIONS), ${engineName(f.engine)}: ` +
      `${f.agents} agents x ${CAPACITY} chats, ${f.messagesEach} messages each (VD_BENCH_CHAT_MESSAGES); set-up ${fmt(f.setupSeconds, 1)} s`,
  );
  console.log(
    `  as fast as it goes: ${fmt(f.shown.length)} messages shown in ${fmt(f.seconds, 1)} s: ${fmt(f.shown.length / f.seconds)} messages/s`,
  );
  console.log(
    `  send -> shown on the other side:       p50 ${ms(f.shown, 50, 1)} ms, p99 ${ms(f.shown, 99, 1)} ms, max ${fmt(Math.max(...f.shown), 1)} ms`,
  );
  const e = f.echo;
  console.log(
    `  raw WebSocket echo, ${fmt(f.conversations)} sockets x ${f.messagesEach} round trips (baseline): ` +
      `${fmt(e.times.length / e.seconds)} round trips/s, p50 ${ms(e.times, 50, 1)} ms, p99 ${ms(e.times, 99, 1)} ms`,
  );
  console.log(
    `  ratio chat / echo: throughput ${fmt(f.shown.length / f.seconds / (e.times.length / e.seconds), 3)}x, ` +
      `p50 ${fmt(pct(f.shown, 50) / pct(e.times, 50), 1)}x, p99 ${fmt(pct(f.shown, 99) / pct(e.times, 99), 1)}x`,
  );
  if (f.paced) {
    const p = f.paced;
    console.log(
      `  paced, a message every ${fmt(p.thinkMs / 1000, 1)} s per conversation (VD_BENCH_CHAT_THINK_MS): ${fmt(p.shown.length)} messages in ` +
        `${fmt(p.seconds, 1)} s, ${fmt(p.shown.length / p.seconds)} messages/s; send -> shown p50 ${ms(p.shown, 50, 1)} ms, ` +
        `p99 ${ms(p.shown, 99, 1)} ms, max ${fmt(Math.max(...p.shown), 1)} ms`,
    );
  }
  console.log(
    `  checked (sockets and transcripts, both phases): sent ${fmt(f.sent)}, lost ${f.lost}, duplicated ${f.duplicated}, refused ${f.refused}` +
      (f.errors.length ? `; errors: ${f.errors.slice(0, 3).join(' ')}` : ''),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv[2] ?? 'both';
  const engine = (process.argv[3] ?? 'sqlite') as Engine;
  (async () => {
    if (which !== 'load') printChatLatency(await benchChatLatency(engine));
    if (which !== 'latency') printChatLoad(await benchChatLoad(engine));
  })().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
