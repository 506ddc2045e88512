/**
 * Child process for the write-interrupt tests (test/write-commands-trial.test.ts): runs the plait
 * command line in-process with the given arguments, and tells the parent when to send its signal.
 * `node interrupt-child.js <hold> <holdMs> -- <plait args...>`:
 *  - prints `@@armed` on stderr once the command has installed its signal handlers (a signal before
 *    that would meet Node's default action, not plait's handler);
 *  - with `<hold>` = begin, prints `@@hold` when a transaction begins and then blocks its
 *    synchronous work for `<holdMs>` ms (Atomics.wait), as a large write would: a signal sent then
 *    arrives during the transaction. `none`: no hold.
 * Without arguments it does nothing.
 */
import { writeSync } from 'node:fs';
import { main } from '../../src/cli/main.js';
import { observeTransactions } from '../../src/format/index-transaction.js';

async function run(): Promise<void> {
  const [hold, holdMs, dashes, ...args] = process.argv.slice(2);
  if (hold === undefined || dashes !== '--') return;
  if (hold === 'begin') {
    observeTransactions((e) => {
      if (e.phase !== 'begin') return;
      writeSync(2, '@@hold\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(holdMs));
    });
  }
  const armed = setInterval(() => {
    if (process.listenerCount('SIGINT') > 0) {
      writeSync(2, '@@armed\n');
      clearInterval(armed);
    }
  }, 2);
  try {
    await main([process.argv[0]!, 'plait', ...args]);
  } finally {
    clearInterval(armed);
  }
}

await run();
