import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TokenStore } from '../core/authority-client.ts';
import type { ShellSafeStorage } from './electron-api.ts';

export interface SafeStorageTokenStore extends TokenStore {
  /** Whether tokens reach the disk (a real OS keystore is there). */
  persistent(): boolean;
  /** Resolves once every save so far is on disk (or superseded). */
  flushed(): Promise<void>;
}

/**
 * The refresh token, encrypted with the OS keystore (safeStorage: DPAPI on
 * Windows, Keychain on macOS, libsecret/kwallet on Linux). Where only Electron's
 * "basic_text" fallback is available (a hard-coded key, i.e. plaintext in
 * disguise) the token is kept in memory only and the agent logs in again after a
 * restart: a readable token on disk would be worse than a login prompt.
 *
 * safeStorage's API is asynchronous, DeskCore's TokenStore is not: the file is
 * decrypted here, before DeskCore starts (after the app is ready); `load` answers
 * from memory; `save` updates memory at once, removes the old file at once, and
 * writes the new one when it is encrypted. A quit or crash in between leaves no
 * token (a login prompt), never the rotated-out one (the authority would take its
 * reuse for a theft and revoke the family).
 */
export async function openSafeStorageTokenStore(
  safeStorage: ShellSafeStorage,
  file: string,
  platform: NodeJS.Platform = process.platform,
  log: (message: string) => void = () => undefined,
): Promise<SafeStorageTokenStore> {
  const available = await safeStorage.isAsyncEncryptionAvailable().catch(() => false);
  const persistent =
    available && (platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text');
  let cached: string | null = null;
  let queue: Promise<void> = Promise.resolve();

  const write = async (): Promise<void> => {
    const token = cached;
    if (token === null) return;
    const encrypted = await safeStorage.encryptStringAsync(token);
    if (cached !== token) return; // superseded: a later save writes or removes it
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, encrypted, { mode: 0o600 });
    renameSync(tmp, file);
  };
  const enqueueWrite = () => {
    queue = queue
      .then(write)
      .catch((e: unknown) => log(`the refresh token could not be stored: ${(e as Error).message}`));
  };

  if (persistent && existsSync(file)) {
    try {
      const { result, shouldReEncrypt } = await safeStorage.decryptStringAsync(readFileSync(file));
      cached = result;
      if (shouldReEncrypt) enqueueWrite();
    } catch {
      // Written under another OS user or keyring: useless here, and not worth keeping.
      rmSync(file, { force: true });
      log('stored refresh token could not be decrypted; it was removed');
    }
  }

  return {
    persistent: () => persistent,
    flushed: () => queue,
    load: () => cached,
    save(token) {
      cached = token;
      rmSync(file, { force: true });
      if (token === null) return;
      if (!persistent) {
        log('no OS keystore: the refresh token is kept in memory only');
        return;
      }
      enqueueWrite();
    },
  };
}
