/**
 * How every working route runs its work: under a deadline (the request's `timeout_ms` or the
 * server's default) and the client's disconnect, as one AbortSignal, inside an admission slot. The
 * answer goes out as soon as the deadline passes (504) even if a stage has not noticed yet; the
 * slot is held until the work really stops, which the signal makes prompt (it reaches the scoring
 * workers, the chunk loop, the reranker's stages).
 *
 * The deadline is one `setTimeout` that the request owns and clears when it settles (OwnedAbort),
 * not `AbortSignal.any([AbortSignal.timeout(ms), …])`: on Node 20 the inner timeout signal can be
 * garbage-collected before it fires (nodejs/node#57736), and 19 of 60 concurrent reranks then
 * answered 200 after their 30 s deadline (up to 43 s). test/server-deadline-gc.test.ts forces
 * collections while requests wait and holds every answer to its deadline plus a small bound.
 */
import type { FastifyReply } from 'fastify';
import { PlaitError, describe } from '../errors/index.js';
import { integerRange } from '../config/parse-number.js';
import { OwnedAbort } from '../search/deadline.js';
import { abortReason } from './admission.js';
import type { Engine } from './engine.js';

export interface WorkOptions {
  /** The request's deadline in ms (default: the server's `timeoutMs`). */
  timeoutMs?: number | undefined;
  /** Queue priority, lower first (Cohere v2's `priority`; default 0, the highest). */
  priority?: number | undefined;
  /** Estimated document tokens the work encodes (request-cost.ts), counted against the admission's token budget; default 0. */
  tokens?: number | undefined;
  /**
   * Whether the work has passed its point of no return (a write's commit has begun). From then an
   * abort (deadline, client close, drain) no longer answers at once: the work runs to its end and
   * its own result is the answer, so a committed write is never reported as a 504.
   */
  irrevocable?: () => boolean;
}

/**
 * `work` gets the request's signal and `release`, which gives the admission slot back before the
 * work ends (Admission.run); the signal stays live until the work settles either way.
 */
export async function runWork<T>(engine: Engine, reply: FastifyReply, timeout: number | undefined | WorkOptions, work: (signal: AbortSignal, release: () => void) => Promise<T>): Promise<T> {
  const o = engine.options;
  const opts: WorkOptions = typeof timeout === 'object' ? timeout : { timeoutMs: timeout };
  const ms = opts.timeoutMs ?? o.timeoutMs;
  if (!Number.isInteger(ms) || ms < 1 || ms > o.maxTimeoutMs) throw timeoutRefusal(ms, o.maxTimeoutMs);
  const deadline = new OwnedAbort([engine.shutdownSignal], ms, () => new PlaitError('TIMEOUT', { message: `the request passed its deadline of ${ms} ms`, timeoutMs: ms }));
  const signal = deadline.signal;
  const onClose = (): void => {
    if (reply.raw.writableFinished) return;
    // No answer goes out, so plait_http_requests_total never sees it: counted here instead.
    engine.metrics.clientClosed.inc({ route: reply.request.routeOptions.url ?? 'unmatched' });
    deadline.abort(new PlaitError('ABORTED', { message: 'the client closed the connection' }));
  };
  reply.raw.once('close', onClose);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      if (opts.irrevocable?.() !== true) reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  const running = engine.admission.run((release) => work(signal, release), signal, opts.priority ?? 0, opts.tokens ?? 0, ms);
  running.catch(() => {});
  try {
    return await Promise.race([running, aborted]);
  } catch (err) {
    // A stage that noticed the signal throws its own way (DOMException, ABORTED): report the reason.
    throw signal.aborted && opts.irrevocable?.() !== true && !(err instanceof PlaitError && err.code === 'OVERLOADED') ? abortReason(signal) : err;
  } finally {
    deadline.dispose();
    signal.removeEventListener('abort', onAbort!);
    reply.raw.removeListener('close', onClose);
  }
}

/**
 * A `timeout_ms` past the server's `maxTimeoutMs` (300,000 by default), refused as the body's
 * schema refuses its other integers (http-errors.ts, integerRefusal): the field as `body/timeout_ms`,
 * the whole range in the message and in `details.min` / `details.max`. The schema itself only knows
 * the lower bound, since the upper one is a server option.
 */
function timeoutRefusal(ms: unknown, maxTimeoutMs: number): PlaitError {
  return new PlaitError('INVALID_ARGUMENT', {
    message: `Expected ${integerRange(1, maxTimeoutMs)} for body/timeout_ms but received ${describe(ms)}`,
    field: 'body/timeout_ms',
    keyword: 'maximum',
    min: 1,
    max: maxTimeoutMs,
  });
}
