/**
 * Agent time spent verifying a caller from the phone network (issue 14): by the knowledge
 * questions (the agent reads them out and types what the caller says, at a scripted pace)
 * against by the texted link (the caller verifies in the app). Figures are printed, never
 * asserted.
 *
 * Real parts: the authority in its own process (bench/authority-process.ts, demo data, the
 * text-message file sink); in this process the SIP server's report of each call (POST
 * /v1/sip/trunk/calls, as Kamailio sends it), agent1 over the API as the console drives it,
 * and Alice Martin's enrolled device (device key + PIN). The same customer both ways: two
 * numbers of the contact center route to the same option, one with
 * `linkWhileQueued: false` (the questions), one with the default (the link).
 *
 * Each sample of the questions: Alice calls, agent1 accepts, t0 when the questions are
 * fetched (the console shows them); for each question the agent needs, a scripted pause to
 * read it out and hear the answer (VD_BENCH_ANSWER_MS, default 1500) and the answer typed at
 * VD_BENCH_TYPING_MS_PER_CHAR (default 200, about 60 words a minute); the check is posted
 * with agentMs = now - t0, as the console measures it; its answer ends the agent's time.
 *
 * Each sample of the link: Alice calls with agent1 available, the authority texts the link
 * as the call queues (read from the sink); the device verifies (PIN, level 2) and uses it;
 * then agent1 accepts and the panel is already verified: no agent time. Also measured: the
 * same link sent by the agent during the call ("Text a verification link"): the agent's part
 * is that one POST.
 *
 * The report (GET /v1/supervisor/reports for agent1) sums the agent seconds spent verifying:
 * knowledgeSeconds (the questions, audited with each check) and deviceVerifySeconds (verify
 * commands to the device: none here; the link takes no agent time). Printed beside the
 * measured figures, with their ratio.
 *
 * Size: VD_BENCH_VERIFY_N (default 10) samples of each path.
 *
 *   npx tsx bench/verify-agent-time.ts      (or `npm run bench -- verify-agent-time`)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, bearer, staffLogin } from '../test/support/http.ts';
import { registerPhone } from '../test/support/phone-in.ts';
import { startBenchAuthority } from './authority-process.ts';
import { fmt, nowMs, printTable, verifiedDevice } from './console-support.ts';

const ALICE = 'c_alice_martin_01';
const ALICE_NUMBER = '+447911123456';
/** Routes to the questions (no link while queued) and to the link (the default). */
const QUESTIONS_NUMBER = '+442079460001';
const LINK_NUMBER = '+442079460000';
const PIN = '246810';
/** What Alice says when asked (the demo's questions and answers). */
const SAYS: Record<string, string> = {
  'Name of your first school?': 'Riverside Primary',
  'City where you opened the account?': 'Leeds',
};

export interface VerifyAgentTimeFigures {
  n: number;
  answerMs: number;
  typingMsPerChar: number;
  /** The questions: agent ms per verification (t0 questions shown -> the check answered). */
  questions: number[];
  /** Of which the authority's check (the POST's round trip). */
  check: number[];
  questionsLevel: number;
  /** The link texted while queued: agent ms per verification (0: verified before the agent accepts). */
  queuedLink: number[];
  /** The caller's side: the call reported -> the request verified by the link (no agent). */
  callerLink: number[];
  queuedLevel: number;
  /** The link sent by the agent during the call: the agent's one POST. */
  agentLink: number[];
  report: { knowledgeChecks: number; knowledgeSeconds: number; deviceVerifySeconds: number };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export async function benchVerifyAgentTime(opts: { n?: number } = {}): Promise<VerifyAgentTimeFigures> {
  const n = opts.n ?? Number(process.env.VD_BENCH_VERIFY_N ?? 10);
  const answerMs = Number(process.env.VD_BENCH_ANSWER_MS ?? 1500);
  const typingMsPerChar = Number(process.env.VD_BENCH_TYPING_MS_PER_CHAR ?? 200);
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-verify-'));
  const sink = join(dir, 'texts.jsonl');
  const sipSecret = randomBytes(30).toString('base64url');
  const sip = bearer(sipSecret);
  const authority = await startBenchAuthority(join(dir, 'authority'), {
    VD_PIN_PEPPER: 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz',
    VD_ACCESS_TOKEN_SECONDS: '3600',
    VD_AGENT_TIMEOUT_SECONDS: '3600',
    VD_AUTHENTICATION_TTL_SECONDS: '86400',
    VD_OFFER_TIMEOUT_SECONDS: '120',
    VD_WRAP_UP_SECONDS: '0',
    VD_KNOWLEDGE_MAX_FAILURES: '5',
    VD_SIP_SERVER_SECRET: sipSecret,
    VD_TEXT_SINK_FILE: sink,
    VD_CUSTOMER_APP_URL: 'http://127.0.0.1:9/app/',
  });
  const url = authority.url;
  const texts = () => (existsSync(sink) ? readFileSync(sink, 'utf8').trim().split('\n').filter(Boolean) : []);
  try {
    const admin = (await staffLogin(url, 'admin', 'demo-admin-1')).token;
    const cfg = await api(url, 'getPipelineConfig', { headers: bearer(admin) });
    const put = await api(url, 'putPipelineConfig', {
      headers: bearer(admin),
      json: {
        ...cfg.body,
        phoneNumbers: [
          { number: QUESTIONS_NUMBER, optionId: 'other', linkWhileQueued: false },
          { number: LINK_NUMBER, optionId: 'other' },
        ],
      },
    });
    if (put.status !== 200)
      throw new Error(`pipeline configuration: ${put.status} ${JSON.stringify(put.body)}`);
    await registerPhone(url, admin, ALICE, ALICE_NUMBER);
    const device = await verifiedDevice(url, ALICE, PIN);
    const agent = await staffLogin(url, 'agent1', 'demo-agent-1');
    const as = bearer(agent.token);
    const presence = await api(url, 'setPresence', { headers: as, json: { state: 'available' } });
    if (presence.status !== 200) throw new Error(`presence: ${presence.status}`);

    let calls = 0;
    const arrive = async (dialled: string) => {
      const r = await api(url, 'trunkCallArrived', {
        headers: sip,
        json: { callId: `bench-verify-${++calls}-${Date.now()}@192.0.2.10`, caller: ALICE_NUMBER, dialled },
      });
      if (r.status !== 201) throw new Error(`call not queued: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.requestId as string;
    };
    const offered = async (requestId: string) => {
      for (let i = 0; i < 2000; i++) {
        const me = await api(url, 'agentMe', { headers: as });
        if (me.body.offer?.requestId === requestId) return me.body.offer.fence as number;
        await sleep(5);
      }
      throw new Error(`no offer of ${requestId}`);
    };
    const accept = async (requestId: string) => {
      const ok = await api(url, 'acceptOffer', {
        headers: as,
        params: { requestId },
        json: { fence: await offered(requestId) },
      });
      if (ok.status !== 200) throw new Error(`accept: ${ok.status} ${JSON.stringify(ok.body)}`);
      return ok.body.fence as number;
    };
    const level = async (requestId: string) =>
      (await api(url, 'customerPanel', { headers: as, params: { requestId } })).body.verification
        .level as number;
    const complete = async (requestId: string, fence: number) => {
      const r = await api(url, 'completeRequest', { headers: as, params: { requestId }, json: { fence } });
      if (r.status !== 200) throw new Error(`complete: ${r.status} ${JSON.stringify(r.body)}`);
    };
    const useLink = async (text: string) => {
      const token = /\/v\/([A-Za-z0-9_-]+)/.exec(text)?.[1];
      if (!token) throw new Error(`no link in the text: ${text}`);
      // The caller opens the app and confirms it is them (device key + PIN, level 2).
      if ((await device.authenticate()).status !== 201) throw new Error('device authentication failed');
      const step = await device.call('POST', '/v1/device/authentication/pin', { json: { pin: PIN } });
      if (step.body?.level !== 2) throw new Error(`PIN step-up: ${step.status} ${JSON.stringify(step.body)}`);
      const used = await device.call('POST', `/v1/device/verification-links/${token}`);
      if (used.status !== 200) throw new Error(`link refused: ${used.status} ${JSON.stringify(used.body)}`);
    };
    const nextText = async (had: number) => {
      for (let i = 0; i < 2000 && texts().length <= had; i++) await sleep(5);
      const t = texts();
      if (t.length <= had) throw new Error('no text message came');
      return t.at(-1)!;
    };

    const f: VerifyAgentTimeFigures = {
      n,
      answerMs,
      typingMsPerChar,
      questions: [],
      check: [],
      questionsLevel: 0,
      queuedLink: [],
      callerLink: [],
      queuedLevel: 0,
      agentLink: [],
      report: { knowledgeChecks: 0, knowledgeSeconds: 0, deviceVerifySeconds: 0 },
    };

    for (let i = 0; i < n; i++) {
      // (1) The questions: the agent asks, the caller answers, the agent types.
      const q = await arrive(QUESTIONS_NUMBER);
      const fence = await accept(q);
      const t0 = nowMs();
      const shown = await api(url, 'requestKnowledgeQuestions', { headers: as, params: { requestId: q } });
      if (shown.status !== 200) throw new Error(`questions: ${shown.status} ${JSON.stringify(shown.body)}`);
      const asked = (shown.body.questions as { questionId: string; prompt: string }[]).slice(
        0,
        shown.body.answersNeeded as number,
      );
      const answers = [];
      for (const x of asked) {
        const said = SAYS[x.prompt];
        if (said === undefined) throw new Error(`the bench does not know the answer to "${x.prompt}"`);
        await sleep(answerMs + said.length * typingMsPerChar);
        answers.push({ questionId: x.questionId, answer: said });
      }
      const sent = nowMs();
      const checked = await api(url, 'requestKnowledgeCheck', {
        headers: as,
        params: { requestId: q },
        json: { fence, answers, agentMs: Math.round(sent - t0) },
      });
      const done = nowMs();
      if (checked.status !== 200 || !checked.body.passed)
        throw new Error(`knowledge check: ${checked.status} ${JSON.stringify(checked.body)}`);
      f.questions.push(done - t0);
      f.check.push(done - sent);
      f.questionsLevel = await level(q);
      await complete(q, fence);

      // (2) The link texted while the call queues: the caller verifies before the agent accepts.
      const had = texts().length;
      const c0 = nowMs();
      const l = await arrive(LINK_NUMBER);
      await useLink(await nextText(had));
      f.callerLink.push(nowMs() - c0);
      const lf = await accept(l);
      const at = await level(l);
      if (at < 2) throw new Error(`the request was at level ${at} when the agent accepted`);
      f.queuedLevel = at;
      f.queuedLink.push(0); // verified before the agent took the call: nothing for the agent to do
      await complete(l, lf);

      // (3) The same link sent by the agent during the call: the agent's part is one POST.
      const had2 = texts().length;
      const s = await arrive(QUESTIONS_NUMBER);
      const sf = await accept(s);
      const b0 = nowMs();
      const sentLink = await api(url, 'sendVerificationLink', {
        headers: as,
        params: { requestId: s },
        json: { fence: sf },
      });
      f.agentLink.push(nowMs() - b0);
      if (sentLink.status !== 200)
        throw new Error(`send link: ${sentLink.status} ${JSON.stringify(sentLink.body)}`);
      await useLink(await nextText(had2));
      await complete(s, sf);
    }

    // The report's figures for agent1 (today, in any time zone: yesterday to tomorrow).
    const supervisor = (await staffLogin(url, 'supervisor', 'demo-supervisor')).token;
    const day = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
    const report = await api(url, 'report', {
      headers: bearer(supervisor),
      query: { from: day(-1), to: day(1) },
    });
    if (report.status !== 200) throw new Error(`report: ${report.status} ${JSON.stringify(report.body)}`);
    const row = (report.body.agents as { agentId: string; [k: string]: unknown }[]).find(
      (a) => a.agentId === agent.staffId,
    );
    if (!row) throw new Error('agent1 is not in the report');
    f.report = {
      knowledgeChecks: row.knowledgeChecks as number,
      knowledgeSeconds: row.knowledgeSeconds as number,
      deviceVerifySeconds: row.deviceVerifySeconds as number,
    };
    return f;
  } finally {
    await authority.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printVerifyAgentTime(f: VerifyAgentTimeFigures): void {
  const s = (ms: number) => `${fmt(ms / 1000, 2)} s`;
  console.log(
    `\n  agent time spent verifying a phone caller, ${f.n} calls each way (questions: ${f.answerMs} ms to ask and hear each answer, typing ${f.typingMsPerChar} ms a character)`,
  );
  printTable(
    ['path', 'p50', 'p95', 'total', 'level reached'],
    [
      [
        'knowledge questions: questions shown -> check answered',
        s(pct(f.questions, 50)),
        s(pct(f.questions, 95)),
        s(sum(f.questions)),
        String(f.questionsLevel),
      ],
      [
        "  of which the authority's check (POST round trip)",
        `${fmt(pct(f.check, 50), 1)} ms`,
        `${fmt(pct(f.check, 95), 1)} ms`,
        `${fmt(sum(f.check), 1)} ms`,
        '',
      ],
      [
        'link texted while queued: agent time',
        s(pct(f.queuedLink, 50)),
        s(pct(f.queuedLink, 95)),
        s(sum(f.queuedLink)),
        String(f.queuedLevel),
      ],
      [
        "  the caller's side: call reported -> verified by the link",
        `${fmt(pct(f.callerLink, 50), 1)} ms`,
        `${fmt(pct(f.callerLink, 95), 1)} ms`,
        '',
        '',
      ],
      [
        'link sent by the agent: the POST',
        `${fmt(pct(f.agentLink, 50), 1)} ms`,
        `${fmt(pct(f.agentLink, 95), 1)} ms`,
        `${fmt(sum(f.agentLink), 1)} ms`,
        '2',
      ],
    ],
  );
  const r = f.report;
  console.log(
    `  report (agent1): knowledge questions ${fmt(r.knowledgeSeconds, 1)} s over ${r.knowledgeChecks} checks` +
      ` (${fmt(r.knowledgeChecks ? r.knowledgeSeconds / r.knowledgeChecks : 0, 2)} s each);` +
      ` device path ${fmt(r.deviceVerifySeconds, 1)} s (the link takes no agent time)`,
  );
  console.log(`  ${verifyRatioLine(f)}`);
}

/** The two report figures and their ratio, as the summary prints them. */
export function verifyRatioLine(f: VerifyAgentTimeFigures): string {
  const r = f.report;
  const agentLinkS = sum(f.agentLink) / 1000;
  const ratio = r.deviceVerifySeconds > 0 ? `${fmt(r.knowledgeSeconds / r.deviceVerifySeconds, 1)}x` : '∞';
  return (
    `agent seconds verifying (report): questions ${fmt(r.knowledgeSeconds, 1)} s, device path (the link) ` +
    `${fmt(r.deviceVerifySeconds, 1)} s, ratio ${ratio}; ${fmt(r.knowledgeSeconds / agentLinkS, 0)}x the agent ` +
    `sending the link instead (one POST each, ${fmt(agentLinkS * 1000, 1)} ms in all)`
  );
}

if (import.meta.url === `file://${process.argv[1]}`) printVerifyAgentTime(await benchVerifyAgentTime());
