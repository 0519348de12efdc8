import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID Provider on 127.0.0.1 for the single sign-on tests: `oidc-provider` (a
 * certified OpenID Connect implementation) with its development login page (any password),
 * PKCE required, a `groups` claim, RP-initiated logout. Two clients: the authority's
 * (`clientId`) and another one (for codes issued to someone else).
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
}): Promise<TestIdentityProvider> {
  const users = opts.users ?? defaultIdpUsers();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
  });
  const provider = new Provider(issuer, {
    clients: [client(IDP_CLIENT_ID), client(IDP_OTHER_CLIENT_ID)],
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
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    cookies: { keys: ['test-idp-cookie-key-0123456789'] },
  });
  // The dev login page and loopback http are fine here; keep the test output quiet.
  provider.on('server_error', (_ctx, e) => console.error('test IdP:', e));
  server.on('request', provider.callback());
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    issuer,
    clientId: IDP_CLIENT_ID,
    clientSecret: SECRET,
    users,
    stop,
    resume: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: stop,
  };
}

/**
 * Sign `login` in at the provider the way a browser would (its login page, then consent),
 * starting at `authorizationUrl`: the URL the provider finally redirects to (the redirect
 * URI with code, state and iss). Cookies are kept in a jar of this sign-in's own.
 */
export async function signInAtProvider(authorizationUrl: string, login: string): Promise<string> {
  const jar = new Map<string, string>();
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
