import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, exportJWK, SignJWT, type JWTPayload } from 'jose';
import { newRsaKeyPair } from '../../node-common/keypairs.ts';
import Provider from 'oidc-provider';

/**
 * A real OpenID Provider on 127.0.0.1 for the single sign-on tests: `oidc-provider` (a
 * certified OpenID Connect implementation) with its development login page (any password),
 * PKCE required, a `groups` claim, RP-initiated logout. Two clients: the authority's
 * (`clientId`) and another one (for codes issued to someone else). A misbehaving provider
 * on demand: ID tokens changed before they are sent (`idTokenClaims`, still signed with its
 * key) and codes expired before they are exchanged (`expireCodes`).
 */
export interface TestIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Users by login: their claims. Change `groups` to see a role change at the next sign-in. */
  users: Map<string, IdpUser>;
  /** The provider goes down: its port refuses connections (kept for `resume`). */
  stop(): Promise<void>;
  /** The provider is back on the same port, with the same keys, clients and sessions. */
  resume(): Promise<void>;
  close(): Promise<void>;
  /**
   * With `backchannelLogout`: the provider posts its logout tokens (OpenID Connect
   * Back-Channel Logout) to a relay registered as the client's backchannel_logout_uri,
   * which forwards them to `target` (the authority's route, known once it has started) and
   * keeps each answer's status.
   */
  backchannel?: { target: string | null; answers: number[]; bodies: string[] };
  /**
   * Set: every ID token the token endpoint answers is changed by it (e.g. another `aud`,
   * `iss` or an `exp` in the past) and signed again with the provider's own key, so only
   * the changed claims can make a client refuse it. Undefined (the default): unchanged.
   */
  idTokenClaims: ((claims: JWTPayload) => JWTPayload) | undefined;
  /**
   * Every authorization code issued and not exchanged yet expires now (as if the user had
   * come back after the code's lifetime): the provider refuses it at the token endpoint
   * (`invalid_grant`, "authorization code is expired"). Answers how many there were.
   */
  expireCodes(): number;
  /**
   * Why the token endpoint refused each code (the provider's own detail, e.g. "authorization
   * code is expired"; a client only sees `invalid_grant` and a generic description).
   */
  grantErrors: string[];
}

export interface IdpUser {
  name: string;
  preferred_username: string;
  email: string;
  groups: string[];
}

export const IDP_CLIENT_ID = 'verified-desk';
export const IDP_OTHER_CLIENT_ID = 'someone-else';
const SECRET = 'idp-client-secret-0123456789abcdefghijkl';

/** The users every test provider starts with (login = subject). */
export function defaultIdpUsers(): Map<string, IdpUser> {
  const u = (login: string, name: string, groups: string[]): [string, IdpUser] => [
    login,
    { name, preferred_username: login, email: `${login}@example.com`, groups },
  ];
  return new Map([
    u('ann.sso', 'Ann Agent', ['vd-agents']),
    u('sue.sso', 'Sue Supervisor', ['vd-agents', 'vd-supervisors']),
    u('ada.sso', 'Ada Admin', ['vd-admins']),
    u('mark.sso', 'Mark Marketing', ['marketing']),
  ]);
}

/** `redirectUris` are registered for both clients (a loopback http://127.0.0.1/... one allows any port, RFC 8252). */
export async function startTestIdentityProvider(opts: {
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  users?: Map<string, IdpUser>;
  backchannelLogout?: boolean;
}): Promise<TestIdentityProvider> {
  const users = opts.users ?? defaultIdpUsers();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const backchannel = opts.backchannelLogout
    ? { target: null as string | null, answers: [] as number[], bodies: [] as string[] }
    : undefined;
  let relay: Server | undefined;
  if (backchannel) {
    relay = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (!backchannel.target) return void res.writeHead(503).end();
        backchannel.bodies.push(Buffer.concat(chunks).toString('utf8'));
        fetch(backchannel.target, {
          method: 'POST',
          headers: { 'content-type': String(req.headers['content-type'] ?? '') },
          body: Buffer.concat(chunks),
        })
          .then(async (r) => {
            backchannel.answers.push(r.status);
            res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
          })
          .catch(() => res.writeHead(502).end());
      });
    });
    await new Promise<void>((resolve) => relay!.listen(0, '127.0.0.1', resolve));
  }
  const relayUri = relay && `http://127.0.0.1:${(relay.address() as AddressInfo).port}/backchannel`;
  // The provider's signing key, ours so that a changed ID token can be signed again with it.
  // newRsaKeyPair: a generated key can deadlock its JWK export on Node 20
  const { privateKey } = newRsaKeyPair();
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-idp-key', alg: 'RS256', use: 'sig' };
  const misbehave = { idTokenClaims: undefined as ((claims: JWTPayload) => JWTPayload) | undefined };
  const storage = new ProviderStorage();
  const client = (client_id: string) => ({
    client_id,
    client_secret: SECRET,
    // native: http loopback redirects, any port for http://127.0.0.1/... (RFC 8252 section 7.3)
    application_type: 'native' as const,
    redirect_uris: opts.redirectUris,
    post_logout_redirect_uris: opts.postLogoutRedirectUris ?? [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic' as const,
    ...(relayUri && client_id === IDP_CLIENT_ID
      ? { backchannel_logout_uri: relayUri, backchannel_logout_session_required: true }
      : {}),
  });
  const provider = new Provider(issuer, {
    clients: [client(IDP_CLIENT_ID), client(IDP_OTHER_CLIENT_ID)],
    jwks: { keys: [jwk] },
    adapter: (model: string) => storage.adapter(model),
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
      groups: ['groups'],
    },
    findAccount: (_ctx, id) => {
      const user = users.get(id);
      if (!user) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...user }) };
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: opts.backchannelLogout === true },
    },
    cookies: { keys: ['test-idp-cookie-key-0123456789'] },
    // Its outgoing requests (back-channel logout) go to loopback here: without the provider's
    // protection against special-use addresses, which is right for a real deployment.
    fetch: (url: URL | string, options: RequestInit & { dispatcher?: unknown }) => {
      delete options.dispatcher;
      return fetch(url, options);
    },
  });
  // The dev login page and loopback http are fine here; keep the test output quiet.
  provider.on('server_error', (_ctx, e) => console.error('test IdP:', e));
  const grantErrors: string[] = [];
  provider.on('grant.error', (_ctx, e) =>
    grantErrors.push(String((e as Error & { error_detail?: unknown }).error_detail ?? e.message)),
  );
  provider.on('backchannel.error', (_ctx, e) => console.error('test IdP back-channel logout:', e));
  // After the token endpoint: the ID token changed as the test asked, signed again (same key and kid).
  provider.use(async (ctx, next) => {
    await next();
    const change = misbehave.idTokenClaims;
    const body = ctx.body as { id_token?: unknown } | undefined;
    if (!change || ctx.path !== '/token' || typeof body?.id_token !== 'string') return;
    const header = decodeProtectedHeader(body.id_token);
    body.id_token = await new SignJWT(change(decodeJwt(body.id_token)))
      .setProtectedHeader({ ...header, alg: header.alg ?? 'RS256' })
      .sign(privateKey);
  });
  server.on('request', provider.callback());
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    get idTokenClaims() {
      return misbehave.idTokenClaims;
    },
    set idTokenClaims(f) {
      misbehave.idTokenClaims = f;
    },
    expireCodes: () => storage.expire('AuthorizationCode'),
    grantErrors,
    issuer,
    clientId: IDP_CLIENT_ID,
    clientSecret: SECRET,
    users,
    stop,
    resume: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: async () => {
      await stop();
      if (relay) await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
    ...(backchannel ? { backchannel } : {}),
  };
}

type Payload = Record<string, unknown> & { exp?: number; grantId?: string; uid?: string; userCode?: string };

/**
 * The provider's storage (its adapter interface), in memory like its default one but ours,
 * so that a test can make the codes it issued expire. Nothing is evicted (a test is short).
 */
class ProviderStorage {
  private readonly rows = new Map<string, Payload>();

  adapter(model: string) {
    const key = (id: string) => `${model}:${id}`;
    const where = (f: (p: Payload) => boolean) =>
      [...this.rows].find(([k, p]) => k.startsWith(`${model}:`) && f(p))?.[1];
    return {
      upsert: async (id: string, payload: Payload) => void this.rows.set(key(id), payload),
      find: async (id: string) => this.rows.get(key(id)),
      findByUid: async (uid: string) => where((p) => p.uid === uid),
      findByUserCode: async (userCode: string) => where((p) => p.userCode === userCode),
      consume: async (id: string) => {
        const p = this.rows.get(key(id));
        if (p) p.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id: string) => void this.rows.delete(key(id)),
      revokeByGrantId: async (grantId: string) => {
        for (const [k, p] of this.rows) if (p.grantId === grantId) this.rows.delete(k);
      },
    };
  }

  /** The `model` rows not consumed yet expire now (a second ago); how many. */
  expire(model: string): number {
    let n = 0;
    for (const [k, p] of this.rows)
      if (k.startsWith(`${model}:`) && p.consumed === undefined) {
        p.exp = Math.floor(Date.now() / 1000) - 1;
        n++;
      }
    return n;
  }
}

/**
 * Sign `login` in at the provider the way a browser would (its login page, then consent),
 * starting at `authorizationUrl`: the URL the provider finally redirects to (the redirect
 * URI with code, state and iss). Cookies are kept in a jar of this sign-in's own.
 */
export async function signInAtProvider(
  authorizationUrl: string,
  login: string,
  jar = new Map<string, string>(),
): Promise<string> {
  const issuerOrigin = new URL(authorizationUrl).origin;
  let url = authorizationUrl;
  let init: { method: string; body?: URLSearchParams } = { method: 'GET' };
  for (let hop = 0; hop < 20; hop++) {
    if (new URL(url).origin !== issuerOrigin) return url; // back at the redirect URI
    const res = await fetch(url, {
      method: init.method,
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.body ? { body: init.body } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href;
      init = { method: 'GET' };
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`IdP answered ${res.status}: ${html.slice(0, 300)}`);
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
    if (!form) throw new Error(`IdP page without a form: ${html.slice(0, 300)}`);
    const body = new URLSearchParams();
    for (const m of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g))
      body.set(m[1]!, m[2]!);
    if (/name="login"/.test(form[2]!)) {
      body.set('login', login);
      body.set('password', 'any password');
    }
    url = new URL(form[1]!.replace(/&amp;/g, '&'), url).href;
    init = { method: 'POST', body };
  }
  throw new Error('too many hops at the IdP');
}

/**
 * The user signs out at the provider itself (its end_session page, confirmed "Yes, sign me
 * out"), with the cookies of their sign-in (`jar` of signInAtProvider): the provider ends its
 * session and, with back-channel logout, posts a logout token to each client of it.
 */
export async function logoutAtProvider(issuer: string, jar: Map<string, string>): Promise<void> {
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
    }
  };
  const page = await fetch(`${issuer}/session/end`, { headers: { cookie: cookie() }, redirect: 'manual' });
  keep(page);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`end_session answered ${page.status}: ${html.slice(0, 300)}`);
  const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error(`logout page without a form: ${html.slice(0, 300)}`);
  const body = new URLSearchParams();
  for (const m of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g))
    body.set(m[1]!, m[2]!);
  body.set('logout', 'yes');
  const done = await fetch(new URL(form[1]!.replace(/&amp;/g, '&'), issuer), {
    method: 'POST',
    headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
    body,
    redirect: 'manual',
  });
  if (done.status >= 400) throw new Error(`logout confirm answered ${done.status}: ${await done.text()}`);
}
