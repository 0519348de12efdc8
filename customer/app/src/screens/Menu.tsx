import type { LiveMenuNodeShape } from '../../../../protocol/src/index.ts';
import type { AppController, AppState } from '../controller.ts';
import { Button, ErrorText, Icon, Screen } from '../components/ui.tsx';
import { LEVEL_NEEDS, waitText } from '../format.ts';
import { offeredChannels } from '../../../sdk/index.ts';

/** The channels an option offers, when the live menu carries them (a call otherwise). */
type ChannelsOf = { channels?: readonly string[] };

const findBranch = (
  nodes: LiveMenuNodeShape[],
  path: string[],
): { nodes: LiveMenuNodeShape[]; title: string | null } => {
  let current = nodes;
  let title: string | null = null;
  for (const id of path) {
    const n = current.find((c) => c.id === id);
    if (!n?.children) break;
    current = n.children;
    title = n.label;
  }
  return { nodes: current, title };
};

export function Menu({ state, app, path }: { state: AppState; app: AppController; path: string[] }) {
  const { nodes, title } = findBranch(state.menu ?? [], path);
  const level = state.authentication?.level ?? 0;
  return (
    <Screen title={title ?? 'What do you need help with?'}>
      <ErrorText message={state.error} />
      <ul className="menu" aria-busy={state.busy !== null}>
        {nodes.map((n) =>
          n.children ? (
            <li key={n.id}>
              <button type="button" className="menu-item" onClick={() => app.openBranch([...path, n.id])}>
                <span className="menu-label">{n.label}</span>
                <Icon name="chevron" />
              </button>
            </li>
          ) : offeredChannels(n as ChannelsOf).length > 1 ? (
            <li key={n.id} className="menu-item menu-leaf menu-channels">
              <span className="menu-label">{n.label}</span>
              <span className="menu-meta">{waitText(n.estimatedWaitSeconds ?? null)}</span>
              <span className="channel-choice" role="group" aria-label={`${n.label}: chat or call`}>
                {offeredChannels(n as ChannelsOf).map((channel) => (
                  <Button
                    key={channel}
                    variant="secondary"
                    data-testid={`choose-${channel}`}
                    disabled={state.busy !== null}
                    onClick={() =>
                      void app.chooseOption({ id: n.id, label: n.label, level: n.level ?? 0, channel })
                    }
                  >
                    {channel === 'chat' ? 'Chat' : 'Call me'}
                  </Button>
                ))}
              </span>
            </li>
          ) : (
            <li key={n.id}>
              <button
                type="button"
                className="menu-item menu-leaf"
                disabled={state.busy !== null}
                onClick={() =>
                  void app.chooseOption({
                    id: n.id,
                    label: n.label,
                    level: n.level ?? 0,
                    channel: offeredChannels(n as ChannelsOf)[0]!,
                  })
                }
              >
                <span className="menu-label">{n.label}</span>
                <span className="menu-meta">
                  {n.availability === 'callback_only'
                    ? 'Callback only'
                    : waitText(n.estimatedWaitSeconds ?? null)}
                  {(n.level ?? 0) > level ? (
                    <span className="badge">Needs {LEVEL_NEEDS[n.level ?? 0]}</span>
                  ) : null}
                </span>
              </button>
            </li>
          ),
        )}
      </ul>
      {nodes.length === 0 ? (
        <p className="help">Nobody can take requests right now. Please try again later.</p>
      ) : null}
      <Button variant="ghost" onClick={() => (path.length ? app.openBranch(path.slice(0, -1)) : app.home())}>
        <Icon name="back" size={18} /> Back
      </Button>
    </Screen>
  );
}
