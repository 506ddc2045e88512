/**
 * Child process of test/cancel-crash.test.ts: a library writer whose large write is cancelled
 * (AbortSignal) and which is then SIGKILLed, at a chosen point.
 *
 * `node cancel-crash-child.js <index> <mode> <killAt> <record>`:
 *  - every run first adds `ack-1` and prints `ack ack-1` once `add` resolved (an acknowledged write);
 *  - then a large write of BIG documents (`big-<i>`), with an AbortController:
 *    - `encoding`: aborted once the encoder has finished its first batch of it, and the process
 *      kills itself at once (the cancelled write may still be stopping);
 *    - `encoding-ack`: aborted the same way; once `add` rejected (`aborted <code>`), `ack-2` is added
 *      and acknowledged, then the process kills itself;
 *    - `commit`: aborted when the write's commit starts (observeTransactions' commitStart: the
 *      cancellation arrives during the commit); the process kills itself right after the
 *      `killAt`-th file operation of the write's transaction (counted from its `begin`), or, with
 *      killAt -1, lets it finish (`committed <added>` if add resolved).
 *  With record 1 each file operation of the write's transaction is printed (`op <n> <fn> <phase>`),
 *  so the parent can pick kill points from a dry run.
 *
 * File operations are counted by fs-op-counter.ts (node:fs's synchronous calls, wrapped before plait
 * is imported); a kill is a SIGKILL right after the operation returned: a crash between two operations.
 */
import { countFsOps, die, say } from './fs-op-counter.js';

// `node --test dist/test/` also runs helper files: without an index argument this one does nothing.
if (process.argv[2] === undefined) process.exit(0);

const [path, mode, killAtArg, recordArg] = process.argv.slice(2) as [string, 'encoding' | 'encoding-ack' | 'commit', string, string];
/** Documents in the large write: three encoder batches of one passage each. */
const BIG = 80;
const counter = countFsOps(Number(killAtArg), recordArg === '1');

const { openIndex, observeTransactions, isPlaitError } = await import('../../src/index.js');
const index = await openIndex(path, { workers: 0, encoderOptions: { threads: 0 } });
const encoder = await index.encoder();
const WORDS = 'glaciers carve valleys while rivers braid across outwash plains and moraines hold the lakes they leave behind'.split(' ');
const text = (i: number): string => Array.from({ length: 40 }, (_, j) => WORDS[(i + j) % WORDS.length]).join(' ');

await index.add([{ docId: 'ack-1', title: '', text: 'a short note about kites' }]);
say('ack ack-1');

const controller = new AbortController();
const docs = Array.from({ length: BIG }, (_, i) => ({ docId: `big-${i}`, title: '', text: text(i) }));
if (mode === 'commit') {
  observeTransactions((e) => {
    if (e.phase === 'begin') counter.counting = true;
    if (e.phase === 'commitStart') {
      counter.phase = 'commit';
      controller.abort();
    }
    if (e.phase === 'committed') counter.phase = 'after';
  });
} else {
  const from = encoder.encodedTexts!.document;
  const poll = setInterval(() => {
    if (encoder.encodedTexts!.document <= from) return;
    clearInterval(poll);
    controller.abort();
    if (mode === 'encoding') die();
  }, 1);
}
say(`ready ${BIG}`);
try {
  const r = await index.add(docs, { signal: controller.signal });
  counter.counting = false;
  say(`committed ${r.added}`);
} catch (e) {
  counter.counting = false;
  say(`aborted ${isPlaitError(e) ? e.code : String(e)}`);
  if (mode === 'encoding-ack') {
    await index.add([{ docId: 'ack-2', title: '', text: 'a second note about kites' }]);
    say('ack ack-2');
    die();
  }
}
await index.close();
