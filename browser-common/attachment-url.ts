import { useEffect, useState } from 'react';

/**
 * A chat attachment's bytes as an object URL for the page (console and customer app):
 * `load` fetches them (through the console's bridge, or the SDK's route) when the
 * attachment is an image; `failed` when that did not work (or `fail()` said so: a PDF's
 * download on click). A URL that arrives after the component went away is ignored.
 */
export function useAttachmentUrl(
  attachmentId: string,
  isImage: boolean,
  load: (attachmentId: string) => Promise<string>,
): { url: string | null; failed: boolean; fail: () => void } {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!isImage) return;
    let live = true;
    load(attachmentId).then(
      (u) => live && setUrl(u),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [attachmentId, isImage, load]);
  return { url, failed, fail: () => setFailed(true) };
}

/**
 * Object URLs of chat attachments, each attachment's bytes loaded once for the page's life
 * (attachments never change); a load that failed is tried again the next time.
 */
export class AttachmentUrls {
  private readonly urls = new Map<string, Promise<string>>();

  get(requestId: string, attachmentId: string, load: () => Promise<Blob>): Promise<string> {
    const key = `${requestId}/${attachmentId}`;
    let url = this.urls.get(key);
    if (!url) {
      url = load().then((blob) => URL.createObjectURL(blob));
      url.catch(() => this.urls.delete(key));
      this.urls.set(key, url);
    }
    return url;
  }
}
