/**
 * Admission control: at most `maxConcurrent` requests do work at once, and the document tokens
 * they encode at once stay within `maxInFlightTokens`; at most `maxQueue` wait for a slot, and only
 * while the expected wait stays under `maxQueueWaitMs` (for the token budget: or while the wait and
 * the request's own encoding are expected to end within `tokenWaitDeadlineShare` of its own
 * deadline); anything beyond is refused at once with
 * OVERLOADED (the route answers 503 + Retry-After) rather than joining an unbounded queue and timing
 * out later. A waiting request whose deadline passes leaves the queue with TIMEOUT. Slots are
 * released when the work settles, not when the answer is sent, so a 504 never frees capacity that a
 * still-running task holds.
 *
 * Why tokens as well as a count: a count treats a 5-document rerank and a 500-document one alike.
 * On a 2-core machine eight large reranks were all admitted at once, shared the one document
 * encoder and each ran eight times slower, so most passed their deadline (504) and none was quick;
 * with the token budget the first run at full speed and the rest are told to retry at once
 * (bench/RESULTS.md, "Large reranks under load"). A request's tokens are an estimate from its
 * texts' length (request-cost.ts); a search or explain encodes one short query on the index's own
 * encoder and counts 0, so it never waits behind the document encoder. One request larger than the
 * whole budget still runs, alone.
 *
 * The mean work time starts from a prior (`seedWorkMs`, measured by the engine's warm-up), not 0:
 * with 0 a fresh server shed nothing on expected wait in its first burst. Waiters are served by
 * priority (lower first: Cohere v2's `priority`, default 0), first come first served within one;
 * requests that need no tokens pass the waiters for tokens. When the queue is full, a newcomer
 * with a more urgent priority than the last waiter takes that waiter's place and the displaced
 * waiter is refused with OVERLOADED ("least likely to be dropped").
 *
 * Backfilling (EASY, as batch schedulers do it): the first waiter for tokens, the head, holds a
 * reservation of its `h` tokens; a later request for tokens that fits now may start before it only
 * while the tokens of all such passers still running stay within `budget − h` (and a slot stays
 * free for the head). The head starts once the requests that were running before it drain, exactly
 * when it would have without passers: whatever passed it fits beside it. So a small rerank starts
 * beside a large one instead of after every large one queued before it (bench/RESULTS.md, "Small
 * reranks beside large ones": 5-document p50 10.1–10.9 s → 5.4–5.7 s, twice as many answered,
 * under 10 large clients on a loaded 2-core host), and no waiter is starved: each becomes the head
 * in turn, and passers of a head are bounded, not endless. Only the head is protected: a passer may
 * start before a second waiter for tokens, which is protected in its turn, when it is the head. The
 * encoder's document lane then serves the small one's texts in chunks beside the large call's, the
 * call with the fewest texts left first (encoder/dynamic-batching.ts), so it also finishes first.
 *
 * The token wait: tokens to get through before a newcomer fits × the drain rate, the ms per token
 * the server achieves: time with token work in flight ÷ tokens completed, both decayed sums
 * (`tokenDrainMemoryTokens`). It reads the same whichever request finishes first. It replaced a mean
 * of (a request's hold time ÷ the tokens in flight at its start), which assumed a request ends after
 * everything that ran before it: once small reranks passed large ones and finished first, a 730-token
 * rerank done in 0.7 s beside a 7,100-token one read 0.1 ms a token instead of ~1, large newcomers
 * were queued for up to half their deadline instead of refused, and some timed out. A request for
 * tokens may wait while its wait and its own encoding end within `tokenWaitDeadlineShare` (⅓) of its
 * deadline. Under 10 clients of 50-document reranks on a loaded 2-core host: large p50 19.8–23.3 s →
 * 8.5–12.0 s, p99 24.7–26.6 → 12.6–16.5 s, no 504 (main had 1–2 in two of seven runs), small p50
 * unchanged, more large ones refused (bench/RESULTS.md, "Admission's drain rate"; re-measure with
 * bench/rerank-admission.ts).
 *
 * A refusal says when the request would be let in if sent again (`retryAfterMs` in the error's
 * details): the time for the wait ahead of it to drain to what it may wait (`maxQueueWaitMs`, or for
 * tokens its deadline's share less its own encoding), not the whole wait; the route turns it into
 * `Retry-After` (admission-retry.ts). Told the whole wait, refused clients came back after the queue
 * ahead had emptied: under 10 clients of 50-document reranks no large rerank was in flight or queued
 * for up to 71% of a run (mean 16% over 8) while refused ones sat out a Retry-After. The wait that
 * admits counts a running request whole until it completes, so it falls only then: the retry is not
 * before the running requests are expected through, counting what the drain rate has got through of them already
 * (`tokensLeft`); counting that in the wait itself as well filled the queue further and the large
 * reranks' p50 rose past 14 s in a run. `retryLatestMs`: when everything ahead is expected through,
 * the bound of Retry-After's jitter (bench/RESULTS.md, "Retry-After from when a request fits").
 */
import { SERVER_DEFAULTS } from '../config/defaults.js';
import { PlaitError } from '../errors/index.js';

interface Waiter {
  priority: number;
  /** Estimated document tokens the request encodes (0: none). */
  tokens: number;
  /** Starts it; `passed`: it starts before a waiter for tokens (a backfill). */
  grant: (passed: boolean) => void;
  refuse: (err: PlaitError) => void;
}

export interface AdmissionLimits {
  maxConcurrent: number;
  maxQueue: number;
  /**
   * Shed when the expected wait of a newcomer (requests ahead of it × mean work time ÷ slots)
   * exceeds this: keeps admitted requests' p99 bounded in time, not only in count.
   */
  maxQueueWaitMs: number;
  /**
   * Estimated document tokens encoded at once, summed over the admitted requests (rerank, encode,
   * writes): past it a request that needs tokens waits (or is shed on expected wait) instead of
   * slowing every admitted one down. A request alone may exceed it. Default: no token budget (the
   * server always sets one: ResolvedServerOptions.maxInFlightTokens).
   */
  maxInFlightTokens?: number;
  /**
   * A request that needs tokens may also wait while its expected wait and its own encoding (its
   * tokens × the drain rate) are at most this share of its own deadline (`run`'s `deadlineMs`),
   * in [0, 1); 0 (the default here): `maxQueueWaitMs` only.
   * The server sets SERVER_DEFAULTS.tokenWaitDeadlineShare.
   */
  tokenWaitDeadlineShare?: number;
  /**
   * Tokens the drain rate remembers (> 0): its sums decay by e^(−completed ÷ this). Default:
   * SERVER_DEFAULTS.tokenDrainMemoryTokens.
   */
  tokenDrainMemoryTokens?: number;
  /** The clock, in ms (tests inject one). Default: performance.now. */
  now?: () => number;
}

const EWMA_WEIGHT = SERVER_DEFAULTS.workTimeEwmaWeight;

export class Admission {
  /** Expected queueing time of the next request that needs no tokens, in ms. */
  get expectedWaitMs(): number {
    return ((this.waiting.length + 1) * this.meanWorkMs) / this.limits.maxConcurrent;
  }

  private running = 0;
  private tokensRunning = 0;
  /**
   * Tokens of the running requests that started before a waiter for tokens (backfills): they stay
   * within `budget − h` of the head's `h`, so the head fits beside them.
   */
  private tokensPassing = 0;
  private readonly waiting: Waiter[] = [];
  /** Running mean of how long admitted work holds a slot (ms); the prior until the first request ends. */
  private meanWorkMs = 0;
  private observed = false;
  /**
   * The drain rate's decayed sums: ms with token work in flight, and tokens completed in them. Their
   * ratio is the ms per token the server achieves, whatever the order requests finish in (time
   * since the last completion is charged at each completion, and all of it counts once). A seeded
   * prior is a pseudo-sample of `memory` tokens.
   */
  private busyMs = 0;
  private doneTokens = 0;
  /** When the busy time was last charged (a completion, or tokens in flight rising from 0). */
  private busyMark = 0;
  private tokenObserved = false;
  /** Wall ms with token work in flight, over the server's life (the busy-time counter), and when the current stretch began. */
  private busyTotalMs = 0;
  private busySince = 0;
  /**
   * Tokens of the running requests expected to be through already (≤ tokensRunning), at the drain
   * rate since `progressMark` (see `tokensLeft`).
   */
  private progress = 0;
  private progressMark = 0;
  /** ∫ min(tokens in flight, budget) ÷ budget dt in ms (the budget's occupancy), and when it was last charged. */
  private occupiedMs = 0;
  private occupiedMark = 0;

  /** The token budget (Infinity: none). */
  private readonly budget: number;
  private readonly memory: number;
  private readonly now: () => number;

  constructor(readonly limits: AdmissionLimits) {
    this.budget = limits.maxInFlightTokens ?? Infinity;
    const m = limits.tokenDrainMemoryTokens;
    this.memory = m !== undefined && Number.isFinite(m) && m > 0 ? m : SERVER_DEFAULTS.tokenDrainMemoryTokens;
    this.now = limits.now ?? (() => performance.now());
  }

  /**
   * Sets the prior of the mean work time (ms) that shedding uses until real requests have been
   * measured: the engine's warm-up times a warm rerank and search and seeds it here.
   * @throws nothing; a non-finite or negative value is ignored.
   */
  seedWorkMs(ms: number): void {
    if (!this.observed && Number.isFinite(ms) && ms >= 0) this.meanWorkMs = ms;
  }

  /**
   * Sets the prior of the drain rate (ms per document token) that shedding uses until requests
   * with tokens have been measured: the engine's warm-up times a warm rerank and seeds it here. It
   * counts as `tokenDrainMemoryTokens` tokens got through at that rate, so it fades as real ones are
   * (to e^−1 of its weight after that many). No-op once a request with tokens has completed.
   * @throws nothing; a non-finite or negative value is ignored.
   */
  seedTokenMs(msPerToken: number): void {
    if (this.tokenObserved || !Number.isFinite(msPerToken) || msPerToken < 0) return;
    this.busyMs = msPerToken * this.memory;
    this.doneTokens = this.memory;
  }

  /** The running mean of work time in ms (the prior until a request has finished). */
  get workMs(): number {
    return this.meanWorkMs;
  }

  /**
   * The drain rate in ms per document token: busy time ÷ tokens completed over about the last
   * `tokenDrainMemoryTokens` (the prior until requests with tokens have finished; 0 with neither).
   */
  get tokenMs(): number {
    return this.doneTokens > 0 ? this.busyMs / this.doneTokens : 0;
  }

  /**
   * Wall time in ms with document-token work in flight (admitted requests with tokens running),
   * summed over the admission's life and counting the current stretch: its rate over an interval
   * is the share of that interval the encoder had token work, so idle time while refused clients
   * sit out a Retry-After shows as 1 − that rate (`plait_admission_token_busy_seconds_total`).
   */
  get tokenBusyMs(): number {
    return this.busyTotalMs + (this.tokensRunning > 0 ? this.now() - this.busySince : 0);
  }

  /**
   * The token budget's occupancy in ms: ∫ min(tokens in flight, budget) ÷ budget dt over the
   * admission's life (0 without a budget). Its rate is the share of the budget in use: a small
   * rerank alone keeps `tokenBusyMs` running at a tenth of the budget, so under overload this, not
   * that, shows the large requests' encoder time lost while they sit out a Retry-After
   * (`plait_admission_token_budget_seconds_total`).
   */
  get tokenBudgetMs(): number {
    return this.occupiedMs + this.occupancy(this.now());
  }

  /** The occupancy since the last mark, at the tokens now in flight (ms). */
  private occupancy(now: number): number {
    return Number.isFinite(this.budget) && this.budget > 0 ? ((now - this.occupiedMark) * Math.min(this.tokensRunning, this.budget)) / this.budget : 0;
  }

  /**
   * Tokens of the running requests not yet through, expected: those in flight less what the drain
   * rate got through since each was counted (a completion takes its own tokens off both). The wait
   * that admits or refuses counts a running request whole until it completes (a margin for the
   * rate's error); a refusal's Retry-After counts only what is left of it, so a client refused late
   * in a large request's run is told the time left, not the whole wait again (it had come back after
   * the large one ended and the encoder had idled).
   */
  private tokensLeft(now: number): number {
    const rate = this.tokenMs;
    const since = rate > 0 && this.tokensRunning > 0 ? Math.max(0, now - this.progressMark) / rate : 0;
    return this.tokensRunning - Math.min(this.tokensRunning, this.progress + since);
  }

  /** Moves the progress up to now at the current rate; called before the tokens in flight or the rate change. */
  private markProgress(now: number): void {
    this.progress = this.tokensRunning - this.tokensLeft(now);
    this.progressMark = now;
  }

  /** Charges the occupancy up to now; called before the tokens in flight change. */
  private markOccupancy(now: number): void {
    this.occupiedMs += this.occupancy(now);
    this.occupiedMark = now;
  }

  get inFlight(): number {
    return this.running;
  }

  /** Estimated document tokens of the admitted requests. */
  get tokensInFlight(): number {
    return this.tokensRunning;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `work` when a slot (and `tokens` of the token budget) is free. Rejects with OVERLOADED at
   * once when the queue is full or the expected wait too long, and with TIMEOUT/ABORTED if `signal`
   * fires while waiting (the work then never starts). `work` may call `release` to give the slot
   * back before it ends (idempotent): a write does once its encoding is done, so that its wait
   * behind the index's earlier commits holds no slot.
   * @param priority queue order, lower first (≥ 0)
   * @param tokens estimated document tokens the work encodes (≥ 0; 0 for a search)
   * @param deadlineMs the request's deadline from now (ms): a request with tokens may wait up to
   *   `tokenWaitDeadlineShare` of it, less its own expected encoding, for the token budget
   *   (absent: `maxQueueWaitMs` only)
   */
  async run<T>(work: (release: () => void) => Promise<T>, signal: AbortSignal, priority = 0, tokens = 0, deadlineMs?: number): Promise<T> {
    const need = Number.isFinite(tokens) && tokens > 0 ? Math.ceil(tokens) : 0;
    const passed = await this.acquire(signal, priority, need, deadlineMs);
    const t = this.now();
    let held = true;
    // `done`: the work ended well (or released its slot itself, its encoding done), so its tokens
    // count as got through; a failed or aborted request's do not, and its time stays in busyMs.
    const finish = (done: boolean): void => {
      if (!held) return;
      held = false;
      const end = this.now();
      const ms = end - t;
      // The first measured request blends with the prior rather than replacing it: one cached
      // answer in a few microseconds should not erase what the warm-up measured.
      this.meanWorkMs = this.meanWorkMs === 0 ? ms : this.meanWorkMs + EWMA_WEIGHT * (ms - this.meanWorkMs);
      this.observed = true;
      if (need > 0) {
        this.markProgress(end);
        this.chargeDrain(end, done ? need : 0);
        this.markOccupancy(end);
      }
      this.running--;
      this.tokensRunning -= need;
      // Its tokens leave the running ones, and what was counted as through with them.
      this.progress = Math.max(0, Math.min(this.tokensRunning, this.progress - need));
      if (need > 0 && this.tokensRunning === 0) this.busyTotalMs += end - this.busySince;
      if (passed) this.tokensPassing -= need;
      this.grantWaiters();
    };
    try {
      const result = await work(() => finish(true));
      finish(true);
      return result;
    } finally {
      finish(false);
    }
  }

  /**
   * Charges the time since the last mark (all of it with token work in flight) and `tokens`
   * completed to the drain rate's sums, older ones decayed by e^(−tokens ÷ memory). A small request
   * that finishes beside a large one is charged only the time since the last completion, so the
   * sums after both are the same in either order: their busy time and their tokens.
   */
  private chargeDrain(end: number, tokens: number): void {
    const decay = Math.exp(-tokens / this.memory);
    this.busyMs = this.busyMs * decay + Math.max(0, end - this.busyMark);
    this.doneTokens = this.doneTokens * decay + tokens;
    this.busyMark = end;
    if (tokens > 0) this.tokenObserved = true;
  }

  /** Whether a request of `tokens` may start now, as far as the count and the token budget go. */
  private fits(tokens: number): boolean {
    if (this.running >= this.limits.maxConcurrent) return false;
    return tokens === 0 || this.tokensRunning === 0 || this.tokensRunning + tokens <= this.budget;
  }

  /**
   * Whether a request of `tokens` (> 0) may start now before `head`, a waiter for tokens: it fits,
   * the passers' tokens with its own stay within what the budget leaves beside the head, and a slot
   * stays free for the head.
   */
  private mayPass(head: Waiter, tokens: number): boolean {
    return this.running + 1 < this.limits.maxConcurrent && this.fits(tokens) && this.tokensPassing + tokens <= this.budget - head.tokens;
  }

  private start(tokens: number, passed: boolean): void {
    // Busy time starts when token work does: idle time is not the rate at which tokens drain.
    if (tokens > 0) {
      const now = this.now();
      if (this.tokensRunning === 0) this.busyMark = this.busySince = now;
      this.markProgress(now);
      this.markOccupancy(now);
    }
    this.running++;
    this.tokensRunning += tokens;
    if (passed) this.tokensPassing += tokens;
  }

  /** Resolves when the request may start: true when it passed a waiter for tokens (a backfill). */
  private acquire(signal: AbortSignal, priority: number, tokens: number, deadlineMs: number | undefined): Promise<boolean> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    // Waiters for tokens of the same or a more urgent priority go first (FIFO) unless this one may
    // pass the first of them (mayPass); none else can be waiting while a slot is free
    // (grantWaiters hands each free slot on).
    const head = tokens > 0 ? this.waiting.find((w) => w.tokens > 0 && w.priority <= priority) : undefined;
    if (head === undefined ? this.fits(tokens) : this.mayPass(head, tokens)) {
      this.start(tokens, head !== undefined);
      return Promise.resolve(head !== undefined);
    }
    const ahead = this.waiting.filter((w) => w.priority <= priority);
    const countWaitMs = this.running >= this.limits.maxConcurrent ? ((ahead.length + 1) * this.meanWorkMs) / this.limits.maxConcurrent : 0;
    let tokenWaitMs = 0;
    if (tokens > 0) tokenWaitMs = this.tokensToDrain(head, ahead, tokens) * this.tokenMs;
    const expectedWaitMs = Math.max(countWaitMs, tokenWaitMs);
    const rate = this.tokenMs;
    const left = this.tokensLeft(this.now());
    // When everything admitted ahead of it is expected through (what is left of the running requests
    // and the waiters ahead): a retry later than this may find the encoder idle. Bounds the jitter.
    const drainedMs = tokens > 0 ? Math.max(countWaitMs, (left + ahead.reduce((sum, w) => sum + w.tokens, 0)) * rate) : countWaitMs;
    const overloaded = (retryAfterMs: number, retryLatestMs = drainedMs): PlaitError =>
      new PlaitError('OVERLOADED', {
        message: `${this.running} requests running (${this.tokensRunning} document tokens) and ${this.waiting.length} waiting; try again later`,
        maxConcurrent: this.limits.maxConcurrent,
        maxQueue: this.limits.maxQueue,
        maxInFlightTokens: this.limits.maxInFlightTokens ?? null,
        expectedWaitMs: Math.round(expectedWaitMs),
        retryAfterMs: Math.max(0, Math.round(retryAfterMs)),
        retryLatestMs: Math.max(0, Math.round(Math.max(retryAfterMs, retryLatestMs))),
      });
    // Slots are shed at maxQueueWaitMs; a request for tokens may wait longer while its wait and its
    // own encoding (its tokens at the drain rate) are expected to end within a share of its own
    // deadline (a large rerank's turn comes in seconds, and its client has 30 s). Its own time
    // counts: the document lane serves the call with the fewest texts left first, so small calls
    // that arrive while a large one runs go before its rest, and on a loaded host a full budget
    // takes 10 s or more, not the 5 s that a wait of half the deadline left room for.
    const share = this.limits.tokenWaitDeadlineShare ?? 0;
    const shareMs = deadlineMs !== undefined && Number.isFinite(deadlineMs) ? share * deadlineMs : undefined;
    const ownMs = tokens * this.tokenMs;
    const withinDeadline = shareMs !== undefined && tokenWaitMs + ownMs <= shareMs;
    const countRefused = countWaitMs > this.limits.maxQueueWaitMs;
    const tokenRefused = tokenWaitMs > this.limits.maxQueueWaitMs && !withinDeadline;
    if (countRefused || tokenRefused) {
      // When it would be let in if sent again: once the wait ahead has drained to what it may wait
      // (maxQueueWaitMs, or for tokens its deadline's share less its own encoding), were nothing
      // else to arrive. Not the whole wait: told that, refused clients came back after the queue
      // had emptied and the encoder idled meanwhile (bench/RESULTS.md, "Retry-After from when a
      // request fits").
      // The wait counts a running request whole until it completes, so it falls only then: not
      // before the running requests are expected through (what is left of them), and less what of
      // the excess they have got through already.
      const countRetryMs = countRefused ? countWaitMs - this.limits.maxQueueWaitMs : 0;
      const excessMs = Math.min(tokenWaitMs - this.limits.maxQueueWaitMs, shareMs === undefined ? Infinity : tokenWaitMs + ownMs - shareMs);
      const tokenRetryMs = tokenRefused ? Math.max(excessMs - (this.tokensRunning - left) * rate, left * rate) : 0;
      return Promise.reject(overloaded(Math.max(countRetryMs, tokenRetryMs)));
    }
    if (this.waiting.length >= this.limits.maxQueue) {
      // A full queue lets one in each time a waiter starts: the wait ahead ÷ the waiters sharing it.
      const full = overloaded(expectedWaitMs / (ahead.length + 1), expectedWaitMs);
      const last = this.waiting[this.waiting.length - 1];
      if (last === undefined || last.priority <= priority) return Promise.reject(full);
      this.waiting.pop();
      last.refuse(full);
    }
    return new Promise<boolean>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortReason(signal));
        // A waiter for tokens that leaves may unblock those behind it.
        this.grantWaiters();
      };
      const waiter: Waiter = {
        priority,
        tokens,
        grant: (passed) => {
          signal.removeEventListener('abort', onAbort);
          resolve(passed);
        },
        refuse: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // After every waiter of the same or a more urgent priority (stable: FIFO within a priority).
      let at = this.waiting.length;
      while (at > 0 && this.waiting[at - 1]!.priority > priority) at--;
      this.waiting.splice(at, 0, waiter);
    });
  }

  /**
   * Tokens the server must get through before a newcomer of `tokens` (> 0) may start, `ahead` the
   * waiters queued before it, `head` the first of them that needs tokens. In turn (the head's, and
   * so its own, once all ahead have started): those running and those ahead, less the room the
   * budget leaves beside it. When it may pass the head (`tokens` ≤ budget − head's), it starts
   * sooner, once the running and the passers ahead of it fit beside it, and the passers' tokens
   * beside the head: the lesser of the two. Counting every large waiter ahead of a small one had
   * it refused behind two queued 50-document reranks that it would have passed in under a second.
   */
  private tokensToDrain(head: Waiter | undefined, ahead: readonly Waiter[], tokens: number): number {
    const aheadTokens = ahead.reduce((sum, w) => sum + w.tokens, 0);
    const inTurn = this.tokensRunning + aheadTokens - Math.max(0, this.budget - tokens);
    if (head === undefined || tokens > this.budget - head.tokens) return Math.max(0, inTurn);
    const room = this.budget - head.tokens;
    const passersAhead = ahead.reduce((sum, w) => (w !== head && w.tokens > 0 && w.tokens <= room ? sum + w.tokens : sum), 0);
    const passing = Math.max(this.tokensRunning + passersAhead + tokens - this.budget, this.tokensPassing + passersAhead + tokens - room);
    return Math.max(0, Math.min(inTurn, passing));
  }

  /**
   * Starts the waiters that fit, in queue order: the first waiter that needs tokens and does not
   * fit is the head; a later one that needs tokens starts before it only as mayPass allows (no
   * starving the head), one that needs none whenever a slot is free.
   */
  private grantWaiters(): void {
    let head: Waiter | undefined;
    for (let i = 0; i < this.waiting.length && this.running < this.limits.maxConcurrent; ) {
      const w = this.waiting[i]!;
      const passing = w.tokens > 0 && head !== undefined;
      if (passing ? !this.mayPass(head!, w.tokens) : !this.fits(w.tokens)) {
        if (w.tokens > 0 && head === undefined) head = w;
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.start(w.tokens, passing);
      w.grant(passing);
    }
  }
}

/** The PlaitError an aborted request signal stands for (deadline → TIMEOUT, otherwise ABORTED). */
export function abortReason(signal: AbortSignal): PlaitError {
  const r = signal.reason as { name?: string } | undefined;
  if (r instanceof PlaitError) return r;
  return r?.name === 'TimeoutError' ? new PlaitError('TIMEOUT', { message: 'the request passed its deadline' }) : new PlaitError('ABORTED', { message: 'the request was cancelled' });
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}
