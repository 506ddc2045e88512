/**
 * A PlaitError raised in an encoder worker reaches the caller as itself (trial6): the same code,
 * message and details as on the calling thread (`threads: 0`). Structured clone keeps an Error's
 * message only, so it arrived as WORKER_FAILED — `PLAIT_USE_LITE_ENGINE=bogus plait search …` exited
 * 1 with "Worker failed: Invalid argument: …" instead of 2 with INVALID_ARGUMENT. Bundled model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEncoder, PlaitError } from '../src/index.js';

async function failure(threads: number): Promise<PlaitError> {
  const saved = process.env['PLAIT_USE_LITE_ENGINE'];
  process.env['PLAIT_USE_LITE_ENGINE'] = 'bogus'; // read where the backend loads: in the worker, or here with threads 0
  try {
    // In-process the backend loads in createEncoder; with workers, in the first batch's worker.
    const encoder = await createEncoder({ family: 'use-lite' }, { threads });
    try {
      await encoder.encodeQueries(['bread rises']);
    } finally {
      await encoder.close();
    }
    return assert.fail('a bogus engine encoded');
  } catch (e) {
    return e as PlaitError;
  } finally {
    if (saved === undefined) delete process.env['PLAIT_USE_LITE_ENGINE'];
    else process.env['PLAIT_USE_LITE_ENGINE'] = saved;
  }
}

test('an INVALID_ARGUMENT raised in an encoder worker arrives as the calling thread would raise it', async () => {
  const here = await failure(0);
  const worker = await failure(1);
  assert.ok(worker instanceof PlaitError);
  assert.deepEqual(
    { code: worker.code, message: worker.message, details: worker.details },
    { code: 'INVALID_ARGUMENT', message: 'Invalid argument: Expected "onnx" or "tfjs" (PLAIT_USE_LITE_ENGINE) for engine but received "bogus"', details: { name: 'engine' } },
  );
  assert.deepEqual(worker.toJSON(), here.toJSON());
});

test("a worker's error with a code that is not plait's becomes ENCODE_FAILED naming it; plait's own code is kept", async () => {
  const { workerCodedError, isErrorCode } = await import('../src/errors/index.js');
  const cause = Object.assign(new Error("Cannot find module '/app/dist/src/errors/index.js'"), { code: 'ERR_MODULE_NOT_FOUND' });
  const foreign = workerCodedError('ERR_MODULE_NOT_FOUND', cause.message, cause);
  // It had been a PlaitError whose code was 'ERR_MODULE_NOT_FOUND', outside ErrorCode: no switch on it could match.
  assert.equal(foreign.code, 'ENCODE_FAILED');
  assert.ok(isErrorCode(foreign.code));
  assert.match(foreign.message, /^Encoding failed: ERR_MODULE_NOT_FOUND: Cannot find module/);
  assert.equal(foreign.details?.['cause'], 'ERR_MODULE_NOT_FOUND');
  assert.equal(foreign.cause, cause);
  const ours = workerCodedError('QUERY_TOO_LARGE', 'Request too large: 9 texts', cause);
  assert.equal(ours.code, 'QUERY_TOO_LARGE');
  assert.equal(isErrorCode('ERR_MODULE_NOT_FOUND'), false);
  assert.equal(isErrorCode('toString'), false);
});
