/**
 * The camera for enrolment and verification photos (front by default): getUserMedia -> <video>
 * preview -> canvas -> JPEG Blob, scaled down so it stays well under the
 * authority's photo limit.
 */
export class Camera {
  private constructor(
    private readonly stream: MediaStream,
    readonly video: HTMLVideoElement,
  ) {}

  /** Start a camera into `video` (muted, inline, playing): the front one unless `facing` says 'environment'. */
  static async open(video: HTMLVideoElement, facing: 'user' | 'environment' = 'user'): Promise<Camera> {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: facing, width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false,
    });
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    await video.play();
    if (video.videoWidth === 0)
      await new Promise<void>((resolve) =>
        video.addEventListener('loadedmetadata', () => resolve(), { once: true }),
      );
    return new Camera(stream, video);
  }

  /** The current frame as a JPEG, the longer side at most `maxSide` pixels. */
  capture(maxSide = 640, quality = 0.85): Promise<Blob> {
    return frameToJpeg(this.video, maxSide, quality);
  }

  stop(): void {
    for (const t of this.stream.getTracks()) t.stop();
    this.video.srcObject = null;
  }
}

export function frameToJpeg(video: HTMLVideoElement, maxSide = 640, quality = 0.85): Promise<Blob> {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) return Promise.reject(new Error('the camera has no picture yet'));
  const scale = Math.min(1, maxSide / Math.max(w, h));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) return Promise.reject(new Error('no 2D canvas'));
  ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('JPEG encoding failed'))), 'image/jpeg', quality),
  );
}
