import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One text message to a phone number (E.164). */
export interface TextMessage {
  to: string;
  text: string;
}

/** Where a text message went: the provider's id for it, when it gives one. */
export interface SentMessage {
  providerId: string | null;
}

/**
 * The text-message gateway (issue 14 item 3: the link sent to a caller during the call).
 * Implementations: `HttpTextGateway` (a provider's HTTP API, configured by URL and
 * credentials) and `FileTextSink` (one JSON line per message, for the demo and tests).
 */
export interface TextGateway {
  send(message: TextMessage): Promise<SentMessage>;
}

/** A refused or failed send: `retryable` when trying again later may work (network, 429, 5xx). */
export class TextGatewayError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'TextGatewayError';
  }
}

const E164 = /^\+[1-9]\d{6,14}$/;
const MAX_TEXT = 640;

function check(m: TextMessage): void {
  if (!E164.test(m.to)) throw new TextGatewayError('the recipient is not an E.164 number', false);
  if (m.text.length === 0 || m.text.length > MAX_TEXT)
    throw new TextGatewayError(`the text must be 1 to ${MAX_TEXT} characters`, false);
}

/**
 * A provider's HTTP API: POST `url` with JSON `{ from, to, text }`, authorised by a bearer
 * token or HTTP basic credentials; any 2xx is accepted (its JSON `id`, if any, kept).
 * 4xx other than 408/429 is final; network errors, 408, 429 and 5xx are retryable. The
 * request times out after `timeoutMs`. The credentials never appear in an error.
 */
export class HttpTextGateway implements TextGateway {
  constructor(
    private readonly o: {
      url: string;
      from: string;
      auth: { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };
      timeoutMs?: number;
    },
    private readonly fetchFn: typeof fetch = fetch,
  ) {
    const u = new URL(o.url);
    if (u.protocol !== 'https:' && !/^(127\.0\.0\.1|localhost|\[::1\])$/.test(u.hostname))
      throw new Error('the text-message provider URL must be https (http only on loopback)');
  }

  async send(m: TextMessage): Promise<SentMessage> {
    check(m);
    const auth =
      this.o.auth.kind === 'bearer'
        ? `Bearer ${this.o.auth.token}`
        : `Basic ${Buffer.from(`${this.o.auth.username}:${this.o.auth.password}`).toString('base64')}`;
    let res: Response;
    try {
      res = await this.fetchFn(this.o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify({ from: this.o.from, to: m.to, text: m.text }),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
        redirect: 'error',
      });
    } catch (e) {
      throw new TextGatewayError(
        `the text-message provider could not be reached: ${(e as Error).name}`,
        true,
      );
    }
    const body = await res.text().catch(() => '');
    if (!res.ok)
      throw new TextGatewayError(
        `the text-message provider answered ${res.status}`,
        res.status === 408 || res.status === 429 || res.status >= 500,
      );
    try {
      const id = (JSON.parse(body) as { id?: unknown }).id;
      return { providerId: typeof id === 'string' ? id.slice(0, 200) : null };
    } catch {
      return { providerId: null };
    }
  }
}

/** The demo's and tests' gateway: each message appended to `file` as one JSON line `{ at, to, text }`. */
export class FileTextSink implements TextGateway {
  constructor(
    private readonly file: string,
    private readonly now: () => number = Date.now,
  ) {}

  async send(m: TextMessage): Promise<SentMessage> {
    check(m);
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(
      this.file,
      JSON.stringify({ at: new Date(this.now()).toISOString(), to: m.to, text: m.text }) + '\n',
      {
        mode: 0o600,
      },
    );
    return { providerId: null };
  }
}
