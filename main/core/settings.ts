import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConsoleSettings, DEFAULT_OFFER_VOLUME, HttpUrl } from '../../protocol/src/index.ts';
import { frameableOrigin } from './console-csp.ts';
import type { LocalDb } from './local-db.ts';

/** IT's managed configuration: it fixes these settings; the console shows them read-only. */
export const ManagedConfig = z.strictObject({
  authorityUrl: HttpUrl.optional(),
  sipUrl: z.url({ protocol: /^wss?$/ }).optional(),
  /**
   * CRM origins the side panel may show (a queue's screen pop set to open there): the
   * console's frame-src and the Electron shell's frame navigation allow these alone.
   */
  screenPopOrigins: z
    .array(
      z
        .string()
        .refine(
          (o) => frameableOrigin(o) !== null,
          'a bare https origin such as https://crm.example (http only on 127.0.0.1 or localhost)',
        )
        .transform((o) => frameableOrigin(o)!),
    )
    .max(20)
    .optional(),
});
export type ManagedConfig = z.infer<typeof ManagedConfig>;

/** Where IT puts the managed configuration on each OS (VD_MANAGED_CONFIG overrides it). */
export function managedConfigPath(platform = process.platform, env = process.env): string {
  if (env.VD_MANAGED_CONFIG) return env.VD_MANAGED_CONFIG;
  if (platform === 'win32') return join(env.ProgramData ?? 'C:\\ProgramData', 'VerifiedDesk', 'managed.json');
  if (platform === 'darwin') return '/Library/Application Support/VerifiedDesk/managed.json';
  return '/etc/verified-desk/managed.json';
}

/** Read and validate the managed file; a broken file is an error, not a silent default. */
export function readManagedConfig(path = managedConfigPath()): ManagedConfig {
  if (!existsSync(path)) return {};
  const r = ManagedConfig.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!r.success)
    throw new Error(
      `managed configuration ${path} is invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

export const defaultDataDir = (): string =>
  process.env.VD_CONSOLE_DATA_DIR ?? join(homedir(), '.verified-desk');

/** A setting IT fixed in the managed configuration cannot be changed from the console. */
export class ManagedSettingError extends Error {}

/** Settings in the local store, with the managed values on top. */
export class Settings {
  constructor(
    private readonly db: LocalDb,
    private readonly managed: ManagedConfig,
    private readonly defaults: { authorityUrl: string; sipUrl: string | null },
  ) {}

  get(): ConsoleSettings {
    const rows = new Map(
      this.db
        .prepare<[], { key: string; value: string }>('SELECT key, value FROM settings')
        .all()
        .map((r) => [r.key, JSON.parse(r.value)]),
    );
    return ConsoleSettings.parse({
      authorityUrl: this.managed.authorityUrl ?? rows.get('authorityUrl') ?? this.defaults.authorityUrl,
      sipUrl: this.managed.sipUrl ?? rows.get('sipUrl') ?? this.defaults.sipUrl,
      microphoneId: rows.get('microphoneId') ?? null,
      speakerId: rows.get('speakerId') ?? null,
      ringerId: rows.get('ringerId') ?? null,
      autoDial: rows.get('autoDial') ?? false,
      offerSoundId: rows.get('offerSoundId') ?? null,
      offerVolume: rows.get('offerVolume') ?? DEFAULT_OFFER_VOLUME,
      managed: { authorityUrl: !!this.managed.authorityUrl, sipUrl: !!this.managed.sipUrl },
    });
  }

  set(patch: Partial<Omit<ConsoleSettings, 'managed'>>): ConsoleSettings {
    const put = this.db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) continue;
        if ((k === 'authorityUrl' && this.managed.authorityUrl) || (k === 'sipUrl' && this.managed.sipUrl))
          throw new ManagedSettingError(`${k} is fixed by the managed configuration`);
        put.run(k, JSON.stringify(v));
      }
    })();
    return this.get();
  }
}
