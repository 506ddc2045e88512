/**
 * How every working route runs its work: under a deadline (the request's `timeout_ms` or the
 * server's default) combined with the client's disconnect into one AbortSignal, inside an admission
 * slot. The answer goes out as soon as the deadline passes (504) even if a stage has not noticed
 * yet; the slot is held until the work really stops, which the signal makes prompt (it reaches the
 * scoring workers, the chunk loop, the reranker's stages).
 */
import type { FastifyReply } from 'fastify';
import { PlaitError, invalidArgument } from '../errors/index.js';
import { abortReason } from './admission.js';
import type { Engine } from './engine.js';

export async function runWork<T>(engine: Engine, reply: FastifyReply, timeoutMs: number | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const o = engine.options;
  const ms = timeoutMs ?? o.timeoutMs;
  if (!Number.isInteger(ms) || ms < 1 || ms > o.maxTimeoutMs) throw invalidArgument('timeout_ms', `an integer in [1, ${o.maxTimeoutMs}]`, ms);
  const client = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) client.abort(new PlaitError('ABORTED', { message: 'the client closed the connection' }));
  };
  reply.raw.once('close', onClose);
  const signal = AbortSignal.any([AbortSignal.timeout(ms), client.signal]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  const running = engine.admission.run(() => work(signal), signal);
  running.catch(() => {});
  try {
    return await Promise.race([running, aborted]);
  } catch (err) {
    // A stage that noticed the signal throws its own way (DOMException, ABORTED): report the reason.
    throw signal.aborted && !(err instanceof PlaitError && err.code === 'OVERLOADED') ? abortReason(signal) : err;
  } finally {
    signal.removeEventListener('abort', onAbort!);
    reply.raw.removeListener('close', onClose);
  }
}
