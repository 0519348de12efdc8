import { useEffect, useState, type FormEvent } from 'react';
import { useConsole, useStore } from '../hooks.ts';

export function LoginScreen() {
  const c = useConsole();
  const session = useStore(c.session);
  const sso = useStore(c.session.sso);
  const connection = useStore(c.connection);
  useEffect(() => {
    void c.session.loadSso();
  }, [c.session]);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const busy = session.status === 'signing_in';
  const error = session.status === 'signed_out' ? session.error : null;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void c.session.login(username, password);
  };

  const passwordFields = (
    <>
      <label className="field">
        <span>Username</span>
        <input
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          required
          autoFocus={!sso?.enabled}
        />
      </label>
      <label className="field">
        <span>Password</span>
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      <button type="submit" className={sso?.enabled ? 'button wide' : 'button primary wide'} disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </>
  );

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="login-brand">
          <span className="brand-mark" aria-hidden="true" />
          <span>Verified Desk</span>
        </div>
        <h1 id="login-title">Sign in to the agent console</h1>
        <p className="muted">Customers are verified on their phone before you take the call.</p>
        {sso?.enabled && (
          <button
            type="button"
            className="button primary wide"
            disabled={busy}
            onClick={() => void c.session.ssoSignIn()}
          >
            {busy ? 'Signing in…' : `Sign in with ${sso.name ?? 'single sign-on'}`}
          </button>
        )}
        {sso?.enabled && sso.enforced ? (
          <>
            {error && (
              <p className="form-error" role="alert">
                {error}
              </p>
            )}
            <details className="login-break-glass">
              <summary>Administrator sign-in with a password (break-glass)</summary>
              {passwordFields}
            </details>
          </>
        ) : (
          <>
            {sso?.enabled && <p className="login-or muted">or with your Verified Desk password</p>}
            {passwordFields}
            {error && (
              <p className="form-error" role="alert">
                {error}
              </p>
            )}
          </>
        )}
        <p className="login-foot muted">
          {c.bridge.mode === 'browser' ? 'Browser mode' : 'Desktop app'}
          {connection.link === 'reconnecting' ? ' · reconnecting to the console host…' : ''}
        </p>
      </form>
    </main>
  );
}
