/**
 * The SIP trunk side of Kamailio (issue 14 items 1 and 6): plain SIP over UDP and TCP on
 * TRUNK_PORT, only from TRUNK_ALLOW's addresses. SIPp on loopback plays the carrier:
 * from an allowed address its call is taken in (answered 480 until phone-in requests
 * are connected to the authority), from another address it is refused with 403 by
 * Kamailio. Malformed SIP gets the sanity module's 400, numbers that do not look like
 * phone numbers 404/400, and a BYE or CANCEL for no call 481.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { freeTcpAndUdpPort } from '../support/ports.ts';

const run = promisify(execFile);
const CARRIER = '127.0.0.1';
const STRANGER = '127.0.0.2';

/** A SIP request as a carrier would send it (CRLF line ends). */
function request(
  method: string,
  port: number,
  o: {
    to?: string;
    from?: string;
    transport?: 'UDP' | 'TCP';
    local?: string;
    extra?: string[];
    body?: string;
  } = {},
): string {
  const local = o.local ?? CARRIER;
  const to = o.to ?? '+441134960000';
  const from = o.from ?? '+447700900123';
  const body = o.body ?? '';
  return [
    `${method} sip:${to}@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/${o.transport ?? 'UDP'} ${local}:5999;branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
    `From: <sip:${from}@${local}>;tag=${randomBytes(4).toString('hex')}`,
    `To: <sip:${to}@127.0.0.1>`,
    `Call-ID: ${randomBytes(8).toString('hex')}@${local}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:${from}@${local}:5999>`,
    'Max-Forwards: 70',
    ...(o.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** Send one datagram from `local` and wait for the first final (or any) reply's status line. */
async function udp(port: number, text: string, local = CARRIER, timeoutMs = 3000): Promise<string | null> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, local, resolve));
  try {
    return await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      s.on('message', (m) => {
        const line = m.toString('utf8').split('\r\n')[0]!;
        if (/^SIP\/2\.0 1\d\d/.test(line)) return;
        clearTimeout(timer);
        resolve(line);
      });
      s.send(text, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

/** The same over a TCP connection from `local`. */
async function tcp(port: number, text: string, local = CARRIER): Promise<string | null> {
  return await new Promise<string | null>((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port, localAddress: local });
    let got = '';
    const timer = setTimeout(() => {
      c.destroy();
      resolve(null);
    }, 3000);
    c.on('error', reject);
    c.on('connect', () => c.write(text));
    c.on('data', (d) => {
      got += d.toString('utf8');
      for (const line of got.split('\r\n').filter((l) => l.startsWith('SIP/2.0 '))) {
        if (/^SIP\/2\.0 1\d\d/.test(line)) continue;
        clearTimeout(timer);
        c.destroy();
        resolve(line);
        return;
      }
    });
  });
}

/** A SIPp scenario: INVITE with SDP from the caller number, expect `status`, ACK it. */
const scenario = (status: number) => `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier call expecting ${status}">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+447700900123@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:+447700900123@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="${status}"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+447700900123@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
</scenario>
`;

describe('SIP trunk into Kamailio: allowed addresses only, the right SIP errors', () => {
  let k: RunningKamailio;
  let trunkPort = 0;
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-trunk-'));
    trunkPort = await freeTcpAndUdpPort();
    k = await startKamailio({
      secret: randomBytes(24).toString('base64url'),
      defines: [`TRUNK_PORT=${trunkPort}`, `TRUNK_ALLOW=192.0.2.0/24,${CARRIER}/32`],
    });
  });
  after(async () => {
    await k?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const sipp = async (status: number, local: string, transport: 'u1' | 't1') => {
    const file = join(dir, `expect-${status}.xml`);
    writeFileSync(file, scenario(status));
    const started = performance.now();
    const r = await run(
      'sipp',
      [
        `127.0.0.1:${trunkPort}`,
        '-sf',
        file,
        '-s',
        '+441134960000',
        '-i',
        local,
        '-p',
        String(await freeTcpAndUdpPort(local)),
        '-t',
        transport,
        '-m',
        '1',
        '-timeout',
        '15s',
        '-timeout_error',
        '-nostdin',
      ],
      { timeout: 30_000 },
    ).then(
      () => 0,
      (e: { code?: number; stdout?: string; stderr?: string }) => {
        console.log(e.stdout, e.stderr);
        return e.code ?? -1;
      },
    );
    return { exit: r, ms: performance.now() - started };
  };

  it('SIPp from an allowed address: the call is taken in (480 until phone-in is connected), over UDP and TCP', async () => {
    const viaUdp = await sipp(480, CARRIER, 'u1');
    assert.equal(viaUdp.exit, 0, 'SIPp saw the 480 it expected over UDP');
    const viaTcp = await sipp(480, CARRIER, 't1');
    assert.equal(viaTcp.exit, 0, 'SIPp saw the 480 it expected over TCP');
    assert.match(k.log(), /trunk: call from \+447700900123 to \+441134960000/);
    console.log(
      `# carrier INVITE -> Kamailio's final answer (SIPp, loopback): UDP ${viaUdp.ms.toFixed(0)} ms, TCP ${viaTcp.ms.toFixed(0)} ms (process start included)`,
    );
  });

  it('SIPp from an address not allowed: 403 from Kamailio, over UDP and TCP; raw requests too', async () => {
    assert.equal((await sipp(403, STRANGER, 'u1')).exit, 0, 'SIPp saw 403 over UDP');
    assert.equal((await sipp(403, STRANGER, 't1')).exit, 0, 'SIPp saw 403 over TCP');
    for (const method of ['INVITE', 'OPTIONS', 'REGISTER', 'MESSAGE'])
      assert.match(
        (await udp(trunkPort, request(method, trunkPort, { local: STRANGER }), STRANGER)) ?? 'no reply',
        /^SIP\/2\.0 403 Forbidden \(address not allowed\)/,
        method,
      );
    assert.match(k.log(), /trunk: INVITE from 127\.0\.0\.2:\d+ refused \(address not allowed\)/);
  });

  it('allowed address: keepalive, number formats, stray BYE/CANCEL, other methods and malformed SIP get the right SIP error', async () => {
    const send = (text: string) => udp(trunkPort, text);
    assert.match(
      (await send(request('OPTIONS', trunkPort, { to: '' }).replace('sip:@', 'sip:'))) ?? '',
      /^SIP\/2\.0 200/,
    );
    assert.match(
      (await send(request('INVITE', trunkPort, { to: 'alice' }))) ?? '',
      /^SIP\/2\.0 404 Not Found \(dialled number\)/,
    );
    assert.match(
      (await send(request('INVITE', trunkPort, { from: 'x;drop table' }))) ?? '',
      /^SIP\/2\.0 400/,
    );
    assert.match((await send(request('INVITE', trunkPort, { from: 'anonymous' }))) ?? '', /^SIP\/2\.0 480/);
    assert.match((await send(request('BYE', trunkPort))) ?? '', /^SIP\/2\.0 481/);
    assert.match((await send(request('REGISTER', trunkPort))) ?? '', /^SIP\/2\.0 405/);
    // Malformed: a CSeq number that is not a number (400); no Call-ID (unparseable: dropped).
    assert.match(
      (await send(request('INVITE', trunkPort).replace('CSeq: 1 INVITE', 'CSeq: x INVITE'))) ?? 'no reply',
      /^SIP\/2\.0 400/,
    );
    assert.equal(
      await udp(trunkPort, request('INVITE', trunkPort).replace(/Call-ID: [^\r]+\r\n/, ''), CARRIER, 1500),
      null,
      'a request without Call-ID gets no answer (unparseable)',
    );
    // TCP too.
    assert.match(
      (await tcp(trunkPort, request('INVITE', trunkPort, { transport: 'TCP' }))) ?? 'no reply',
      /^SIP\/2\.0 480/,
    );
    assert.match(
      (await tcp(trunkPort, request('INVITE', trunkPort, { transport: 'TCP', local: STRANGER }), STRANGER)) ??
        'no reply',
      /^SIP\/2\.0 403/,
    );
  });
});
