/**
 * The native addon inside worker_threads: it loads in several workers at once (context-aware, no
 * shared JavaScript state) and gives the same MaxSim as the main thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { nativeKernels } from '../src/kernels/index.js';
import { needsNative, requireNative } from './helpers/requirements.js';

const native = nativeKernels();
const KERNELS_URL = new URL('../src/kernels/index.js', import.meta.url).href;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.url).then((m) => {
  const k = m.nativeKernels();
  if (!k) throw new Error('native kernels did not load in the worker');
  const { q, qLen, dim, docs, starts, lens } = workerData;
  const out = new Float32Array(lens.length);
  k.maxsim(q, qLen, dim, docs, starts, lens, lens.length, out);
  parentPort.postMessage({ name: k.name, out });
});
`;

function runWorker(data: object): Promise<{ name: string; out: Float32Array }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: data });
    w.once('message', (m: { name: string; out: Float32Array }) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

test('native kernels in worker threads match the main thread', { skip: needsNative() }, async () => {
  const native = requireNative();
  const dim = 128;
  const qLen = 32;
  const lens = new Int32Array([40, 0, 1, 180, 77]);
  const starts = new Int32Array(lens.length);
  for (let d = 1; d < lens.length; d++) starts[d] = starts[d - 1]! + lens[d - 1]!;
  const total = lens.reduce((a, b) => a + b, 0);
  let seed = 7;
  const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const docs = Float32Array.from({ length: total * dim }, next);
  const q = Float32Array.from({ length: qLen * dim }, next);
  const want = new Float32Array(lens.length);
  native.maxsim(q, qLen, dim, docs, starts, lens, lens.length, want);
  const results = await Promise.all([0, 1, 2].map(() => runWorker({ url: KERNELS_URL, q, qLen, dim, docs, starts, lens })));
  for (const r of results) {
    assert.equal(r.name, native.name);
    assert.deepEqual(Array.from(r.out), Array.from(want));
  }
});
