/**
 * The Content-Security-Policy of our web pages (the console in browser mode and in the
 * Electron shell, the customer app served by the authority): our own code only (no
 * inline script, no eval), network to our own origin plus the named `connect` sources
 * (the bridge, the authority, a SIP server), images and media from the camera's and
 * screenshots' blob:/data: URLs; never framed, no plugins, no <base>, no forms.
 */
export function webAppCsp(connect: string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    `connect-src 'self' ${connect.join(' ')}`.trim(),
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}
