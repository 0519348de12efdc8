import { useEffect, useRef, useState } from 'react';
import { Camera } from '../../../sdk/index.ts';
import { Button, ErrorText } from './ui.tsx';

/** Front camera preview -> "Take photo" -> review -> the JPEG goes to `onUse`. */
export function PhotoCapture(props: {
  useLabel: string;
  busy: string | null;
  onUse: (photo: Blob) => void;
  facing?: 'user' | 'environment';
}) {
  const video = useRef<HTMLVideoElement>(null);
  const camera = useRef<Camera | null>(null);
  const [state, setState] = useState<'idle' | 'starting' | 'live' | 'taken'>('idle');
  const [photo, setPhoto] = useState<{ blob: Blob; url: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(
    () => () => {
      camera.current?.stop();
    },
    [],
  );
  useEffect(() => () => (photo ? URL.revokeObjectURL(photo.url) : undefined), [photo]);

  const start = async () => {
    setError(null);
    setState('starting');
    try {
      camera.current = await Camera.open(video.current!, props.facing);
      setState('live');
    } catch (e) {
      setState('idle');
      setError(`The camera could not start: ${(e as Error).message}`);
    }
  };
  const take = async () => {
    const blob = await camera.current!.capture();
    camera.current!.stop();
    camera.current = null;
    setPhoto({ blob, url: URL.createObjectURL(blob) });
    setState('taken');
  };
  const retake = () => {
    setPhoto(null);
    void start();
  };

  return (
    <div className="photo">
      <div className="photo-frame">
        <video
          ref={video}
          className={state === 'live' || state === 'starting' ? '' : 'hidden'}
          aria-label="Camera preview"
        />
        {photo ? <img src={photo.url} alt="Your photo" /> : null}
        {state === 'idle' ? <p className="photo-placeholder">The camera is off</p> : null}
      </div>
      <ErrorText message={error} />
      <div className="actions">
        {state === 'idle' ? <Button onClick={() => void start()}>Start camera</Button> : null}
        {state === 'starting' ? <Button busy busyLabel="Starting camera…" /> : null}
        {state === 'live' ? <Button onClick={() => void take()}>Take photo</Button> : null}
        {state === 'taken' && photo ? (
          <>
            <Button busy={props.busy !== null} busyLabel={props.busy} onClick={() => props.onUse(photo.blob)}>
              {props.useLabel}
            </Button>
            <Button variant="secondary" onClick={retake} disabled={props.busy !== null}>
              Retake
            </Button>
          </>
        ) : null}
      </div>
    </div>
  );
}
