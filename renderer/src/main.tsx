import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { connectBridge } from './bridge/connect.ts';
import { ConsoleContext } from './hooks.ts';
import { installShortcuts } from './shortcuts.ts';
import { NoSoftphone } from './softphone/softphone.ts';
import { ConsoleApp } from './state/console.ts';
import './styles.css';

const bridge = connectBridge(window);
const app = new ConsoleApp(bridge, new NoSoftphone(), {
  storage: window.sessionStorage,
  media: navigator.mediaDevices ?? null,
});

installShortcuts(window, {
  accept: () => void app.work.accept(),
  reject: () => void app.work.reject(),
  hangUp: () => void app.calls.hangUp(),
  hold: () => void app.calls.toggleHold(),
  mute: () => app.calls.toggleMute(),
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ConsoleContext.Provider value={app}>
      <App />
    </ConsoleContext.Provider>
  </StrictMode>,
);
void app.start();
