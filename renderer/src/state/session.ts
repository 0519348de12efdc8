import type { StaffView } from '../../../protocol/src/staff.ts';
import { errorCode, errorText, type ConsoleBridge } from '../bridge/types.ts';
import { Store } from './store.ts';

export type SessionState =
  | { status: 'checking' }
  | { status: 'signed_out'; error: string | null }
  | { status: 'signing_in' }
  | { status: 'signed_in'; staff: StaffView }
  | { status: 'signing_out'; staff: StaffView };

/** Who is logged in to this console (the tokens themselves stay in main). */
export class SessionStore extends Store<SessionState> {
  constructor(private readonly bridge: ConsoleBridge) {
    super({ status: 'checking' });
  }

  get staff(): StaffView | null {
    const s = this.state;
    return s.status === 'signed_in' || s.status === 'signing_out' ? s.staff : null;
  }

  /** Resume a session main still holds (a reload of the page, a restart with a stored token). */
  async restore(): Promise<void> {
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
    try {
      await this.bridge.invoke('session.logout', {});
    } finally {
      this.setState({ status: 'signed_out', error: null });
    }
  }
}
