import { useEffect, useState, type FormEvent } from 'react';
import type { ConsoleSettings } from '../../../protocol/src/bridge.ts';
import { Field } from '../components/Field.tsx';
import { Alert } from '../components/ui.tsx';
import { useConsole, useStore } from '../hooks.ts';
import type { AudioDevice } from '../state/settings.ts';

/** Audio devices (microphone, speaker, ringing device) and the servers; IT-managed values are read-only. */
export function SettingsScreen() {
  const c = useConsole();
  const s = useStore(c.settings);
  return (
    <section className="page" aria-labelledby="settings-title">
      <div className="page-head">
        <h1 id="settings-title">Settings</h1>
      </div>
      {s.error && <Alert>{s.error}</Alert>}
      {s.settings ? (
        <SettingsForm key={JSON.stringify(s.settings)} settings={s.settings} />
      ) : (
        !s.error && <p className="muted">Loading settings…</p>
      )}
    </section>
  );
}

function DeviceSelect({
  label,
  hint,
  value,
  devices,
  onChange,
}: {
  label: string;
  hint: string;
  value: string;
  devices: AudioDevice[];
  onChange(v: string): void;
}) {
  const known = value === '' || devices.some((d) => d.deviceId === value);
  return (
    <Field label={label} hint={hint}>
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">System default</option>
        {devices.map((d) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label}
          </option>
        ))}
        {!known && <option value={value}>A device not connected now</option>}
      </select>
    </Field>
  );
}

/**
 * Try the devices chosen above before a call (saved or not): the microphone's live level
 * and a test sound on the speaker. The microphone is let go when the test stops or the
 * screen closes.
 */
function AudioTest({ microphoneId, speakerId }: { microphoneId: string | null; speakerId: string | null }) {
  const c = useConsole();
  const t = useStore(c.audioTest);
  useEffect(() => () => c.audioTest.reset(), [c]);
  // Another microphone chosen during the test: the test follows it.
  useEffect(() => {
    if (c.audioTest.getState().microphone === 'on') void c.audioTest.startMicrophone(microphoneId);
  }, [c, microphoneId]);
  const on = t.microphone !== 'off';
  const percent = Math.round(t.level * 100);
  return (
    <div className="audio-test" role="group" aria-label="Audio test">
      <div className="actions">
        <button
          type="button"
          className="button"
          aria-pressed={on}
          onClick={() => (on ? c.audioTest.stopMicrophone() : void c.audioTest.startMicrophone(microphoneId))}
        >
          {on ? 'Stop microphone test' : 'Test microphone'}
        </button>
        <button
          type="button"
          className="button"
          disabled={t.playing}
          onClick={() => void c.audioTest.playTestSound(speakerId)}
        >
          {t.playing ? 'Playing…' : 'Play test sound'}
        </button>
      </div>
      {on && (
        <div className="level-meter">
          <label htmlFor="mic-level">Microphone level</label>
          <meter
            id="mic-level"
            data-testid="mic-level"
            min={0}
            max={1}
            low={0.15}
            high={0.9}
            optimum={0.5}
            value={t.level}
            aria-valuetext={`${percent} percent`}
          />
          <span className="small muted" role="status">
            {t.microphone === 'starting'
              ? 'Opening the microphone…'
              : t.peak > 0.15
                ? 'The microphone hears you.'
                : 'Speak: the bar moves when the microphone hears you.'}
          </span>
        </div>
      )}
      {t.error && <p className="form-error">{t.error}</p>}
    </div>
  );
}

function SettingsForm({ settings }: { settings: ConsoleSettings }) {
  const c = useConsole();
  const s = useStore(c.settings);
  const [microphoneId, setMicrophone] = useState(settings.microphoneId ?? '');
  const [speakerId, setSpeaker] = useState(settings.speakerId ?? '');
  const [ringerId, setRinger] = useState(settings.ringerId ?? '');
  const [authorityUrl, setAuthorityUrl] = useState(settings.authorityUrl);
  const [sipUrl, setSipUrl] = useState(settings.sipUrl ?? '');
  const [autoDial, setAutoDial] = useState(settings.autoDial);
  const [offerSoundId, setOfferSound] = useState(settings.offerSoundId ?? '');
  const [offerVolume, setOfferVolume] = useState(settings.offerVolume);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void c.settings.save({
      microphoneId: microphoneId || null,
      speakerId: speakerId || null,
      ringerId: ringerId || null,
      autoDial,
      offerSoundId: offerSoundId || null,
      offerVolume,
      ...(settings.managed.authorityUrl || authorityUrl === settings.authorityUrl ? {} : { authorityUrl }),
      ...(settings.managed.sipUrl || sipUrl === (settings.sipUrl ?? '') ? {} : { sipUrl: sipUrl || null }),
    });
  };

  return (
    <form className="settings" onSubmit={submit}>
      <fieldset className="card">
        <legend>Audio devices</legend>
        {!s.deviceNames && (
          <p className="muted small">
            The browser shows device names once the console may use the microphone.{' '}
            <button type="button" className="link-button" onClick={() => void c.settings.revealDeviceNames()}>
              Show device names
            </button>
          </p>
        )}
        {s.deviceError && <p className="form-error">{s.deviceError}</p>}
        <div className="settings-grid">
          <DeviceSelect
            label="Microphone"
            hint="Your headset microphone."
            value={microphoneId}
            devices={s.microphones}
            onChange={setMicrophone}
          />
          <DeviceSelect
            label="Speaker"
            hint="Where you hear the customer."
            value={speakerId}
            devices={s.speakers}
            onChange={setSpeaker}
          />
          <DeviceSelect
            label="Ringing device"
            hint="Where a colleague's call rings (a consult): often the computer's speaker, so you hear it without the headset."
            value={ringerId}
            devices={s.speakers}
            onChange={setRinger}
          />
          <DeviceSelect
            label="Offer sound"
            hint="Where the short sound of a new offer plays, apart from the ringer."
            value={offerSoundId}
            devices={s.speakers}
            onChange={setOfferSound}
          />
          <div className="field">
            <label htmlFor="offer-volume">Offer sound volume</label>
            <span className="volume">
              <input
                id="offer-volume"
                type="range"
                min={0}
                max={100}
                step={5}
                value={offerVolume}
                aria-valuetext={offerVolume === 0 ? 'Off' : `${offerVolume} percent`}
                aria-describedby="offer-volume-hint"
                onChange={(e) => setOfferVolume(Number(e.target.value))}
              />
              <button
                type="button"
                className="button"
                disabled={offerVolume === 0}
                onClick={() => void c.offerSound.play({ offerSoundId: offerSoundId || null, offerVolume })}
              >
                Play offer sound
              </button>
            </span>
            <span id="offer-volume-hint" className="muted small">
              {offerVolume === 0 ? 'Off: offers arrive without a sound.' : `${offerVolume} %`}
            </span>
          </div>
        </div>
        <AudioTest microphoneId={microphoneId || null} speakerId={speakerId || null} />
      </fieldset>
      <fieldset className="card">
        <legend>Calls</legend>
        <label className="check">
          <input type="checkbox" checked={autoDial} onChange={(e) => setAutoDial(e.target.checked)} />
          Call the customer as soon as I accept
        </label>
        <p className="muted small">
          The call starts when the customer’s phone is reachable (a phone woken by a notification is called
          once it is online); a callback dials its number. Never for a caller already on the phone line or a
          chat.
        </p>
      </fieldset>
      <fieldset className="card">
        <legend>Servers</legend>
        <div className="settings-grid">
          <Field
            label="Authority URL"
            hint={
              settings.managed.authorityUrl
                ? 'Set by your IT department (read-only).'
                : 'Where this console signs in.'
            }
          >
            <input
              type="url"
              value={authorityUrl}
              readOnly={settings.managed.authorityUrl}
              onChange={(e) => setAuthorityUrl(e.target.value)}
            />
          </Field>
          <Field
            label="SIP server (WebSocket)"
            hint={
              settings.managed.sipUrl ? 'Set by your IT department (read-only).' : 'Used by the softphone.'
            }
          >
            <input
              type="url"
              value={sipUrl}
              placeholder="wss://sip.example.com"
              readOnly={settings.managed.sipUrl}
              onChange={(e) => setSipUrl(e.target.value)}
            />
          </Field>
        </div>
      </fieldset>
      <div className="actions">
        <button type="submit" className="button primary" disabled={s.saving}>
          {s.saving ? 'Saving…' : 'Save settings'}
        </button>
        {s.saved && (
          <span role="status" className="tone-text-good">
            Saved
          </span>
        )}
      </div>
    </form>
  );
}
