/**
 * Issue 15 defect 1 with Kamailio: a call whose console (or phone) goes away mid-call must
 * not leave the other party in a ghost call. Kamailio tracks calls between WebSocket
 * clients as dialogs (module dialog): when one party's WebSocket closes, the other party
 * gets a BYE from Kamailio (after CALL_GRACE, short here); in-dialog OPTIONS keepalives (short intervals here) reach both
 * parties, and a call kept through several of them stays up on both sides.
 *
 * Two raw SIP-over-WebSocket clients (test/support/kamailio.ts) play the console and the
 * customer's phone: they register with credentials the authority would issue, one INVITEs
 * the other (digest challenge, 200 with Contact and Record-Route, ACK along the route).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ephemeralCredentials } from '../../authority/src/sip/credentials.ts';
import {
  digestAuthorization,
  parseChallenge,
  RawSipClient,
  rawRegister,
  startKamailio,
  type RunningKamailio,
} from '../support/kamailio.ts';
import { until } from '../support/wait.ts';

const SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'dialog.verified-desk.test';
/** Keepalive interval (the dialog module's minimum, 30 s) and timer (checked every second). */
const KA_INTERVAL = 30;
const KA_TIMER = 1;
/** Seconds a call waits for a party whose connection closed (a link blip) before the BYE. */
const GRACE = 2;

const tag = () => randomBytes(5).toString('hex');

interface Party {
  client: RawSipClient;
  user: string;
  creds: { username: string; password: string };
}

/** The first request line of each incoming request of `method` for `callId`. */
function requests(p: Party, method: string, callId: string): string[] {
  return p.client.incoming.filter(
    (t) => t.startsWith(`${method} `) && new RegExp(`^(Call-ID|i):\\s*${callId}\\s*$`, 'mi').test(t),
  );
}

function header(text: string, name: string): string[] {
  const [head = ''] = text.split('\r\n\r\n', 1);
  return head
    .split('\r\n')
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(l.indexOf(':') + 1).trim());
}

describe('Kamailio ends a call whose party’s WebSocket went away (dialog module)', () => {
  let k: RunningKamailio;
  const open: RawSipClient[] = [];

  before(async () => {
    k = await startKamailio({
      secret: SECRET,
      domain: DOMAIN,
      defines: [`KA_INTERVAL=${KA_INTERVAL}`, `KA_TIMER=${KA_TIMER}`, `CALL_GRACE=${GRACE}`],
    });
  });
  after(async () => {
    for (const c of open) await c.close().catch(() => undefined);
    if (process.env.DEBUG_KAMAILIO) console.log(k?.log());
    await k?.stop();
  });

  async function party(name: string): Promise<Party> {
    const client = await RawSipClient.open(k.wsUrl);
    open.push(client);
    client.answerInvites = false;
    const user = `${name}_${tag()}`;
    const creds = ephemeralCredentials(SECRET, user, 300, Date.now());
    const reg = await rawRegister(client, { ...creds, user, domain: DOMAIN });
    assert.equal(reg.reply?.status, 200, `${name} registers`);
    return { client, user, creds };
  }

  /** `caller` calls `callee`; the callee answers 200, the caller ACKs. Returns the Call-ID. */
  async function call(caller: Party, callee: Party): Promise<string> {
    return (await callDetails(caller, callee)).callId;
  }

  /** The call, with what the callee needs for its own in-dialog requests. */
  async function callDetails(caller: Party, callee: Party) {
    const callId = tag() + tag();
    const fromTag = tag();
    const ruri = `sip:${callee.user}@${DOMAIN}`;
    const invite = (cseq: number, auth?: string) =>
      caller.client.build('INVITE', ruri, {
        from: `sip:${caller.user}@${DOMAIN}`,
        to: ruri,
        callId,
        cseq,
        fromTag,
        extra: [
          `Contact: <sip:${caller.user}@${caller.client.host};transport=ws>`,
          ...(auth ? [`Proxy-Authorization: ${auth}`] : []),
        ],
      });
    const first = await caller.client.request(invite(1), callId, '1 INVITE');
    assert.equal(first?.status, 407, 'the INVITE is challenged');
    const challenge = parseChallenge(first.headers.get('proxy-authenticate')?.[0] ?? '');
    const answered = caller.client.request(
      invite(2, digestAuthorization(challenge, caller.creds, 'INVITE', ruri)),
      callId,
      '2 INVITE',
    );
    // The callee answers 200 with its Contact and the Record-Route it was given.
    const incoming = await until('the callee gets the INVITE', () => requests(callee, 'INVITE', callId)[0]);
    const keep = incoming
      .split('\r\n\r\n', 1)[0]!
      .split('\r\n')
      .filter((l) => /^(via|v|from|f|call-id|i|cseq|record-route)\s*:/i.test(l));
    const to = header(incoming, 'To')[0] ?? header(incoming, 't')[0]!;
    const calleeTag = tag();
    callee.client.send(
      [
        'SIP/2.0 200 OK',
        ...keep,
        `To: ${to};tag=${calleeTag}`,
        `Contact: <sip:${callee.user}@${callee.client.host};transport=ws>`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    const ok = await answered;
    assert.equal(ok?.status, 200, 'the caller gets 200');
    // ACK to the callee's Contact along the recorded route (reversed for the caller).
    const routes = [...(ok.headers.get('record-route') ?? [])].flatMap((v) => v.split(/,\s*(?=<)/)).reverse();
    const target = /<([^>]+)>/.exec(ok.headers.get('contact')?.[0] ?? '')?.[1];
    assert.ok(target, 'the 200 has a Contact');
    const toHeader = ok.headers.get('to')![0]!;
    caller.client.send(
      [
        `ACK ${target} SIP/2.0`,
        `Via: SIP/2.0/WS ${caller.client.host};branch=z9hG4bK${tag()}`,
        'Max-Forwards: 70',
        ...routes.map((r) => `Route: ${r}`),
        `From: <sip:${caller.user}@${DOMAIN}>;tag=${fromTag}`,
        `To: ${toHeader}`,
        `Call-ID: ${callId}`,
        'CSeq: 2 ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    await until('the callee gets the ACK', () => requests(callee, 'ACK', callId)[0]);
    return {
      callId,
      fromTag,
      calleeTag,
      callerTarget: /<([^>]+)>/.exec(header(incoming, 'Contact')[0] ?? '')![1]!,
      calleeRoutes: header(incoming, 'Record-Route').flatMap((v) => v.split(/,\s*(?=<)/)),
    };
  }

  it('the callee’s WebSocket drops mid-call: the caller gets a BYE', async () => {
    const agent = await party('agent');
    const phone = await party('phone');
    const callId = await call(agent, phone);
    phone.client.ws.terminate();
    await until('the caller gets a BYE', () => requests(agent, 'BYE', callId)[0], { timeoutMs: 15_000 });
    await until('the call is gone from Kamailio', () => !k.kamcmd('dlg.list').includes(callId), {
      timeoutMs: 15_000,
    });
  });

  it('the caller’s WebSocket drops mid-call (console reload): the callee gets a BYE', async () => {
    const agent = await party('agent');
    const phone = await party('phone');
    const callId = await call(agent, phone);
    agent.client.ws.terminate();
    await until('the callee gets a BYE', () => requests(phone, 'BYE', callId)[0], { timeoutMs: 15_000 });
  });

  it('a party back on a new connection within the grace takes its call back (a link blip)', async () => {
    const agent = await party('agent');
    const phone = await party('phone');
    const c = await callDetails(agent, phone);
    phone.client.ws.terminate();
    const dialog = () => k.kamcmd('dlg.dlg_list', c.callId, c.fromTag);
    await until('the call waits for the phone (its grace)', () =>
      new RegExp(`lifetime: ${GRACE}\\b`).test(dialog()),
    );
    // The phone reconnects and sends an in-dialog request (as its ICE restart re-INVITE would).
    const back = await RawSipClient.open(k.wsUrl);
    open.push(back);
    const info = [
      `INFO ${c.callerTarget} SIP/2.0`,
      `Via: SIP/2.0/WS ${back.host};branch=z9hG4bK${tag()}`,
      'Max-Forwards: 70',
      ...c.calleeRoutes.map((r) => `Route: ${r}`),
      `From: <sip:${phone.user}@${DOMAIN}>;tag=${c.calleeTag}`,
      `To: <sip:${agent.user}@${DOMAIN}>;tag=${c.fromTag}`,
      `Call-ID: ${c.callId}`,
      'CSeq: 1 INFO',
      `Contact: <sip:${phone.user}@${back.host};transport=ws>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const reply = await back.request(info, c.callId, '1 INFO');
    assert.equal(reply?.status, 200, 'the caller answers the reconnected phone');
    // The call has its full lifetime again (no BYE pending after the grace).
    assert.match(dialog(), /lifetime: 86400/);
    assert.deepEqual(requests(agent, 'BYE', c.callId), [], 'no BYE to the caller');
  });

  it('a call kept through a keepalive to each party stays up on both sides', async () => {
    const agent = await party('agent');
    const phone = await party('phone');
    const callId = await call(agent, phone);
    // Both parties are asked (and answer 200, as sip.js does); the call goes on past the
    // next keepalive check.
    await until(
      'a keepalive to each party',
      () => requests(agent, 'OPTIONS', callId).length >= 1 && requests(phone, 'OPTIONS', callId).length >= 1,
      { timeoutMs: (KA_INTERVAL + 15) * 1000 },
    );
    // A failed keepalive would have cut the call's lifetime to 10 s.
    assert.match(k.kamcmd('dlg.list'), /lifetime: 86400/);
    assert.deepEqual(requests(agent, 'BYE', callId), [], 'no BYE to the caller');
    assert.deepEqual(requests(phone, 'BYE', callId), [], 'no BYE to the callee');
    assert.ok(k.kamcmd('dlg.list').includes(callId), 'the call is still a dialog');
    assert.ok(!agent.client.closed && !phone.client.closed);
  });
});
