import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, type Clock } from '../../authority/src/clock.ts';
import { parseConfig, type ConfigInput } from '../../authority/src/config.ts';
import { startAuthority, type RunningAuthority } from '../../authority/src/server.ts';

export interface TestAuthority extends RunningAuthority {
  dataDir: string;
  clock: Clock;
  /** Stop and delete the data dir. */
  dispose(): Promise<void>;
}

export const TEST_PEPPER = 'test-pepper-0123456789abcdefghijklmnopqrstuvwxyz';

/** A real authority on 127.0.0.1 (random port) with a fresh SQLite file; demo data seeded. */
export async function startTestAuthority(
  overrides: Partial<ConfigInput> = {},
  opts: { clock?: Clock; dataDir?: string; keepData?: boolean } = {},
): Promise<TestAuthority> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'vd-authority-'));
  const config = parseConfig({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    pinPepper: TEST_PEPPER,
    demo: true,
    logLevel: 'silent',
    ...overrides,
  });
  const clock = opts.clock ?? { now: () => Date.now() };
  const running = await startAuthority(config, { clock, logger: false });
  return {
    ...running,
    dataDir,
    clock,
    async dispose() {
      await running.stop();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { FakeClock };
