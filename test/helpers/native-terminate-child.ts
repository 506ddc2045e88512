/**
 * Run by test/native-terminate.test.ts. `run <rounds>`: each round starts a worker thread that calls
 * the addon in a loop — its FMA peak loop, which returns a new object after ~50 ms of arithmetic,
 * as the search kernels return numbers and mapped files after theirs — and terminates the worker
 * while it is inside that call (as closing an index or destroying a pool terminates its scoring
 * workers). Prints one JSON line a round: {round, exitCode}. Before the addon was built with
 * NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS this process aborted here (exit 134, "terminate called
 * after throwing an instance of 'Napi::Error'").
 */
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { loadNativeKernels } from '../../src/kernels/native-loader.js';

if (!isMainThread) {
  const measure = loadNativeKernels().measurePeak;
  if (measure === undefined) throw new Error('the native addon did not load');
  parentPort!.postMessage('in');
  for (;;) measure(0.05);
} else if (process.argv[2] === 'run') {
  // `node --test` may run helper files: without "run" this one does nothing.
  const rounds = Number(process.argv[3]);
  for (let round = 0; round < rounds; round++) {
    const worker = new Worker(new URL(import.meta.url));
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    // Inside a call of ~50 ms most of the time: terminate at a moment that moves through it.
    await new Promise((r) => setTimeout(r, 5 + ((round * 7) % 45)));
    const exitCode = await worker.terminate();
    console.log(JSON.stringify({ round, exitCode }));
  }
}
