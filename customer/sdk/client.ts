import { AuthorityError, RouteClient, type RouteTransport } from '../../protocol/src/route-client.ts';
import type { CallArgs, CallOutput } from '../../protocol/src/route-client.ts';
import type { Routes } from '../../protocol/src/index.ts';
import { deviceProof } from './proofs.ts';

export {
  AuthorityError,
  ProtocolError,
  RouteInputError,
  type CallInput,
  type CallOutput,
} from '../../protocol/src/route-client.ts';

/** The routes a device may call: its own and the public ones (never staff routes). */
export type DeviceRouteId = {
  [K in keyof Routes]: Routes[K]['auth'] extends 'staff' ? never : K;
}[keyof Routes];

/** The device credentials a call needs: the token from authentication and the key that signs each proof. */
export interface DeviceCredentials {
  token: string;
  key: CryptoKey;
}

export interface AuthorityClientOptions {
  /** The authority's origin, e.g. https://desk.example.com (default: the page's origin). */
  baseUrl: string;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * HTTP client of the authority for a device: the protocol's RouteClient (input
 * validated before it is sent, every answer validated by the route's response
 * schema) over fetch, where device routes carry the token and a fresh proof
 * (method + path + query).
 */
export class AuthorityClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly routes = new RouteClient<DeviceRouteId>((request) => this.send(request));
  credentials: DeviceCredentials | null = null;

  constructor(opts: AuthorityClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
    this.now = opts.now ?? Date.now;
  }

  call<K extends DeviceRouteId>(id: K, ...input: CallArgs<Routes[K]>): Promise<CallOutput<Routes[K]>> {
    return this.routes.call(id, ...input);
  }

  /** The transport: fetch, with the token and a fresh proof on device routes. */
  private readonly send: RouteTransport = async (request) => {
    const { route, method, path } = request;
    const headers = { ...request.headers };
    if (route.auth === 'device' || route.auth === 'deviceOrStaff') {
      const c = this.credentials;
      if (!c) throw new AuthorityError(401, 'unauthorized', 'the device is not authenticated');
      headers.authorization = `Device ${c.token}`;
      headers['device-proof'] = await deviceProof(c.key, c.token, method, path, this.now());
    }
    return this.fetchImpl(this.baseUrl + path, {
      method,
      headers,
      body: request.body as BodyInit | undefined,
    });
  };
}
