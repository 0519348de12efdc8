import { lazy, Suspense } from 'react';
import { useConsole, useStore } from './hooks.ts';
import { LoginScreen } from './screens/Login.tsx';
import type { ScreenName } from './state/console.ts';

/**
 * Only the login is in the first chunk: the shell and every screen behind it load
 * after sign-in (or while the login is shown, see preloadSignedInScreens).
 */
const loadShell = () => import('./screens/Shell.tsx');
const loadDesk = () => import('./screens/Desk.tsx');
const loadBoard = () => import('./screens/Board.tsx');
const loadReports = () => import('./screens/reports/ReportsScreen.tsx');
const loadHistory = () => import('./screens/History.tsx');
const loadSettings = () => import('./screens/Settings.tsx');
const Shell = lazy(() => loadShell().then((m) => ({ default: m.Shell })));
const DeskScreen = lazy(() => loadDesk().then((m) => ({ default: m.DeskScreen })));
const BoardScreen = lazy(() => loadBoard().then((m) => ({ default: m.BoardScreen })));
const ReportsScreen = lazy(() => loadReports().then((m) => ({ default: m.ReportsScreen })));
const HistoryScreen = lazy(() => loadHistory().then((m) => ({ default: m.HistoryScreen })));
const SettingsScreen = lazy(() => loadSettings().then((m) => ({ default: m.SettingsScreen })));

/** Fetches the signed-in chunks once the login is usable, so sign-in does not wait for them. */
export function preloadSignedInScreens(): void {
  void Promise.all([loadShell(), loadDesk()]).catch(() => undefined);
}

const Loading = () => (
  <main className="splash" aria-busy="true">
    <p className="muted">Loading…</p>
  </main>
);

export function App() {
  const c = useConsole();
  const session = useStore(c.session);
  const screen = useStore(c.navigation);
  const { link } = useStore(c.connection);
  if (link === 'link_used')
    return (
      <main className="splash" data-testid="link-used">
        <div className="login-card">
          <h1>This console link was already used</h1>
          <p>
            Each launch link opens one console, in the first page that used it. That page keeps working, also
            after a reload. To open another console, start the console again and use the new link it prints.
          </p>
        </div>
      </main>
    );
  if (session.status === 'checking')
    return (
      <main className="splash" aria-busy="true">
        <p className="muted">Connecting to the console…</p>
      </main>
    );
  if (session.status === 'signed_out' || session.status === 'signing_in') return <LoginScreen />;
  return (
    <Suspense fallback={<Loading />}>
      <Shell>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Screen name={screen} />
        </Suspense>
      </Shell>
    </Suspense>
  );
}

function Screen({ name }: { name: ScreenName }) {
  switch (name) {
    case 'desk':
      return <DeskScreen />;
    case 'history':
      return <HistoryScreen />;
    case 'settings':
      return <SettingsScreen />;
    case 'board':
      return <BoardScreen />;
    case 'reports':
      return <ReportsScreen />;
    default: {
      const never: never = name;
      return never;
    }
  }
}
