import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore, type Tx } from '../../authority/src/store/engine.ts';
import { testEngines } from '../support/store.ts';

/**
 * SQLite's promise, checked in the system calls themselves: a unit's answer leaves only
 * after the WAL frames of its COMMIT are flushed to disk. strace (Debian's, installed by
 * scripts/install-test-deps.sh) follows every thread of this process while units run;
 * each unit writes a marker to a file of its own while it runs and another once its
 * promise resolved. Then, for every unit: the WAL frames of its COMMIT must be followed
 * by an fdatasync/fsync of the WAL that began after them and returned before its answer.
 */

const strace = spawnSync('strace', ['-V']).status === 0;
const skip = !testEngines().includes('sqlite')
  ? 'SQLite is not in VD_TEST_ENGINES'
  : !strace && 'strace is not installed (scripts/install-test-deps.sh installs it)';
const insertKey = (t: Tx, kid: string) =>
  t.insertInto('signing_keys').values({ kid, private_jwk: '{}', created_at: 1 }).execute();

/** This process's descriptors open on `path`. */
function fdsOf(path: string): Set<number> {
  const out = new Set<number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) out.add(Number(fd));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

interface Checked {
  answers: number;
  flushes: number;
}

/**
 * Parse strace -f output. Each unit writes `s<i>` while it runs (inside its batch, before
 * the COMMIT) and `u<i>` once its promise resolved. Its COMMIT is the first run of WAL
 * frame writes by the main thread after `s<i>`; by `u<i>` a flush of the WAL must have
 * begun after the last of those writes and returned.
 */
function check(lines: string[], walPath: string, wal: Set<number>, marker: number, main: number): Checked {
  const opening = new Map<number, string>(); // unfinished openat by thread
  const flushStarts: number[] = []; // start line of each completed WAL flush
  const started = new Map<number, { at: number; wal: boolean }>(); // unfinished flushes by thread
  const waiting = new Set<number>(); // units whose COMMIT has not been written yet
  const commitOf = new Map<number, number>(); // unit -> line of its COMMIT's last frame write
  let group: number[] | null = null; // units of the run of frame writes in progress
  let answers = 0;
  lines.forEach((line, i) => {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) return;
    const tid = Number(m[1]);
    const rest = m[2]!;
    let c: RegExpExecArray | null;
    // descriptors of the WAL opened under the trace (SQLite may open it again after a checkpoint)
    if ((c = /^openat\(\w+, "([^"]+)".*<unfinished \.\.\.>$/.exec(rest))) opening.set(tid, c[1]!);
    else if ((c = /^openat\(\w+, "([^"]+)".* = (\d+)$/.exec(rest)) && c[1] === walPath) wal.add(Number(c[2]));
    else if ((c = /^<\.\.\. openat resumed>.* = (\d+)$/.exec(rest)) && opening.get(tid) === walPath)
      wal.add(Number(c[1]));
    if ((c = /^pwrite64\((\d+),/.exec(rest)) && wal.has(Number(c[1]))) {
      if (group === null) {
        group = [...waiting];
        waiting.clear();
      }
      for (const u of group) commitOf.set(u, i);
      return;
    }
    if (tid === main) group = null; // anything else on the main thread ends the run
    if ((c = /^(fdatasync|fsync)\((\d+)/.exec(rest))) {
      const isWal = wal.has(Number(c[2]));
      if (/<unfinished \.\.\.>$/.test(rest)) started.set(tid, { at: i, wal: isWal });
      else if (isWal && / = 0$/.test(rest)) {
        flushStarts.push(i);
      }
    } else if (/^<\.\.\. (fdatasync|fsync) resumed>.* = 0$/.test(rest)) {
      const s = started.get(tid);
      started.delete(tid);
      if (s?.wal) {
        flushStarts.push(s.at);
      }
    } else if ((c = /^write\((\d+), "s(\d+)\\n"/.exec(rest)) && Number(c[1]) === marker) {
      waiting.add(Number(c[2]));
    } else if ((c = /^write\((\d+), "u(\d+)\\n"/.exec(rest)) && Number(c[1]) === marker) {
      answers++;
      const unit = Number(c[2]);
      const committed = commitOf.get(unit);
      assert.ok(
        committed !== undefined,
        `unit ${unit} answered (strace line ${i + 1}) before its COMMIT was written`,
      );
      assert.ok(
        flushStarts.some((at) => at > committed),
        `unit ${unit} answered (strace line ${i + 1}) before its WAL frames (line ${committed + 1}) were flushed`,
      );
    }
  });
  return { answers, flushes: flushStarts.length };
}

describe('store durability on SQLite (system calls, strace)', { skip }, () => {
  it("every unit's answer follows the flush of its WAL frames, alone and in batches", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-durable-'));
    const file = join(dir, 'authority.sqlite');
    // batches of 8 at most: 60 units at once make several batches, units queued behind a commit
    const store = await openStore({ engine: 'sqlite', file }, { maxBatchUnits: 8 });
    const markerFd = openSync(join(dir, 'answers'), 'w');
    const out = join(dir, 'strace.txt');
    try {
      await store.tx((t) => insertKey(t, 'warm-up'));
      const wal = fdsOf(`${file}-wal`);
      assert.ok(wal.size >= 1, "the writer's descriptor of the WAL");
      const tracer = spawn(
        'strace',
        [
          '-f',
          '-qq',
          '-e',
          'trace=pwrite64,fdatasync,fsync,write,openat',
          '-e',
          'signal=none',
          '-o',
          out,
          '-p',
          String(process.pid),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let err = '';
      tracer.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      // attached once this process's own writes show up in the trace
      const t0 = Date.now();
      for (;;) {
        writeSync(markerFd, 'p');
        let text = '';
        try {
          text = readFileSync(out, 'utf8');
        } catch {
          // not created yet
        }
        if (text.includes(`write(${markerFd}, "p"`)) break;
        if (tracer.exitCode !== null || Date.now() - t0 > 10_000)
          assert.fail(`strace did not attach: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const unit = (i: number) =>
        store
          .tx(async (t) => {
            writeSync(markerFd, `s${i}\n`);
            await insertKey(t, `k-${i}`);
          })
          .then(() => writeSync(markerFd, `u${i}\n`));
      // one at a time (a commit and a flush each), then 60 at once (batches of 8, a flush each)
      for (let i = 0; i < 20; i++) await unit(i);
      await Promise.all(Array.from({ length: 60 }, (_, i) => unit(100 + i)));
      tracer.kill('SIGINT');
      await once(tracer, 'exit');
      const lines = readFileSync(out, 'utf8').split('\n');
      const r = check(lines, `${file}-wal`, wal, markerFd, process.pid);
      assert.equal(r.answers, 80, 'every unit answered under the trace');
      assert.ok(r.flushes >= 20, `at least one flush per unit run alone: ${r.flushes}`);
      assert.ok(r.flushes < 80, `units at once share flushes: ${r.flushes} for 80 units`);
    } finally {
      closeSync(markerFd);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
