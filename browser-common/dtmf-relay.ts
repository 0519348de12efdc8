/**
 * DTMF in SIP INFO bodies (application/dtmf-relay, the de-facto format):
 *
 *   Signal=5
 *   Duration=120
 *
 * One key per INFO. The console sends it (DTMF method "SIP INFO"); the customer
 * phone reads it and shows the key the agent pressed.
 */

export const DTMF_RELAY_TYPE = 'application/dtmf-relay';

/** The keys of a telephone keypad (and the four of the military keypad). */
export const DTMF_KEY = /^[0-9A-D#*]$/;

/** Default tone length announced in the body, ms. */
export const DTMF_RELAY_DURATION_MS = 120;

/** The body of one key: `Signal=<key>` and `Duration=<ms>`, CRLF-terminated lines. */
export function formatDtmfRelay(key: string, durationMs = DTMF_RELAY_DURATION_MS): string {
  if (!DTMF_KEY.test(key)) throw new RangeError(`not a DTMF key: ${JSON.stringify(key)}`);
  if (!Number.isInteger(durationMs) || durationMs <= 0)
    throw new RangeError(`invalid DTMF duration ${durationMs}`);
  return `Signal=${key}\r\nDuration=${durationMs}\r\n`;
}

/**
 * The key of an INFO, or null when it is not one: the Content-Type must be
 * application/dtmf-relay (parameters allowed) and the body must have exactly one
 * `Signal=` line naming one key (letters in either case; returned upper case).
 * Other lines (Duration) are allowed and ignored.
 */
export function parseDtmfRelay(contentType: string | undefined, body: string | undefined): string | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== DTMF_RELAY_TYPE || !body) return null;
  const signals = body
    .split(/\r?\n/)
    .map((line) => /^\s*signal\s*=\s*(\S*)\s*$/i.exec(line)?.[1])
    .filter((v): v is string => v !== undefined);
  if (signals.length !== 1) return null;
  const key = signals[0]!.toUpperCase();
  return DTMF_KEY.test(key) ? key : null;
}
