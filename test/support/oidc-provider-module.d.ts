/** The part of oidc-provider (no typings of its own) the test identity provider uses. */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Account {
    accountId: string;
    claims: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  }
  interface ProviderConfiguration {
    clients?: Record<string, unknown>[];
    pkce?: { required?: () => boolean };
    claims?: Record<string, string[]>;
    findAccount?: (ctx: unknown, id: string) => Account | undefined | Promise<Account | undefined>;
    features?: Record<string, { enabled: boolean }>;
    cookies?: { keys: string[] };
    /** The provider's signing keys (private JWKs). */
    jwks?: { keys: Record<string, unknown>[] };
    /** Its storage: an adapter per model (upsert, find, findByUid, consume, destroy, ...). */
    adapter?: (model: string) => Record<string, (...args: never[]) => Promise<unknown>>;
    /** The provider's outgoing requests (back-channel logout); `options.dispatcher` is its SSRF guard. */
    fetch?: (url: URL | string, options: RequestInit & { dispatcher?: unknown }) => Promise<Response>;
  }
  export default class Provider {
    constructor(issuer: string, configuration?: ProviderConfiguration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    /** A Koa middleware around its own (`ctx.path`, `ctx.body` after `next()`). */
    use(fn: (ctx: { path: string; body: unknown }, next: () => Promise<void>) => Promise<void>): this;
    on(
      event: 'server_error' | 'backchannel.error' | 'grant.error',
      listener: (ctx: unknown, error: Error) => void,
    ): this;
  }
}
