/**
 * Run by test/onnx-pool-close.test.ts. `run encoder <delay ms>…`: the bundled encoder on one worker
 * thread, warmed by one text, then for each delay a 48-document encode closed that long after it
 * started (a new encoder each time): the worker is in the middle of an onnxruntime run for most
 * delays. Prints one JSON line a delay: {delayMs, outcome: 'resolved' | <error code>}.
 * `run collect` (under --expose-gc): an ONNX pool runs one task, one more is queued, the pool is
 * closed and let go; prints {collected, gcRounds}: whether a WeakRef to it was cleared within 20
 * rounds of gc() (piscina 5.3.2's own close kept a pool reachable for its 120 s closeTimeout). Before
 * closeOnnxPool the process died here with SIGABRT. The default export (a piscina worker task): blocks
 * its thread, as a graph run does, until the test lets it go, and returns 'done'.
 */
import { createEncoder, resolveModelSpec } from '../../src/index.js';
import { isPlaitError } from '../../src/errors/index.js';
import { closeOnnxPool, onnxPool } from '../../src/util/onnx-pool.js';

/**
 * A piscina task: blocks the worker's thread (no event loop turn, as onnxruntime's run) until the
 * test lets it go. `state` is one Int32 shared with the test: the task sets it to 1 (and notifies)
 * once it runs, then blocks while it stays 1; the test sets 2 to let it return 'done'.
 */
export default function block(state: SharedArrayBuffer): string {
  const cell = new Int32Array(state);
  Atomics.store(cell, 0, 1);
  Atomics.notify(cell, 0);
  Atomics.wait(cell, 0, 1);
  return 'done';
}

// `node --test dist/test/` also runs helper files: without "run" this one does nothing.
if (process.argv[2] === 'run' && process.argv[3] === 'collect') {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run collect needs --expose-gc');
  const ref = await (async () => {
    const pool = onnxPool(import.meta.url, 1);
    const state = new SharedArrayBuffer(4);
    const cell = new Int32Array(state);
    const ran = pool.run(state);
    const queued = pool.run(new SharedArrayBuffer(4)).catch((e: Error) => e.name);
    while (Atomics.load(cell, 0) === 0) await new Promise((r) => setTimeout(r, 5));
    const closing = closeOnnxPool(pool);
    Atomics.store(cell, 0, 2);
    Atomics.notify(cell, 0);
    await closing;
    if ((await ran) !== 'done' || (await queued) !== 'AbortError') throw new Error('the close did not run the first task and cancel the second');
    return new WeakRef(pool);
  })();
  // A WeakRef is cleared only after the job that last read it ends: one macrotask between rounds.
  let rounds = 0;
  while (ref.deref() !== undefined && rounds < 20) {
    await new Promise((r) => setTimeout(r, 10));
    gc();
    rounds++;
  }
  console.log(JSON.stringify({ collected: ref.deref() === undefined, gcRounds: rounds }));
}
if (process.argv[2] === 'run' && process.argv[3] === 'encoder') {
  const spec = await resolveModelSpec(undefined);
  const words = 'a passage long enough that each batch of the bundled model runs for a while on one thread'.split(' ');
  const texts = Array.from({ length: 48 }, (_, i) => Array.from({ length: 120 }, (_, j) => words[(i + j) % words.length]).join(' '));
  for (const delay of process.argv.slice(4).map(Number)) {
    const encoder = await createEncoder(spec, { threads: 1 });
    await encoder.encodeDocuments(['warm the worker: its session is loaded before the timed encode']);
    const encoding = encoder.encodeDocuments(texts).then(
      () => 'resolved',
      (e: unknown) => (isPlaitError(e) ? e.code : `not a PlaitError: ${String(e)}`),
    );
    await new Promise((r) => setTimeout(r, delay));
    await encoder.close();
    console.log(JSON.stringify({ delayMs: delay, outcome: await encoding }));
  }
}
