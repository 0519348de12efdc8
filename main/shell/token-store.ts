import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TokenStore } from '../core/authority-client.ts';
import type { ShellSafeStorage } from './electron-api.ts';

/**
 * The refresh token, encrypted with the OS keystore (safeStorage: DPAPI on
 * Windows, Keychain on macOS, libsecret/kwallet on Linux). Where only Electron's
 * "basic_text" fallback is available (a hard-coded key, i.e. plaintext in
 * disguise) the token is kept in memory only and the agent logs in again after a
 * restart: a readable token on disk would be worse than a login prompt.
 */
export function safeStorageTokenStore(
  safeStorage: ShellSafeStorage,
  file: string,
  platform: NodeJS.Platform = process.platform,
  log: (message: string) => void = () => undefined,
): TokenStore & { persistent(): boolean } {
  let cached: string | null | undefined;
  const persistent = () =>
    safeStorage.isEncryptionAvailable() &&
    (platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text');

  return {
    persistent,
    load() {
      if (cached !== undefined) return cached;
      cached = null;
      if (!persistent() || !existsSync(file)) return cached;
      try {
        cached = safeStorage.decryptString(readFileSync(file));
      } catch {
        // Written under another OS user or keyring: useless here, and not worth keeping.
        rmSync(file, { force: true });
        log('stored refresh token could not be decrypted; it was removed');
      }
      return cached;
    },
    save(token) {
      cached = token;
      if (token === null) {
        rmSync(file, { force: true });
        return;
      }
      if (!persistent()) {
        log('no OS keystore: the refresh token is kept in memory only');
        return;
      }
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, safeStorage.encryptString(token), { mode: 0o600 });
      renameSync(tmp, file);
    },
  };
}
