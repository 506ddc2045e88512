/**
 * Child process of test/cancel-crash-serve.test.ts: the real `plait serve` (the CLI's main, as
 * bin/plait.js runs it) with fs-op-counter.ts wrapped in before plait loads.
 *
 * `node serve-crash-child.js <killAt> <record> <serve args…>`: file operations are counted from the
 * `begin` of the served index's second write transaction (the first is the test's acknowledged
 * write; a write cancelled while encoding begins none) until it closes; the process kills itself
 * right after the `killAt`-th (-1: never). `commitStart` is printed when that write's commit starts
 * (the test cancels its request then), and with record 1 each counted operation (`op <n> <fn> <phase>`).
 * The server's own JSON log lines go to stdout as usual.
 */
import { countFsOps, say } from './fs-op-counter.js';

// Run only as a child with its arguments: without them it would serve on the default port until killed.
if (process.argv[2] === undefined) process.exit(0);

const [killAt, record, ...serveArgs] = process.argv.slice(2) as [string, string, ...string[]];
const counter = countFsOps(Number(killAt), record === '1');
const { observeTransactions } = await import('../../src/format/index-transaction.js');
let begun = 0;
observeTransactions((e) => {
  if (e.phase === 'begin' && ++begun === 2) counter.counting = true;
  if (!counter.counting) return;
  if (e.phase === 'commitStart') {
    counter.phase = 'commit';
    say('commitStart');
  }
  if (e.phase === 'committed') counter.phase = 'after';
  if (e.phase === 'closed') counter.counting = false;
});
const { main } = await import('../../src/cli/main.js');
await main([process.argv[0]!, 'plait', 'serve', ...serveArgs]);
