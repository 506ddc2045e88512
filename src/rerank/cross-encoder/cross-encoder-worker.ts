/**
 * Piscina worker entry of the cross-encoder: keeps one onnxruntime session per graph and runs
 * padded pair batches (onnxruntime's `run` blocks the thread it runs on, so it never runs on the
 * caller's). Logits travel back as one transferred buffer.
 */
import { Piscina } from 'piscina';
import { CrossEncoderSession, type CrossForward, type CrossSessionSpec } from './cross-encoder-session.js';
import type { PairBatch } from './pair-tokenizer.js';
import { PlaitError } from '../../errors/index.js';
import type { EncodeFailure } from '../../encoder/encode-worker.js';

export interface CrossTask {
  spec: CrossSessionSpec;
  batch: PairBatch;
}

const sessions = new Map<string, Promise<CrossEncoderSession>>();

function sessionFor(spec: CrossSessionSpec): Promise<CrossEncoderSession> {
  const key = JSON.stringify(spec);
  let s = sessions.get(key);
  if (s === undefined) {
    s = CrossEncoderSession.load(spec);
    sessions.set(key, s);
    s.catch(() => sessions.delete(key));
  }
  return s;
}

/**
 * A PlaitError is sent back as a value (encode-worker.ts's EncodeFailure): thrown, it reached the
 * main thread as WORKER_FAILED "Worker failed: Encoding failed: …", its code and details lost, so
 * a graph onnxruntime failed on was not ENCODE_FAILED with threads > 0, nor a broken graph
 * MODEL_LOAD_FAILED (and so never named with its repair).
 */
export default async function runCross(task: CrossTask): Promise<CrossForward | EncodeFailure> {
  let out: CrossForward;
  try {
    out = await (await sessionFor(task.spec)).run(task.batch);
  } catch (e) {
    if (e instanceof PlaitError) return { failed: e.toJSON() };
    throw e;
  }
  const movable = { [Piscina.transferableSymbol]: [out.logits.buffer], [Piscina.valueSymbol]: out };
  return Piscina.move(movable as never) as unknown as CrossForward;
}
