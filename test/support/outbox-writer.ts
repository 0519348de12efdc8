/**
 * Child process for the outbox crash test. Mode "write": save wrap-ups in a loop and
 * print "saved <key>" after each save returned. Mode "deliver": send every pending
 * entry to the authority (real HTTP) and print "drained" when none is left.
 * argv: mode dataDir [authorityUrl username password requestId fence]
 */
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { StaffClient, memoryTokenStore } from '../../main/core/authority-client.ts';
import { openLocalDb } from '../../main/core/local-db.ts';
import { Outbox } from '../../main/core/outbox.ts';
import { deliverWrapUp } from '../../main/core/desk-core.ts';

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
  const client = new StaffClient(authorityUrl!, memoryTokenStore());
  await client.login(username!, password!);
  // The console's own sender: what this test proves is what the console does.
  const outbox = new Outbox(db, (e) => deliverWrapUp(client, e.payload));
  outbox.start();
  for (;;) {
    await outbox.drain();
    if (outbox.status().pending === 0) break;
    outbox.retryNow();
  }
  writeSync(1, 'drained\n');
  process.exit(0);
}
