import type { SsoSettings } from '../../../protocol/src/sso.ts';
import type { StaffView } from '../../../protocol/src/staff.ts';
import { errorCode, errorText, type ConsoleBridge } from '../bridge/types.ts';
import { Store } from './store.ts';

export type SessionState =
  | { status: 'checking' }
  | { status: 'signed_out'; error: string | null }
  | { status: 'signing_in' }
  | { status: 'signed_in'; staff: StaffView }
  | { status: 'signing_out'; staff: StaffView };

/** The page's address, for single sign-on in browser mode (tests pass their own). */
export interface SsoPage {
  href: string;
  origin: string;
  pathname: string;
  /** Go to another page (the identity provider). */
  assign(url: string): void;
  /** Replace the address without loading (drop the callback's code and state from it). */
  replace(path: string): void;
}

const browserPage = (): SsoPage | null =>
  typeof window === 'undefined'
    ? null
    : {
        get href() {
          return window.location.href;
        },
        get origin() {
          return window.location.origin;
        },
        get pathname() {
          return window.location.pathname;
        },
        assign: (url) => window.location.assign(url),
        replace: (path) => window.history.replaceState(null, '', path),
      };

class SsoSettingsStore extends Store<SsoSettings | null> {
  set(s: SsoSettings): void {
    this.setState(s);
  }
}

/** Where the identity provider sends browser mode back (main/core/sso-loopback.ts SSO_CALLBACK_PATH). */
export const SSO_CALLBACK_PATH = '/sso-callback';

/** Who is logged in to this console (the tokens themselves stay in main). */
export class SessionStore extends Store<SessionState> {
  /** Single sign-on as the authority announces it (null until known, or when it cannot be asked). */
  readonly sso = new SsoSettingsStore(null);
  private readonly page: SsoPage | null;

  constructor(
    private readonly bridge: ConsoleBridge,
    page?: SsoPage | null,
  ) {
    super({ status: 'checking' });
    this.page = page === undefined ? browserPage() : page;
  }

  /** Ask main whether single sign-on is configured (the login screen shows its button). */
  async loadSso(): Promise<void> {
    try {
      const settings = await this.bridge.invoke('sso.settings', {});
      this.sso.set(settings);
    } catch {
      // Unknown: the login screen shows the password form only.
    }
  }

  /** Sign in with the identity provider: browser mode goes there and comes back; the desktop app uses the system browser. */
  async ssoSignIn(): Promise<void> {
    if (this.state.status === 'signing_in') return;
    this.setState({ status: 'signing_in' });
    try {
      if (this.bridge.mode === 'browser' && this.page) {
        const { authorizationUrl } = await this.bridge.invoke('sso.begin', {
          returnTo: `${this.page.origin}${SSO_CALLBACK_PATH}`,
        });
        this.page.assign(authorizationUrl); // the page unloads; it comes back at /sso-callback
        return;
      }
      const staff = await this.bridge.invoke('sso.signIn', {});
      this.setState({ status: 'signed_in', staff });
    } catch (e) {
      this.setState({ status: 'signed_out', error: ssoError(e) });
    }
  }

  get staff(): StaffView | null {
    const s = this.state;
    return s.status === 'signed_in' || s.status === 'signing_out' ? s.staff : null;
  }

  /** Resume a session main still holds (a reload of the page, a restart with a stored token). */
  async restore(): Promise<void> {
    // Browser mode, back from the identity provider: finish that sign-in first.
    if (this.page && this.page.pathname === SSO_CALLBACK_PATH && this.state.status === 'checking') {
      const callbackUrl = this.page.href;
      this.page.replace('/');
      this.setState({ status: 'signing_in' });
      try {
        const staff = await this.bridge.invoke('sso.complete', { callbackUrl });
        this.setState({ status: 'signed_in', staff });
      } catch (e) {
        this.setState({ status: 'signed_out', error: ssoError(e) });
      }
      return;
    }
    try {
      const staff = await this.bridge.invoke('session.current', {});
      this.setState(staff ? { status: 'signed_in', staff } : { status: 'signed_out', error: null });
    } catch (e) {
      // A failed check while signed in (the link dropped again) keeps the session on screen.
      if (this.state.status === 'checking') this.setState({ status: 'signed_out', error: errorText(e) });
    }
  }

  async login(username: string, password: string): Promise<void> {
    if (this.state.status === 'signing_in') return;
    this.setState({ status: 'signing_in' });
    try {
      const staff = await this.bridge.invoke('session.login', { username: username.trim(), password });
      this.setState({ status: 'signed_in', staff });
    } catch (e) {
      const code = errorCode(e);
      const error =
        code === 'unauthorized'
          ? 'Wrong username or password.'
          : code === 'invalid_argument'
            ? 'Enter your username and a password of at least 8 characters.'
            : errorText(e);
      this.setState({ status: 'signed_out', error });
    }
  }

  /** main lost the session (the authority refused the refresh token): back to the login screen. */
  expired(): void {
    if (this.staff) this.setState({ status: 'signed_out', error: 'Your session ended. Sign in again.' });
  }

  async logout(): Promise<void> {
    const staff = this.staff;
    if (!staff) return;
    this.setState({ status: 'signing_out', staff });
    let endSessionUrl: string | undefined;
    try {
      ({ endSessionUrl } = await this.bridge.invoke('session.logout', {}));
    } finally {
      this.setState({ status: 'signed_out', error: null });
    }
    // After a single sign-on, the provider's session ends too (browser mode goes to its logout page).
    if (endSessionUrl && this.page) this.page.assign(endSessionUrl);
  }
}

/** What the login screen says when a single sign-on fails. */
function ssoError(e: unknown): string {
  const code = errorCode(e);
  if (code === 'forbidden') return `${errorText(e)}`;
  if (code === 'sso_timeout') return 'The sign-in in your browser was not finished. Try again.';
  // The authority's own sentence: the provider's name, "try again in a moment" and, where
  // passwords are allowed, the way around it. Nothing failed on this side.
  if (code === 'idp_unavailable') return errorText(e).replace(/[^.!?]$/, '$&.');
  return `Single sign-on failed: ${errorText(e)}`;
}
