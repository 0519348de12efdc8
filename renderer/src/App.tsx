import { useConsole, useStore } from './hooks.ts';
import { BoardScreen } from './screens/Board.tsx';
import { DeskScreen } from './screens/Desk.tsx';
import { HistoryScreen } from './screens/History.tsx';
import { LoginScreen } from './screens/Login.tsx';
import { SettingsScreen } from './screens/Settings.tsx';
import { Shell } from './screens/Shell.tsx';
import type { ScreenName } from './state/console.ts';

export function App() {
  const c = useConsole();
  const session = useStore(c.session);
  const screen = useStore(c.navigation);
  const { link } = useStore(c.connection);
  if (link === 'link_used')
    return (
      <main className="splash" data-testid="link-used">
        <h1>This console link was already used</h1>
        <p>
          Each launch link opens one console, in the first page that used it. That page keeps working, also
          after a reload. To open another console, start the console again and use the new link it prints.
        </p>
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
    <Shell>
      <Screen name={screen} />
    </Shell>
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
    default: {
      const never: never = name;
      return never;
    }
  }
}
