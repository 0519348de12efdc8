import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../authority/src/config.ts';
import { startAuthority } from '../../authority/src/server.ts';

describe('authority configuration', () => {
  it('reads flags over env variables', () => {
    const c = loadConfig(
      [
        '--port',
        '9000',
        '--data-dir',
        '/tmp/x',
        '--origin',
        'http://localhost:9000',
        '--origin',
        'https://app.example.com',
      ],
      {
        VD_PORT: '1234',
        VD_SESSION_IDLE_SECONDS: '120',
      },
    );
    assert.equal(c.port, 9000);
    assert.equal(c.dataDir, '/tmp/x');
    assert.deepEqual(c.origins, ['http://localhost:9000', 'https://app.example.com']);
    assert.equal(c.sessionIdleSeconds, 120);
  });

  it('a database URL is a postgres:// URL; an unreachable one is an error, never a fall-back to SQLite', async () => {
    assert.equal(
      loadConfig(['--database-url', 'postgres://vd@127.0.0.1:5432/vd'], {}).databaseUrl,
      'postgres://vd@127.0.0.1:5432/vd',
    );
    assert.equal(loadConfig([], { VD_DATABASE_URL: 'postgresql://h/vd' }).databaseUrl, 'postgresql://h/vd');
    assert.throws(
      () => loadConfig([], { VD_DATABASE_URL: 'mysql://h/vd' }),
      (e: unknown) => e instanceof ConfigError && /databaseUrl: must be a postgres:\/\//.test(e.message),
    );
    // Never a silent fall-back to the SQLite file.
    const dir = mkdtempSync(join(tmpdir(), 'vd-config-'));
    try {
      const config = loadConfig(['--database-url', 'postgres://vd@127.0.0.1:1/vd', '--data-dir', dir], {
        VD_PIN_PEPPER: 'p'.repeat(32),
      });
      await assert.rejects(
        startAuthority(config, { logger: false }),
        (e: unknown) => (e as NodeJS.ErrnoException).code === 'ECONNREFUSED',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists every problem with a clear message', () => {
    try {
      loadConfig(['--port', 'abc'], {
        VD_PIN_PEPPER: 'short',
        VD_ORIGINS: 'https://app.example.com/path',
        VD_ARGON2_MEMORY_KIB: '1024',
      });
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      const m = (e as Error).message;
      assert.match(m, /port/);
      assert.match(m, /pinPepper: the PIN pepper must be at least 32 characters/);
      assert.match(m, /origins\.0: an origin has no path/);
      assert.match(m, /argon2MemoryKiB/);
    }
  });

  it('refuses unknown flags and an idle timeout longer than the absolute lifetime', () => {
    assert.throws(() => loadConfig(['--prot', '1'], {}), /bad command line/);
    assert.throws(
      () => loadConfig([], { VD_SESSION_IDLE_SECONDS: '7200', VD_SESSION_ABSOLUTE_SECONDS: '3600' }),
      /must not exceed/,
    );
  });

  it('chat transcripts: kept forever by default; chatRetentionDays from VD_CHAT_RETENTION_DAYS or --chat-retention-days (the flag wins); 0 or a fraction refused', () => {
    assert.equal(loadConfig([], {}).chatRetentionDays, undefined);
    assert.equal(loadConfig([], { VD_CHAT_RETENTION_DAYS: '365' }).chatRetentionDays, 365);
    assert.equal(
      loadConfig(['--chat-retention-days', '30'], { VD_CHAT_RETENTION_DAYS: '365' }).chatRetentionDays,
      30,
    );
    for (const bad of ['0', '1.5', 'forever'])
      assert.throws(() => loadConfig([], { VD_CHAT_RETENTION_DAYS: bad }), /chatRetentionDays/);
  });

  it('CLI exits 2 with the message on bad configuration', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'authority/src/cli.ts', '--port', '70000'], {
      cwd: new URL('../..', import.meta.url).pathname,
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid configuration:\n {2}- port/);
  });
});
