import type { z } from 'zod';
import type { StaffRole } from './staff.ts';

/**
 * Who may call a route.
 * public: anyone; device: an authenticated device (token + per-request proof);
 * staff: a logged-in staff member with one of `roles`; deviceOrStaff: either;
 * sipServer: the SIP server in front of the phone network's trunk (a shared secret).
 */
export type RouteAuth = 'public' | 'device' | 'staff' | 'deviceOrStaff' | 'sipServer';

/** HTTP statuses of the errors a route may answer (each with an ApiError body). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 414 | 415 | 423 | 429 | 503;

export interface RouteDef {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** One line (the OpenAPI summary). */
  readonly summary: string;
  /**
   * The OpenAPI description (Markdown): what it does, who may call it, what it changes,
   * whether a retry is safe, fencing numbers where they apply.
   */
  readonly description?: string;
  readonly tag: string;
  readonly auth: RouteAuth;
  readonly roles?: readonly StaffRole[];
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /**
   * 'image': the body is a raw JPEG or PNG, not JSON; 'file': a chat attachment
   * (ATTACHMENT_TYPES); 'form': an HTML form (application/x-www-form-urlencoded), as OpenID
   * Connect providers post their logout token.
   */
  readonly bodyKind?: 'json' | 'image' | 'file' | 'form';
  readonly response: z.ZodType;
  /** 'image': the answer is raw image bytes (`response` then describes nothing and is z.any()). */
  /** 'file': the answer is a chat attachment's bytes (ATTACHMENT_TYPES), `response` is z.any(). */
  readonly responseKind?: 'json' | 'image' | 'file';
  readonly status?: 200 | 201;
  /**
   * Errors the route's domain answers beyond those its shape implies, each with when it
   * happens. Derived in openapi.ts: 400 always; 401 unless public; 403 when `roles` leave
   * a role out; 404 and 414 with path parameters; 413 and 415 for POST/PUT; 409 with a
   * `fence` in the body. Listing a derived status replaces its generic text with this one.
   */
  readonly errors?: Readonly<Partial<Record<ErrorStatus, string>>>;
}

export const route = <R extends RouteDef>(r: R): R => r;

export const ANY_STAFF = ['agent', 'supervisor', 'admin'] as const;
export const SUPERVISORS = ['supervisor', 'admin'] as const;
export const ADMIN = ['admin'] as const;
