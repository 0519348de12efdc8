import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The PIN pepper: from configuration (VD_PIN_PEPPER) in production; otherwise read
 * from, or created once at, <dataDir>/secrets/pin-pepper (mode 0600), a file beside
 * the database, never inside it.
 */
export function resolvePepper(
  configured: string | undefined,
  dataDir: string,
): { pepper: string; source: string } {
  return resolveSecret(configured, dataDir, 'pin-pepper');
}

/** A secret from configuration, or read from (created once at) <dataDir>/secrets/<name>, mode 0600. */
export function resolveSecret(
  configured: string | undefined,
  dataDir: string,
  name: string,
): { pepper: string; source: string } {
  if (configured) return { pepper: configured, source: 'configuration' };
  const dir = join(dataDir, 'secrets');
  const file = join(dir, name);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${file}: the secret must be at least 32 characters`);
  return { pepper: secret, source: file };
}
