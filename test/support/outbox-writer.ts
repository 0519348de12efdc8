/**
 * Child process for the outbox crash test. Mode "write": save wrap-ups in a loop and
 * print "saved <key>" after each save returned. Mode "deliver": send every pending
 * entry to the authority (real HTTP) and print "drained" when none is left.
 * argv: mode dataDir [authorityUrl username password requestId fence]
 */
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { AuthorityClient, memoryTokenStore } from '../../main/core/authority-client.ts';
import { openLocalDb } from '../../main/core/local-db.ts';
import { Outbox } from '../../main/core/outbox.ts';

const [mode, dataDir, authorityUrl, username, password, requestId, fence] = process.argv.slice(2);
const db = openLocalDb(join(dataDir!, 'console.sqlite'));

if (mode === 'write') {
  const outbox = new Outbox(db, async () => ({ kind: 'retry', error: 'not sending in this mode' }));
  for (let i = 0; ; i++) {
    const key = outbox.saveWrapUp({
      requestId: requestId!,
      fence: Number(fence),
      disposition: ['resolved', 'information-given'],
      notes: `note ${i} ${'x'.repeat(i % 200)}`,
    });
    writeSync(1, `saved ${key}\n`);
  }
} else {
  const client = new AuthorityClient(authorityUrl!, memoryTokenStore());
  await client.login(username!, password!);
  const outbox = new Outbox(
    db,
    async (e) => {
      const w = JSON.parse(e.payload);
      try {
        await client.call('wrapUp', {
          params: { requestId: w.requestId },
          body: {
            idempotencyKey: w.idempotencyKey,
            fence: w.fence,
            disposition: w.disposition,
            notes: w.notes,
          },
        });
        return { kind: 'ack' };
      } catch (err) {
        return { kind: 'retry', error: (err as Error).message };
      }
    },
    Date.now,
  );
  outbox.start();
  for (;;) {
    await outbox.drain();
    if (outbox.status().pending === 0) break;
    outbox.retryNow();
  }
  writeSync(1, 'drained\n');
  process.exit(0);
}
