/**
 * Child process for the write-interrupt tests (test/write-commands-trial.test.ts): runs the plait
 * command line in-process with the given arguments, and tells the parent when to send its signal.
 * `node interrupt-child.js <hold> <release file> -- <plait args...>`:
 *  - prints `@@armed` on stderr once the command has installed its signal handlers (a signal before
 *    that would meet Node's default action, not plait's handler);
 *  - with `<hold>` = begin, prints `@@hold` when a transaction begins and then blocks its
 *    synchronous work (Atomics.wait, no event loop turn), as a large write would, until the parent
 *    has made `<release file>` once its signals are sent: they arrive during the transaction however
 *    slowly a loaded machine lets the parent react (a fixed 1.5 s hold raced it). `none`: no hold.
 * Without arguments it does nothing.
 */
import { existsSync, writeSync } from 'node:fs';
import { main } from '../../src/cli/main.js';
import { observeTransactions } from '../../src/format/index-transaction.js';

async function run(): Promise<void> {
  const [hold, release, dashes, ...args] = process.argv.slice(2);
  if (hold === undefined || release === undefined || dashes !== '--') return;
  if (hold === 'begin') {
    observeTransactions((e) => {
      if (e.phase !== 'begin') return;
      writeSync(2, '@@hold\n');
      const cell = new Int32Array(new SharedArrayBuffer(4));
      while (!existsSync(release)) Atomics.wait(cell, 0, 0, 5);
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
