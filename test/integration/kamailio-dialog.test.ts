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
  incomingRequests,
  rawCall,
  rawInDialog,
  RawSipClient,
  rawRegister,
  startKamailio,
  type RawParty,
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

/** The incoming requests of `method` for `callId` that `p` got. */
const requests = (p: RawParty, method: string, callId: string) => incomingRequests(p.client, method, callId);

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

  async function party(name: string): Promise<RawParty> {
    const client = await RawSipClient.open(k.wsUrl);
    open.push(client);
    client.answerInvites = false;
    const user = `${name}_${tag()}`;
    const creds = ephemeralCredentials(SECRET, user, 300, Date.now());
    const reg = await rawRegister(client, { ...creds, user, domain: DOMAIN });
    assert.equal(reg.reply?.status, 200, `${name} registers`);
    return { client, user, creds, domain: DOMAIN };
  }

  /** `caller` calls `callee`; the callee answers 200, the caller ACKs. Returns the Call-ID. */
  async function call(caller: RawParty, callee: RawParty): Promise<string> {
    return (await rawCall(caller, callee)).callId;
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
    const c = await rawCall(agent, phone);
    phone.client.ws.terminate();
    const dialog = () => k.kamcmd('dlg.dlg_list', c.callId, c.fromTag);
    await until('the call waits for the phone (its grace)', () =>
      new RegExp(`lifetime: ${GRACE}\\b`).test(dialog()),
    );
    // The phone reconnects and sends an in-dialog request (as its ICE restart re-INVITE would).
    const back = await RawSipClient.open(k.wsUrl);
    open.push(back);
    const reply = await rawInDialog('INFO', c, { side: 'callee', party: phone, over: back }, agent, 1);
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
