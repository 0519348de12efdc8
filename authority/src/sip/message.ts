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

export const isRequest = (m: SipRequest | SipResponse): m is SipRequest =>
  (m as SipRequest).method !== undefined && (m as SipResponse).statusCode === undefined;

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

/** A line that would break the framing of what it is copied into: a CR or LF that is not a CRLF + WSP fold. */
const breaksFraming = (v: string): boolean => /\r(?!\n[ \t])|(?<!\r)\n/.test(v);

/**
 * A response to a request, built from its headers (RFC 3261 section 8.2.6); null when
 * a header it must copy holds a bare CR or LF (copying it would inject header lines).
 */
export function responseTo(
  req: SipRequest,
  status: number,
  reason: string,
  extra: string[] = [],
  toTag?: string,
): string | null {
  const lines: string[] = [];
  for (const v of req.headers['Via'] ?? []) lines.push(`Via: ${v.raw}`);
  for (const name of ['From', 'Call-ID', 'CSeq'])
    for (const v of req.headers[name] ?? []) lines.push(`${name}: ${v.raw}`);
  for (const v of req.headers['To'] ?? [])
    lines.push(`To: ${v.raw}${toTag && !/;\s*tag=/i.test(v.raw) ? `;tag=${toTag}` : ''}`);
  if (lines.some(breaksFraming)) return null;
  lines.push(...extra, 'Server: verified-desk-edge');
  return serialize(`SIP/2.0 ${status} ${reason}`, lines, '');
}

/**
 * Bounds on the work one message may cost. SIP.js's grammar parser spends about 3 us
 * per octet of a header it parses and 0.2-0.5 ms per parsed header field, so a 64 KiB
 * frame of repeated To lines or one 60 KB To value took 150-250 ms; within these
 * bounds a message is handled in well under 100 ms.
 */
export const SIP_LIMITS = { startLineBytes: 2048, headerFields: 100, parsedHeaderBytes: 8192 } as const;

/** Header fields SIP.js's parser runs its grammar on (the others are only stored). */
const PARSED_HEADERS = new Set([
  'via',
  'v',
  'from',
  'f',
  'to',
  't',
  'call-id',
  'i',
  'contact',
  'm',
  'content-length',
  'l',
  'content-type',
  'c',
  'cseq',
  'max-forwards',
  'www-authenticate',
  'proxy-authenticate',
  'refer-to',
  'r',
  'record-route',
]);

/** The header section (after the start line) as unfolded fields: [lower-case name, value]. */
function headerFields(text: string): { startLine: string; fields: [string, string][]; bodyStart: number } {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const first = head.indexOf('\r\n');
  const startLine = first < 0 ? head : head.slice(0, first);
  const fields: [string, string][] = [];
  if (first >= 0)
    for (const line of head.slice(first + 2).split('\r\n')) {
      const last = fields[fields.length - 1];
      if (last && /^[ \t]/.test(line)) last[1] += ` ${line.trim()}`;
      else {
        const colon = line.indexOf(':');
        fields.push(
          colon < 0
            ? [line.trim().toLowerCase(), '']
            : [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()],
        );
      }
    }
  return { startLine, fields, bodyStart: end < 0 ? text.length : end + 4 };
}

/**
 * Whether the start line or header section holds a bare CR or LF. SIP.js splits
 * lines on CRLF only, so such a message would parse with a line break inside a
 * header value; it is treated as unparsable instead (400 where it can be answered).
 */
export function bareLineBreak(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  return /\r(?!\n)|(?<!\r)\n/.test(end < 0 ? text : text.slice(0, end));
}

/** Why a message is too large to parse within SIP_LIMITS, or null. */
export function oversize(text: string): string | null {
  const { startLine, fields } = headerFields(text);
  if (startLine.length > SIP_LIMITS.startLineBytes) return 'start line too long';
  if (fields.length > SIP_LIMITS.headerFields) return 'too many header fields';
  let parsed = 0;
  for (const [name, value] of fields) if (PARSED_HEADERS.has(name)) parsed += value.length;
  return parsed > SIP_LIMITS.parsedHeaderBytes ? 'header fields too long' : null;
}

const SINGLE = new Map([
  ['call-id', 'Call-ID'],
  ['i', 'Call-ID'],
  ['cseq', 'CSeq'],
  ['from', 'From'],
  ['f', 'From'],
  ['to', 'To'],
  ['t', 'To'],
  ['max-forwards', 'Max-Forwards'],
  ['content-length', 'Content-Length'],
  ['l', 'Content-Length'],
]);

/**
 * What RFC 3261 requires of a request beyond SIP.js's grammar (RFC 4475 sections
 * 3.1.2 and 3.3): the version, the Request-URI scheme, header fields that may appear once, the CSeq, a
 * Content-Length no larger than the body, no headers in the Request-URI, and no
 * Proxy-Require (this edge supports no extension). The answer, or null when fine.
 */
export function requestProblem(
  text: string,
  req: SipRequest,
): { status: number; reason: string; extra?: string[] } | null {
  const { startLine, fields, bodyStart } = headerFields(text);
  if (!/ SIP\/2\.0$/i.test(startLine)) return { status: 505, reason: 'Version Not Supported' };
  // The grammar takes any absoluteURI, but only gives a SIP or SIPS URI a value.
  if (!req.ruri) return { status: 416, reason: 'Unsupported URI Scheme' };
  const seen = new Map<string, number>();
  for (const [name] of fields) {
    const canonical = SINGLE.get(name);
    if (canonical) seen.set(canonical, (seen.get(canonical) ?? 0) + 1);
  }
  for (const [name, n] of seen)
    if (n > 1) return { status: 400, reason: `Bad Request (${name} more than once)` };
  const cseq = /^(\d+)\s+(\S+)$/.exec(req.getHeader('cseq') ?? '');
  if (!cseq || Number(cseq[1]) > 2 ** 31 - 1) return { status: 400, reason: 'Bad Request (CSeq)' };
  if (cseq[2] !== req.method) return { status: 400, reason: 'Bad Request (CSeq method does not match)' };
  const length = req.getHeader('content-length');
  if (length !== undefined && Number(length) > Buffer.byteLength(text.slice(bodyStart)))
    return { status: 400, reason: 'Bad Request (Content-Length larger than the body)' };
  if (req.ruri && Object.keys(req.ruri.headers ?? {}).length > 0)
    return { status: 400, reason: 'Bad Request (headers in the Request-URI)' };
  const proxyRequire = fields.filter(([name]) => name === 'proxy-require').map(([, v]) => v);
  if (proxyRequire.length)
    return { status: 420, reason: 'Bad Extension', extra: [`Unsupported: ${proxyRequire.join(', ')}`] };
  return null;
}

/**
 * An answer for text the parser refused (400), or that is too large to parse (513),
 * when its request line and the headers a response needs can still be read: 505 for
 * another SIP version, 416 for a Request-URI scheme other than sip, sips or tel.
 * Null when nothing can be answered (a response, an ACK, a missing header, or a
 * header that would break the framing of the reply). Scans without backtracking
 * regular expressions: the text may be 64 KiB of anything.
 */
export function badRequestFor(text: string, status = 400, reason = 'Bad Request'): string | null {
  const end = text.search(/\r?\n\r?\n/);
  const lines = (end < 0 ? text : text.slice(0, end)).split(/\r?\n/);
  const requestLine = (lines[0] ?? '').trimEnd();
  const firstSpace = requestLine.indexOf(' ');
  const lastSpace = requestLine.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace <= firstSpace) return null;
  const method = requestLine.slice(0, firstSpace);
  const version = requestLine.slice(lastSpace + 1);
  const uri = requestLine.slice(firstSpace + 1, lastSpace).trim();
  if (
    !/^[!%'*+\-.0-9A-Z_`a-z~]+$/.test(method) ||
    method === 'ACK' ||
    !/^SIP\/\d+\.\d+$/i.test(version) ||
    !uri
  )
    return null;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (version.toUpperCase() !== 'SIP/2.0') [status, reason] = [505, 'Version Not Supported'];
  else if (scheme && !['sip', 'sips', 'tel'].includes(scheme))
    [status, reason] = [416, 'Unsupported URI Scheme'];
  const pick = (re: RegExp) => lines.filter((l) => re.test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim());
  const via = pick(/^(via|v)\s*:/i);
  const from = pick(/^(from|f)\s*:/i)[0];
  const to = pick(/^(to|t)\s*:/i)[0];
  const callId = pick(/^(call-id|i)\s*:/i)[0];
  const cseq = pick(/^cseq\s*:/i)[0];
  if (!via.length || !from || !to || !callId || !cseq) return null;
  const copied = [
    ...via.map((v) => `Via: ${v}`),
    `From: ${from}`,
    `To: ${to}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq}`,
  ];
  if (copied.some((l) => /[\r\n]/.test(l))) return null;
  return serialize(`SIP/2.0 ${status} ${reason}`, [...copied, 'Server: verified-desk-edge'], '');
}
