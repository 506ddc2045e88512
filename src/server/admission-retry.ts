/**
 * The `Retry-After` of a 503 OVERLOADED, from admission's refusal: whole seconds (RFC 9110 §10.2.3,
 * delay-seconds, a non-negative integer), the least whole number not before the refused request is
 * expected to be admitted if sent again (`retryAfterMs`: the time until the wait ahead of it has
 * drained to what it may wait, admission.ts), at least `minSeconds`, plus a bounded jitter.
 *
 * Why not the expected wait: a request refused because its wait and its own encoding would end past
 * a third of its deadline needs only the excess to drain before it may queue; told the whole wait
 * (~8 s for a 50-document rerank under 10 large clients), its client came back after the queue
 * ahead had emptied and the encoder sat idle meanwhile (bench/RESULTS.md, "Retry-After from when a
 * request fits").
 *
 * Jitter: clients refused in the same second are told the same whole second and would come back
 * together; each is told ceil(retryAfterMs) plus 0 to `jitterSeconds` more, uniformly, but never
 * past `horizonMs` (admission's `retryLatestMs`: the time everything ahead of it is expected to be
 * through, after which the encoder may idle), so the jitter spreads returns only where the queue
 * ahead is long enough to cover them.
 */

export interface RetryAfterOptions {
  /** The least Retry-After (seconds, integer ≥ 0): `plait serve --retry-after-seconds`. */
  minSeconds: number;
  /** Whole seconds of jitter at most (integer ≥ 0), within `horizonMs`: SERVER_DEFAULTS.retryAfterJitterSeconds. */
  jitterSeconds: number;
  /** Uniform in [0, 1): Math.random unless a test injects one. */
  random?: () => number;
}

/**
 * The Retry-After header's value in whole seconds for a refusal.
 * @param retryAfterMs when the refused request is expected to be admitted if sent again (ms ≥ 0;
 *   absent or not finite: 0, so `minSeconds`)
 * @param horizonMs when everything ahead of it is expected to be through (ms; absent: no jitter)
 * @returns an integer ≥ `minSeconds`: ceil(retryAfterMs ÷ 1000) + a jitter in [0, jitterSeconds],
 *   the jitter cut so the sum stays ≤ floor(horizonMs ÷ 1000) (never below the value without jitter)
 * @throws nothing
 */
export function retryAfterSeconds(retryAfterMs: number | undefined, horizonMs: number | undefined, options: RetryAfterOptions): number {
  const need = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? Math.ceil(retryAfterMs / 1000) : 0;
  const base = Math.max(wholeSeconds(options.minSeconds), need);
  const horizon = horizonMs !== undefined && Number.isFinite(horizonMs) ? Math.floor(horizonMs / 1000) : base;
  const room = Math.min(wholeSeconds(options.jitterSeconds), Math.max(0, horizon - base));
  if (room === 0) return base;
  const u = (options.random ?? Math.random)();
  return base + Math.min(room, Math.floor(Math.max(0, u) * (room + 1)));
}

function wholeSeconds(s: number): number {
  return Number.isFinite(s) && s > 0 ? Math.floor(s) : 0;
}
