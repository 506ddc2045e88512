/**
 * Encoder threading (issue 23, item 4): workers × onnxruntime intra-op threads fill the machine
 * without oversubscribing it; explicit settings win.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveEncoderOptions } from '../src/encoder/create-encoder.js';
import { isPlaitError } from '../src/errors/index.js';

test('auto workers and intra-op threads multiply to at most the cores, and use them all when they divide', () => {
  const cases: [cores: number, workers: number, intra: number][] = [
    [1, 1, 1],
    [2, 2, 1],
    [3, 3, 1],
    [6, 4, 1],
    [8, 4, 2],
    [16, 4, 4],
    [64, 4, 16],
  ];
  for (const [cores, workers, intra] of cases) {
    const r = resolveEncoderOptions({}, cores);
    assert.deepEqual([r.threads, r.intraOpNumThreads], [workers, intra], `${cores} cores`);
    assert.ok(r.threads * r.intraOpNumThreads <= cores);
  }
});

test('explicit workers get the cores divided among them; explicit intra-op threads and in-process win', () => {
  assert.equal(resolveEncoderOptions({ threads: 3 }, 16).intraOpNumThreads, 5);
  assert.equal(resolveEncoderOptions({ threads: 32 }, 16).intraOpNumThreads, 1);
  assert.equal(resolveEncoderOptions({ threads: 2, intraOpNumThreads: 7 }, 16).intraOpNumThreads, 7);
  assert.equal(resolveEncoderOptions({ threads: 0 }, 16).intraOpNumThreads, 1);
  assert.throws(() => resolveEncoderOptions({ threads: -1 }, 16), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => resolveEncoderOptions({ threads: 1.5 }, 16), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
});
