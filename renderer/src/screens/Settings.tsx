import { useState, type FormEvent } from 'react';
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
