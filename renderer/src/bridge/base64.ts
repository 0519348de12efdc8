/**
 * Files cross the bridge as base64 (its frames are JSON): the page encodes what it sends
 * and turns what it receives into a Blob for an object URL (the console's CSP allows
 * blob: media and images, not data:).
 */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** The bytes of base64 `data` as a Blob of `type`. */
export function blobOfBase64(data: string, type: string): Blob {
  return new Blob([Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0))], { type });
}
