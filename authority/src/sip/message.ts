import { Parser } from 'sip.js/lib/core/messages/parser.js';
import type { IncomingRequestMessage } from 'sip.js/lib/core/messages/incoming-request-message.js';
import type { IncomingResponseMessage } from 'sip.js/lib/core/messages/incoming-response-message.js';

const quiet = { error() {}, warn() {}, log() {}, debug() {} };

export type SipRequest = IncomingRequestMessage;
export type SipResponse = IncomingResponseMessage;

/** Parse with SIP.js's grammar-based parser (a well-tested one); undefined when it is not SIP. */
export function parseSip(text: string): SipRequest | SipResponse | undefined {
  try {
    return Parser.parseMessage(text, quiet as never) as SipRequest | SipResponse | undefined;
  } catch {
    return undefined;
  }
}

export const isRequest = (m: SipRequest | SipResponse): m is SipRequest => (m as SipRequest).method !== undefined && (m as SipResponse).statusCode === undefined;

/** Header lines of a parsed message, in parse order per header name (Via and Route order kept). */
export function headerLines(m: SipRequest | SipResponse, skip: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  for (const [name, values] of Object.entries(m.headers)) {
    if (skip.has(name.toLowerCase()) || name.toLowerCase() === 'content-length') continue;
    for (const v of values) out.push(`${name}: ${v.raw}`);
  }
  return out;
}

export function serialize(startLine: string, lines: string[], body: string): string {
  return `${startLine}\r\n${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Split a header value list on top-level commas (not inside <> or quotes). */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && c === '<') depth++;
    else if (!quoted && c === '>') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter(Boolean);
}

/** A response to a request, built from its headers (RFC 3261 section 8.2.6). */
export function responseTo(req: SipRequest, status: number, reason: string, extra: string[] = [], toTag?: string): string {
  const lines: string[] = [];
  for (const v of req.headers['Via'] ?? []) lines.push(`Via: ${v.raw}`);
  for (const name of ['From', 'Call-ID', 'CSeq']) for (const v of req.headers[name] ?? []) lines.push(`${name}: ${v.raw}`);
  for (const v of req.headers['To'] ?? []) lines.push(`To: ${v.raw}${toTag && !/;\s*tag=/i.test(v.raw) ? `;tag=${toTag}` : ''}`);
  lines.push(...extra, 'Server: verified-desk-edge');
  return serialize(`SIP/2.0 ${status} ${reason}`, lines, '');
}

/**
 * A 400 for text the parser refused, when its request line and the headers a
 * response needs can still be read; otherwise null (nothing can be answered).
 */
export function badRequestFor(text: string): string | null {
  const [head] = text.split(/\r?\n\r?\n/, 1);
  const lines = (head ?? '').split(/\r?\n/);
  if (!/^[A-Za-z]+ \S+ SIP\/2\.0$/.test(lines[0] ?? '')) return null;
  const pick = (re: RegExp) => lines.filter((l) => re.test(l)).map((l) => l.replace(/^[^:]+:\s*/, ''));
  const via = pick(/^(via|v)\s*:/i);
  const from = pick(/^(from|f)\s*:/i)[0];
  const to = pick(/^(to|t)\s*:/i)[0];
  const callId = pick(/^(call-id|i)\s*:/i)[0];
  const cseq = pick(/^cseq\s*:/i)[0];
  if (!via.length || !from || !to || !callId || !cseq) return null;
  return serialize(
    'SIP/2.0 400 Bad Request',
    [...via.map((v) => `Via: ${v}`), `From: ${from}`, `To: ${to}`, `Call-ID: ${callId}`, `CSeq: ${cseq}`, 'Server: verified-desk-edge'],
    '',
  );
}
