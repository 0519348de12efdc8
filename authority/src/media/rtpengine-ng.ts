import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

/**
 * A client of rtpengine's ng control protocol: a bencoded dictionary in a UDP datagram,
 * prefixed by a cookie that the answer repeats. Hand-written (bencode is four types)
 * because no bencode package is installed and this workspace installs none.
 */

export type Bencodable = string | number | Buffer | Bencodable[] | { [k: string]: Bencodable | undefined };

export function bencode(v: Bencodable): Buffer {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError('bencode: integers only');
    return Buffer.from(`i${v}e`);
  }
  if (typeof v === 'string') v = Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from(`${v.length}:`), v]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(bencode), Buffer.from('e')]);
  const keys = Object.keys(v)
    .filter((k) => v[k] !== undefined)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Buffer.concat([
    Buffer.from('d'),
    ...keys.flatMap((k) => [bencode(k), bencode(v[k]!)]),
    Buffer.from('e'),
  ]);
}

export type Decoded = string | number | Decoded[] | { [k: string]: Decoded };

/** Decodes one bencoded value (byte strings as UTF-8 text); throws on malformed input. */
export function bdecode(buf: Buffer): Decoded {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`bencode: ${why} at ${i}`);
  };
  const value = (): Decoded => {
    const c = buf[i];
    if (c === undefined) return fail('truncated');
    if (c === 0x69 /* i */) {
      const end = buf.indexOf(0x65, i);
      if (end < 0) return fail('unterminated integer');
      const text = buf.toString('latin1', i + 1, end);
      if (!/^-?\d+$/.test(text)) return fail('bad integer');
      i = end + 1;
      return Number(text);
    }
    if (c === 0x6c /* l */) {
      i++;
      const out: Decoded[] = [];
      while (buf[i] !== 0x65) out.push(value());
      i++;
      return out;
    }
    if (c === 0x64 /* d */) {
      i++;
      const out: { [k: string]: Decoded } = {};
      while (buf[i] !== 0x65) {
        const k = value();
        if (typeof k !== 'string') return fail('dictionary key is not a string');
        out[k] = value();
      }
      i++;
      return out;
    }
    const colon = buf.indexOf(0x3a, i);
    if (colon < 0) return fail('bad string length');
    const len = Number(buf.toString('latin1', i, colon));
    if (!Number.isInteger(len) || len < 0 || colon + 1 + len > buf.length) return fail('bad string');
    const s = buf.toString('utf8', colon + 1, colon + 1 + len);
    i = colon + 1 + len;
    return s;
  };
  const v = value();
  if (i !== buf.length) fail('trailing bytes');
  return v;
}

export class NgError extends Error {}

/** "udp:HOST:PORT" (Kamailio's rtpengine_sock form) or "HOST:PORT". */
export function parseNgAddress(addr: string): { host: string; port: number } {
  const m = /^(?:udp:)?(.+):(\d+)$/.exec(addr.trim());
  if (!m) throw new Error(`not an ng address (udp:HOST:PORT): ${addr}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export class NgClient {
  private socket: Socket | null = null;
  private readonly waiting = new Map<string, (v: { [k: string]: Decoded } | Error) => void>();

  constructor(
    private readonly address: string,
    private readonly timeoutMs = 2000,
  ) {}

  private open(): Socket {
    if (this.socket) return this.socket;
    const { host } = parseNgAddress(this.address);
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.on('message', (msg) => {
      const space = msg.indexOf(0x20);
      if (space < 0) return;
      const cookie = msg.toString('latin1', 0, space);
      const done = this.waiting.get(cookie);
      if (!done) return;
      this.waiting.delete(cookie);
      try {
        const v = bdecode(msg.subarray(space + 1));
        done(typeof v === 'object' && !Array.isArray(v) ? v : new NgError('ng answer is not a dictionary'));
      } catch (e) {
        done(e as Error);
      }
    });
    s.on('error', () => undefined);
    s.unref();
    this.socket = s;
    return s;
  }

  /** Sends one command and resolves its answer; rejects with NgError on result "error" or no answer. */
  async command(
    command: string,
    args: { [k: string]: Bencodable | undefined } = {},
  ): Promise<{ [k: string]: Decoded }> {
    const { host, port } = parseNgAddress(this.address);
    const s = this.open();
    const cookie = randomBytes(8).toString('hex');
    const msg = Buffer.concat([Buffer.from(`${cookie} `), bencode({ ...args, command })]);
    const answer = await new Promise<{ [k: string]: Decoded } | Error>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(cookie);
        resolve(new NgError(`rtpengine at ${this.address} did not answer "${command}"`));
      }, this.timeoutMs);
      this.waiting.set(cookie, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
      s.send(msg, port, host, (err) => {
        if (err) {
          clearTimeout(timer);
          this.waiting.delete(cookie);
          resolve(new NgError(`ng send failed: ${err.message}`));
        }
      });
    });
    if (answer instanceof Error) throw answer;
    if (answer.result === 'error')
      throw new NgError(`rtpengine refused "${command}": ${String(answer['error-reason'] ?? 'error')}`);
    return answer;
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }
}
