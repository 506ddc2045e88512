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
 * File operations are counted by wrapping node:fs's synchronous calls before plait is imported
 * (module.syncBuiltinESMExports makes the ESM named imports see the wrappers): the index
 * transaction's create / write / fsync / rename / unlink all go through them. A kill is
 * process.kill(process.pid, 'SIGKILL') after the operation returned: a crash between two operations.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [path, mode, killAtArg, recordArg] = process.argv.slice(2) as [string, 'encoding' | 'encoding-ack' | 'commit', string, string];
const killAt = Number(killAtArg);
const record = recordArg === '1';
/** Documents in the large write: three encoder batches of one passage each. */
const BIG = 80;

let counting = false;
let ops = 0;
let phase = 'write';
const writeSync = fs.writeSync; // the real one: the child's own lines are not the index's operations
const say = (line: string): void => {
  writeSync(1, `${line}\n`); // synchronous: on the pipe before a kill that follows
};
const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
};

type Fn = (...args: never[]) => unknown;
for (const name of ['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync', 'rmSync', 'unlinkSync', 'copyFileSync', 'writeFileSync', 'ftruncateSync'] as const) {
  const real = fs[name] as unknown as Fn;
  (fs as unknown as Record<string, Fn>)[name] = (...args: never[]) => {
    const out = real(...args);
    if (counting) {
      ops++;
      if (record) say(`op ${ops} ${name} ${phase}`);
      if (ops === killAt) die();
    }
    return out;
  };
}
syncBuiltinESMExports();

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
    if (e.phase === 'begin') counting = true;
    if (e.phase === 'commitStart') {
      phase = 'commit';
      controller.abort();
    }
    if (e.phase === 'committed') phase = 'after';
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
  counting = false;
  say(`committed ${r.added}`);
} catch (e) {
  counting = false;
  say(`aborted ${isPlaitError(e) ? e.code : String(e)}`);
  if (mode === 'encoding-ack') {
    await index.add([{ docId: 'ack-2', title: '', text: 'a second note about kites' }]);
    say('ack ack-2');
    die();
  }
}
await index.close();
