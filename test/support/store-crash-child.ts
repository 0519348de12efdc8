/**
 * Child process of the store's crash test: `node --import tsx store-crash-child.ts '<target JSON>' <workers>`.
 * Writes signing_keys rows through store.tx from <workers> concurrent loops and prints
 * `ack <kid>` only after a unit's promise resolved, until it is killed (or, bounded, after
 * 60 s or when its parent's stdout pipe closes).
 */
import { openStore, type StoreTarget } from '../../authority/src/store/engine.ts';

const target = JSON.parse(process.argv[2]!) as StoreTarget;
const workers = Number(process.argv[3] ?? 8);
const store = await openStore(target);
process.stdout.write('ready\n');
process.stdout.on('error', () => process.exit(0));
setTimeout(() => process.exit(0), 60_000).unref();
let n = 0;
await Promise.all(
  Array.from({ length: workers }, async () => {
    for (;;) {
      const kid = `k${n++}`;
      await store.tx((t) =>
        t.insertInto('signing_keys').values({ kid, private_jwk: '{}', created_at: Date.now() }).execute(),
      );
      process.stdout.write(`ack ${kid}\n`);
    }
  }),
);
