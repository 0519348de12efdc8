import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, preloadSignedInScreens } from './App.tsx';
import { connectBridge } from './bridge/connect.ts';
import { ConsoleContext } from './hooks.ts';
import { installShortcuts } from './shortcuts.ts';
import { ringToneUrl } from './softphone/ring-tone.ts';
import { toneUrl } from './softphone/tones.ts';
import { LazySoftphone } from './softphone/lazy-softphone.ts';
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

const remoteAudio = audioElement('remote-audio');
const ringer = audioElement('ringer-audio');
/** sip.js is fetched after sign-in (the softphone connects then), not before the login shows. */
const softphone = new LazySoftphone(async () => {
  const { SipJsSoftphone } = await import('./softphone/sipjs-softphone.ts');
  return new SipJsSoftphone({
    credentials: () => bridge.invoke('sip.credentials', {}),
    remoteAudio,
    ringer,
    ringTone: ringToneUrl,
    media: navigator.mediaDevices ?? null,
    displayName: (): string | undefined => app.session.staff?.displayName,
  });
});
const app = new ConsoleApp(bridge, softphone, {
  storage: window.sessionStorage,
  media: navigator.mediaDevices ?? null,
  // Supervisor monitoring (softphone/monitor.ts): its streams play in <audio> elements of their own.
  monitorMedia: navigator.mediaDevices
    ? {
        // The calls' ICE settings (TURN relay, relay-only policy): monitoring crosses the same networks.
        peerConnection: () => new RTCPeerConnection(softphone.iceConfiguration()),
        getUserMedia: (c) => navigator.mediaDevices.getUserMedia(c),
        audioElement,
        audioContext: () => new AudioContext(),
      }
    : null,
  // The offer sound and Settings' audio test: <audio> elements of their own (setSinkId), WebAudio.
  audio: navigator.mediaDevices
    ? {
        element: (testId) => {
          const el = audioElement(testId);
          el.autoplay = false;
          return el;
        },
        getUserMedia: (c) => navigator.mediaDevices.getUserMedia(c),
        audioContext: () => new AudioContext(),
        toneUrl,
      }
    : null,
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
// The desk's chunks are fetched when the page is idle after its first load, not before the login shows.
window.addEventListener('load', () => {
  if ('requestIdleCallback' in window) window.requestIdleCallback(preloadSignedInScreens, { timeout: 2000 });
  else setTimeout(preloadSignedInScreens, 200);
});
