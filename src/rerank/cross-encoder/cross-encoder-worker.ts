/**
 * Piscina worker entry of the cross-encoder: keeps one onnxruntime session per graph and runs
 * padded pair batches (onnxruntime's `run` blocks the thread it runs on, so it never runs on the
 * caller's). Logits travel back as one transferred buffer.
 */
import { Piscina } from 'piscina';
import { CrossEncoderSession, type CrossForward, type CrossSessionSpec } from './cross-encoder-session.js';
import type { PairBatch } from './pair-tokenizer.js';

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

export default async function runCross(task: CrossTask): Promise<CrossForward> {
  const out = await (await sessionFor(task.spec)).run(task.batch);
  const movable = { [Piscina.transferableSymbol]: [out.logits.buffer], [Piscina.valueSymbol]: out };
  return Piscina.move(movable as never) as unknown as CrossForward;
}
