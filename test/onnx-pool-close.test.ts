/**
 * Closing the pools that run onnxruntime graphs (src/util/onnx-pool.ts): a close waits for the
 * running task and cancels the queued ones, so an encoder (or a server, or an index) closed while a
 * graph runs on a worker no longer takes the process down with SIGABRT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeOnnxPool, onnxPool } from '../src/util/onnx-pool.js';

const child = fileURLToPath(new URL('./helpers/pool-close-child.js', import.meta.url));

test('close awaits the running task, cancels the queued one, then stops the workers', async () => {
  const pool = onnxPool(new URL('./helpers/pool-close-child.js', import.meta.url).href, 1);
  // Each task blocks its worker until let go (helpers/pool-close-child.ts): the test waits for the
  // first to run instead of sleeping 100 ms (a loaded machine could start the worker later than that).
  const state = new SharedArrayBuffer(4);
  const cell = new Int32Array(state);
  const running = pool.run(state);
  const queued = pool.run(new SharedArrayBuffer(4));
  const settled = queued.then(
    () => 'resolved',
    (e: Error) => e.name,
  );
  while (Atomics.load(cell, 0) === 0) await new Promise((r) => setTimeout(r, 5)); // until the first task blocks its worker
  let closed = false;
  const closing = closeOnnxPool(pool).then(() => (closed = true));
  // However late this timer fires, a close that waits cannot have returned: the task still blocks.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(closed, false, 'close does not return while a task runs');
  Atomics.store(cell, 0, 2);
  Atomics.notify(cell, 0);
  await closing;
  assert.equal(await running, 'done', 'the running task finished: its worker was not terminated under it');
  assert.equal(await settled, 'AbortError', 'the queued task was cancelled, not run');
  assert.equal(pool.threads.length, 0, 'no worker is left');
});

test('an encoder closed in the middle of an encode: the process lives, the encode ends cleanly', () => {
  const delays = [5, 30, 80, 200];
  const r = spawnSync(process.execPath, [child, 'run', 'encoder', ...delays.map(String)], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.signal, null, `the child died by ${r.signal}: ${r.stderr.slice(-400)}`);
  assert.equal(r.status, 0, r.stderr.slice(-400));
  assert.doesNotMatch(r.stderr, /terminate called/);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { delayMs: number; outcome: string });
  assert.deepEqual(lines.map((l) => l.delayMs), delays);
  for (const l of lines) assert.ok(l.outcome === 'resolved' || l.outcome === 'ABORTED', `delay ${l.delayMs}: ${l.outcome}`);
  assert.ok(lines.some((l) => l.outcome === 'ABORTED'), 'at least one close came while batches were still queued');
});

test('an ONNX pool records no run or wait times (plait reads none; its two native histograms were most of what a pool held)', async () => {
  const pool = onnxPool(new URL('./helpers/pool-close-child.js', import.meta.url).href, 1);
  try {
    // The task blocks its worker until let go (helpers/pool-close-child.ts): let it go once it runs.
    const state = new SharedArrayBuffer(4);
    const cell = new Int32Array(state);
    const ran = pool.run(state);
    while (Atomics.load(cell, 0) === 0) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(cell, 0, 2);
    Atomics.notify(cell, 0);
    assert.equal(await ran, 'done');
    assert.equal(pool.histogram.runTime, undefined, 'no run-time histogram');
    assert.equal(pool.histogram.waitTime, undefined, 'no wait-time histogram');
  } finally {
    await closeOnnxPool(pool);
  }
});

test('a closed ONNX pool is released at once: collectable by the next gc, not held for piscina\'s closeTimeout (120 s)', () => {
  // piscina 5.3.2's close() raced an uncancelled timers/promises timer of closeTimeout whose promise
  // chain held the pool: a WeakRef to a closed pool survived every gc() for two minutes. 20 rounds
  // of gc() ~10 ms apart (≈ 0.2 s) is 600× short of that, and a released pool goes in the first.
  const r = spawnSync(process.execPath, ['--expose-gc', child, 'run', 'collect'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr.slice(-400));
  const out = JSON.parse(r.stdout.trim()) as { collected: boolean; gcRounds: number };
  assert.equal(out.collected, true, `the closed pool was still reachable after ${out.gcRounds} rounds of gc()`);
});

