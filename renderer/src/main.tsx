import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { connectBridge } from './bridge/connect.ts';
import { ConsoleContext } from './hooks.ts';
import { installShortcuts } from './shortcuts.ts';
import { ringToneUrl } from './softphone/ring-tone.ts';
import { SipJsSoftphone } from './softphone/sipjs-softphone.ts';
import { ConsoleApp } from './state/console.ts';
import './styles.css';

const bridge = connectBridge(window);

/** Two audio elements outside React: the other party's voice (speaker) and the ring (ringing device). */
function audioElement(testId: string): HTMLAudioElement {
  const el = document.createElement('audio');
  el.dataset.testid = testId;
  el.autoplay = true;
  document.body.append(el);
  return el;
}

const softphone = new SipJsSoftphone({
  credentials: () => bridge.invoke('sip.credentials', {}),
  remoteAudio: audioElement('remote-audio'),
  ringer: audioElement('ringer-audio'),
  ringTone: ringToneUrl,
  media: navigator.mediaDevices ?? null,
  displayName: (): string | undefined => app.session.staff?.displayName,
});
const app = new ConsoleApp(bridge, softphone, {
  storage: window.sessionStorage,
  media: navigator.mediaDevices ?? null,
});

installShortcuts(window, {
  accept: () => void (softphone.getSnapshot().line === 'incoming' ? app.calls.answer() : app.work.accept()),
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
