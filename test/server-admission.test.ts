/** Unit tests of the server's parts: admission control, the byte-bounded LRU, the status table, options. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_TEMPLATES, isPlaitError } from '../src/index.js';
import { Admission } from '../src/server/admission.js';
import { retryAfterSeconds } from '../src/server/admission-retry.js';
import { estimateCrossTokens, estimatePipelineTokens, estimateTokens } from '../src/server/request-cost.js';
import { parsePipeline } from '../src/pipeline/pipeline-spec.js';
import { ByteLruCache } from '../src/server/byte-lru-cache.js';
import { HTTP_STATUS, statusFor, toPlaitError } from '../src/server/http-errors.js';
import { keyMatches } from '../src/server/app.js';
import { resolveServerOptions } from '../src/server/index.js';
import { SERVER_DEFAULTS } from '../src/config/defaults.js';

const never = new AbortController().signal;

test('admission: maxConcurrent run, maxQueue wait, the rest is OVERLOADED at once; FIFO hand-over', async () => {
  const a = new Admission({ maxConcurrent: 1, maxQueue: 1, maxQueueWaitMs: 1e9 });
  const order: string[] = [];
  let release!: () => void;
  const first = a.run(() => new Promise<void>((r) => (release = r)).then(() => order.push('first')), never);
  const second = a.run(async () => order.push('second'), never);
  await assert.rejects(a.run(async () => order.push('third'), never), (e: unknown) => isPlaitError(e, 'OVERLOADED'));
  assert.equal(a.inFlight, 1);
  assert.equal(a.queued, 1);
  release();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(a.inFlight, 0);
});

test('admission: an aborted waiter leaves the queue and its work never runs; a slot survives a throwing task', async () => {
  const a = new Admission({ maxConcurrent: 1, maxQueue: 5, maxQueueWaitMs: 1e9 });
  let release!: () => void;
  const held = a.run(() => new Promise<void>((r) => (release = r)), never);
  const c = new AbortController();
  let ran = false;
  const waiting = a.run(async () => {
    ran = true;
  }, c.signal);
  c.abort(new DOMException('late', 'TimeoutError'));
  await assert.rejects(waiting, (e: unknown) => isPlaitError(e, 'TIMEOUT'));
  assert.equal(a.queued, 0);
  release();
  await held;
  assert.equal(ran, false);
  await assert.rejects(a.run(async () => Promise.reject(new Error('boom')), never), /boom/);
  assert.equal(a.inFlight, 0);
  assert.equal(await a.run(async () => 7, never), 7);
});

test('admission: sheds on expected wait once work is known to be slow', async () => {
  const a = new Admission({ maxConcurrent: 1, maxQueue: 100, maxQueueWaitMs: 20 });
  // One request that takes at least 50 ms sets the mean work time to ≥ 50 ms, by performance.now()
  // as the admission times it: a 50 ms timer alone can end up to 1 ms short of that on this clock
  // (Node counts timers in whole ms), and the admission rounds the expected wait (49.4 reads 49).
  await a.run(async () => {
    const end = performance.now() + 50;
    while (performance.now() < end) await new Promise((r) => setTimeout(r, Math.max(1, end - performance.now())));
  }, never);
  let release!: () => void;
  const held = a.run(() => new Promise<void>((r) => (release = r)), never);
  // One ahead × ≥ 50 ms ÷ 1 slot > 20 ms: refused although the queue has room.
  await assert.rejects(a.run(async () => 0, never), (e: unknown) => isPlaitError(e, 'OVERLOADED') && (e.details?.expectedWaitMs as number) >= 50);
  release();
  await held;
});

test('admission: a prior (the warm-up\'s measured work time) sheds in the first burst, before any request has finished', async () => {
  const a = new Admission({ maxConcurrent: 1, maxQueue: 100, maxQueueWaitMs: 100 });
  a.seedWorkMs(40);
  let release!: () => void;
  const held = a.run(() => new Promise<void>((r) => (release = r)), never);
  // 1 ahead × 40 ms and 2 ahead × 40 ms wait; the third would wait 3 × 40 = 120 ms > 100 ms.
  const queued = [a.run(async () => 1, never), a.run(async () => 2, never)];
  await assert.rejects(a.run(async () => 3, never), (e: unknown) => isPlaitError(e, 'OVERLOADED') && e.details?.expectedWaitMs === 120);
  release();
  await held;
  assert.deepEqual(await Promise.all(queued), [1, 2]);
  // Without a prior (0) the same burst was all admitted: the "sheds nothing in its first burst".
  const cold = new Admission({ maxConcurrent: 1, maxQueue: 100, maxQueueWaitMs: 100 });
  const held2 = cold.run(() => new Promise<void>((r) => (release = r)), never);
  const all = [1, 2, 3].map((i) => cold.run(async () => i, never));
  await new Promise((r) => setImmediate(r)); // the held work has started (and set release)
  release();
  await held2;
  assert.deepEqual(await Promise.all(all), [1, 2, 3]);
});

test('admission: priority orders the queue (lower first, FIFO within one); a full queue drops its least urgent waiter', async () => {
  const a = new Admission({ maxConcurrent: 1, maxQueue: 3, maxQueueWaitMs: 1e9 });
  const order: string[] = [];
  let release!: () => void;
  const held = a.run(() => new Promise<void>((r) => (release = r)), never);
  const job = (name: string, priority: number): Promise<unknown> => a.run(async () => order.push(name), never, priority);
  const low1 = job('low1', 5);
  const urgent1 = job('urgent1', 0);
  const low2 = job('low2', 5);
  // The queue is full (3): an urgent newcomer displaces the last of the least urgent (low2) ...
  const urgent2 = job('urgent2', 0);
  await assert.rejects(low2, (e: unknown) => isPlaitError(e, 'OVERLOADED'));
  // ... and a newcomer no more urgent than the last waiter is refused itself.
  await assert.rejects(job('low3', 5), (e: unknown) => isPlaitError(e, 'OVERLOADED'));
  release();
  await Promise.all([held, low1, urgent1, urgent2]);
  assert.deepEqual(order, ['urgent1', 'urgent2', 'low1']);
});

test('admission: a token budget: a second large request waits although slots are free; no-token requests pass it; a smaller one passes it only within what the budget leaves beside it', async () => {
  const a = new Admission({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 1e9, maxInFlightTokens: 1000 });
  const order: string[] = [];
  let release!: () => void;
  const large1 = a.run(() => new Promise<void>((r) => (release = r)).then(() => order.push('large1')), never, 0, 800);
  assert.deepEqual([a.inFlight, a.tokensInFlight], [1, 800]);
  const large2 = a.run(async () => order.push('large2'), never, 0, 800);
  // Count alone (8 slots) had admitted it: 800 + 800 tokens pass the budget of 1000, so it waits.
  assert.deepEqual([a.inFlight, a.queued], [1, 1]);
  // A search (no tokens) is not held behind the document encoder's queue.
  assert.equal(await a.run(async () => 'search', never, 0, 0), 'search');
  // 800 + 300 does not fit now: it waits behind large2 (FIFO).
  const medium = a.run(async () => order.push('medium'), never, 0, 300);
  assert.equal(a.queued, 2);
  // 800 + 100 fits now, and 100 fits beside large2's 800 once large1 ends: it passes (backfill).
  let releaseSmall!: () => void;
  const small = a.run(() => new Promise<void>((r) => (releaseSmall = r)).then(() => order.push('small')), never, 0, 100);
  assert.deepEqual([a.inFlight, a.tokensInFlight, a.queued], [2, 900, 2]);
  // large2 starts when large1 ends, the small one still running beside it: the pass cost it nothing.
  release();
  await Promise.all([large1, large2, medium]);
  assert.deepEqual(order, ['large1', 'large2', 'medium']);
  releaseSmall();
  await small;
  assert.deepEqual(order, ['large1', 'large2', 'medium', 'small']);
  assert.deepEqual([a.inFlight, a.tokensInFlight, a.queued], [0, 0, 0]);
  // One request larger than the whole budget still runs, alone.
  assert.equal(await a.run(async () => 'huge', never, 0, 5000), 'huge');
});

test('admission: backfilling: a request passes the first waiter for tokens only while the passers fit beside it, and leave it a slot', async () => {
  const a = new Admission({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 1e9, maxInFlightTokens: 1000 });
  const order: string[] = [];
  const gates = new Map<string, () => void>();
  const job = (name: string, tokens: number): Promise<void> => a.run(() => new Promise<void>((r) => gates.set(name, r)).then(() => void order.push(name)), never, 0, tokens);
  const open = (name: string): void => gates.get(name)!();
  const tick = (): Promise<unknown> => new Promise((r) => setImmediate(r));
  /** The jobs started so far, in the order they started. */
  const started = async (): Promise<string[]> => (await tick(), [...gates.keys()]);
  const held = job('held', 500);
  const head = job('head', 600); // 500 + 600 > 1000: waits, and holds the reservation of 600
  // 450 fits now (950) but not beside the head's 600 (1,050): it waits.
  const wide = job('wide', 450);
  // 300 fits now and beside the head: passes; a second 200 would make the passers 500 > 400: waits.
  const s1 = job('s1', 300);
  const s2 = job('s2', 200);
  // 100 more: passers 400 ≤ 400, passes (a smaller one behind s2 may: only the head is protected).
  const s3 = job('s3', 100);
  assert.deepEqual(await started(), ['held', 's1', 's3']);
  assert.deepEqual([a.tokensInFlight, a.queued], [900, 3]);
  // The head starts the moment 'held' ends, beside both passers (400 + 600 = 1000).
  open('held');
  await held;
  assert.deepEqual(await started(), ['held', 's1', 's3', 'head']);
  // Now 'wide' (450) is the first waiter for tokens; 1,000 in flight: nothing fits until tokens drain.
  open('s1');
  await s1;
  // 700 in flight: s2 (200) fits now, and the passers still running (s3, 100) with it stay within
  // 1000 − 450 beside 'wide': it passes.
  assert.deepEqual(await started(), ['held', 's1', 's3', 'head', 's2']);
  open('head');
  open('s3');
  open('s2');
  await Promise.all([head, s3, s2]);
  assert.deepEqual(await started(), ['held', 's1', 's3', 'head', 's2', 'wide']);
  open('wide');
  await wide;
  assert.deepEqual(order, ['held', 's1', 'head', 's3', 's2', 'wide']);
  assert.deepEqual([a.inFlight, a.tokensInFlight, a.queued], [0, 0, 0]);
  // A head larger than the whole budget runs alone: nothing passes it.
  const b = new Admission({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 1e9, maxInFlightTokens: 1000 });
  let freeB!: () => void;
  const heldB = b.run(() => new Promise<void>((r) => (freeB = r)), never, 0, 100);
  const huge = b.run(async () => 'huge', never, 0, 5000);
  let tinyRan = false;
  const tiny = b.run(async () => (tinyRan = true), never, 0, 1);
  await tick();
  assert.deepEqual([b.inFlight, b.queued, tinyRan], [1, 2, false]);
  freeB();
  await Promise.all([heldB, huge, tiny]);
  // A passer leaves the head a slot: with 2 slots, one running and a head waiting, nothing passes.
  const c = new Admission({ maxConcurrent: 2, maxQueue: 10, maxQueueWaitMs: 1e9, maxInFlightTokens: 1000 });
  let freeC!: () => void;
  const heldC = c.run(() => new Promise<void>((r) => (freeC = r)), never, 0, 500);
  const headC = c.run(async () => 'head', never, 0, 600);
  const smallC = c.run(async () => 'small', never, 0, 10);
  await tick();
  assert.deepEqual([c.inFlight, c.queued], [1, 2]);
  freeC();
  assert.deepEqual(await Promise.all([heldC, headC, smallC]), [undefined, 'head', 'small']);
});

test('admission: backfilling never starves the head: small requests that keep overlapping cannot hold the tokens it needs', async () => {
  const a = new Admission({ maxConcurrent: 8, maxQueue: 100, maxQueueWaitMs: 1e9, maxInFlightTokens: 1000 });
  const tick = (): Promise<unknown> => new Promise((r) => setImmediate(r));
  let release!: () => void;
  const held = a.run(() => new Promise<void>((r) => (release = r)), never, 0, 300);
  let headStarted = false;
  const head = a.run(async () => (headStarted = true), never, 0, 800); // 300 + 800 > 1000: waits
  // Two small requests (150 each) arrive at every step, and all but the two newest that started end:
  // had every request that fits now passed the head, two of them (300) would always run, and the
  // head (800) never found its tokens free, even after 'held' ended.
  const smalls: Promise<unknown>[] = [];
  const frees: (() => void)[] = [];
  let freed = 0;
  for (let i = 0; i < 20; i++) {
    for (let k = 0; k < 2; k++) smalls.push(a.run(() => new Promise<void>((r) => frees.push(r)), never, 0, 150));
    await tick();
    while (freed < frees.length - 2) frees[freed++]!();
    await tick();
    if (i === 10) release();
    await tick();
    assert.equal(headStarted, i >= 10, `after ${2 * (i + 1)} small requests`);
  }
  let settled = false;
  void Promise.all([held, head, ...smalls]).then(() => (settled = true));
  while (!settled) {
    while (freed < frees.length) frees[freed++]!();
    await tick();
  }
  assert.deepEqual([a.inFlight, a.tokensInFlight, a.queued], [0, 0, 0]);
});

test('admission: a large request is shed at once on the tokens it would wait for; a small one beside it runs', async () => {
  // The clock stands still: the running request's tokens count whole (none through yet).
  const { a } = clocked({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 100, maxInFlightTokens: 1000 });
  a.seedTokenMs(1); // the warm-up's prior: 1 ms a token
  let release!: () => void;
  const held = a.run(() => new Promise<void>((r) => (release = r)), never, 0, 800);
  // 800 running + 800 of its own − a budget of 1000: 600 tokens to get through first, × 1 ms > 100 ms.
  await assert.rejects(a.run(async () => 0, never, 0, 800), (e: unknown) => isPlaitError(e, 'OVERLOADED') && e.details?.expectedWaitMs === 600 && e.details?.maxInFlightTokens === 1000);
  assert.equal(await a.run(async () => 'small', never, 0, 150), 'small');
  release();
  await held;
});

test('admission: a request with tokens may wait a share of its own deadline for the budget (tokenWaitDeadlineShare); past it, or without a deadline, it is shed', async () => {
  const a = new Admission({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 100, maxInFlightTokens: 1000, tokenWaitDeadlineShare: 0.5 });
  a.seedTokenMs(1);
  let release!: () => void;
  const held = a.run(() => new Promise<void>((r) => (release = r)), never, 0, 800);
  // 600 ms to wait: past maxQueueWaitMs (100) but within half of a 30 s deadline — it queues, and runs once the first ends.
  let ran = false;
  const waited = a.run(async () => (ran = true), never, 0, 800, 30_000);
  await new Promise((r) => setImmediate(r));
  assert.equal(a.queued, 1, 'it waits for the budget');
  assert.equal(ran, false);
  // The same wait is more than half of a 1 s deadline, and no deadline means maxQueueWaitMs alone: both shed at once.
  await assert.rejects(a.run(async () => 0, never, 0, 800, 1000), (e: unknown) => isPlaitError(e, 'OVERLOADED'));
  await assert.rejects(a.run(async () => 0, never, 0, 800), (e: unknown) => isPlaitError(e, 'OVERLOADED'));
  release();
  await held;
  assert.equal(await waited, true);
  // Slots keep maxQueueWaitMs whatever the deadline: a count wait is not stretched by it.
  const one = new Admission({ maxConcurrent: 1, maxQueue: 10, maxQueueWaitMs: 10, maxInFlightTokens: 1000, tokenWaitDeadlineShare: 0.5 });
  one.seedWorkMs(1000);
  let free!: () => void;
  const busy = one.run(() => new Promise<void>((r) => (free = r)), never);
  await assert.rejects(one.run(async () => 0, never, 0, 10, 60_000), (e: unknown) => isPlaitError(e, 'OVERLOADED'));
  free();
  await busy;
});

/** A clock the test moves, and a request whose work ends when the test says. */
function clocked(limits: Omit<ConstructorParameters<typeof Admission>[0], 'now'>): { a: Admission; clock: { t: number } } {
  const clock = { t: 0 };
  return { a: new Admission({ ...limits, now: () => clock.t }), clock };
}
function hold(a: Admission, tokens: number, deadlineMs?: number): { end: () => Promise<void>; ran: Promise<void> } {
  let release!: () => void;
  const ran = a.run(() => new Promise<void>((r) => (release = r)), never, 0, tokens, deadlineMs);
  return {
    ran,
    end: async () => {
      release();
      await ran;
    },
  };
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('admission: a lone small request barely moves the drain rate (its time is fixed costs, not the queue\'s rate)', async () => {
  const { a, clock } = clocked({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 100, maxInFlightTokens: 1000 });
  a.seedTokenMs(1);
  // 10 tokens in 20 ms reads 2 ms a token: an unweighted mean had moved 5% of the way (1.05).
  const r = hold(a, 10);
  await tick();
  clock.t += 20;
  await r.end();
  assert.ok(a.tokenMs > 1 && a.tokenMs < 1.001, `ms per token ${a.tokenMs}`);
});

test('admission: a small request finishing early beside a large one does not lower the drain rate, in either order', async () => {
  for (const smallFirst of [true, false]) {
    const { a, clock } = clocked({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 100, maxInFlightTokens: 8192 });
    a.seedTokenMs(1);
    // 20 rounds of a 7,000-token and a 700-token request started together, all 7,700 tokens through
    // in 7,700 ms: 1 ms a token. Per request (hold ÷ tokens in flight at its start) the small one
    // read 700 ÷ 7,700 = 0.09 ms a token, and the mean fell to ~0.6.
    for (let i = 0; i < 20; i++) {
      const large = hold(a, 7000);
      const small = hold(a, 700);
      await tick();
      clock.t += smallFirst ? 700 : 7000;
      await (smallFirst ? small : large).end();
      clock.t += smallFirst ? 7000 : 700;
      await (smallFirst ? large : small).end();
    }
    assert.ok(Math.abs(a.tokenMs - 1) < 0.01, `${smallFirst ? 'small' : 'large'} first: ms per token ${a.tokenMs}`);
  }
});

test('admission: a steady stream gives the drain rate it was fed; idle time and failed requests\' tokens are not throughput', async () => {
  const { a, clock } = clocked({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 100, maxInFlightTokens: 4000 });
  a.seedTokenMs(2); // the warm-up's prior, four times too slow
  // Two 1,000-token requests in flight at all times, one ending every 500 ms: 0.5 ms a token.
  // Every 10 completions the server idles for 60 s.
  let running = [hold(a, 1000), hold(a, 1000)];
  await tick();
  for (let i = 1; i <= 300; i++) {
    clock.t += 500;
    await running[0]!.end();
    if (i % 10 === 0) {
      clock.t += 500;
      await running[1]!.end();
      clock.t += 60_000;
      running = [hold(a, 1000), hold(a, 1000)];
    } else running = [running[1]!, hold(a, 1000)];
    await tick();
  }
  assert.ok(Math.abs(a.tokenMs - 0.5) < 0.005, `ms per token ${a.tokenMs}`);
  const before = a.tokenMs;
  // A request that fails holds the server's time without getting its tokens through: the rate rises.
  const failing = a.run(async () => {
    clock.t += 500;
    throw new Error('boom');
  }, never, 0, 1000);
  await assert.rejects(failing, /boom/);
  assert.ok(a.tokenMs > before, `a failure read as throughput: ${a.tokenMs} ≤ ${before}`);
  await running[0]!.end();
  await running[1]!.end();
});

test('admission: the expected token wait of a newcomer is the tokens it waits for × the drain rate', async () => {
  const { a, clock } = clocked({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 100, maxInFlightTokens: 4000 });
  a.seedTokenMs(2);
  // Learn 0.5 ms a token: 300 requests of 1,000 tokens, one at a time, 500 ms each.
  for (let i = 0; i < 300; i++) {
    const r = hold(a, 1000);
    await tick();
    clock.t += 500;
    await r.end();
  }
  const rate = a.tokenMs;
  assert.ok(Math.abs(rate - 0.5) < 0.005, `ms per token ${rate}`);
  const running = hold(a, 3000);
  await tick();
  // 3,000 running + 3,000 of its own − a budget of 4,000: 2,000 tokens to get through.
  await assert.rejects(a.run(async () => 0, never, 0, 3000), (e: unknown) => isPlaitError(e, 'OVERLOADED') && e.details?.expectedWaitMs === Math.round(2000 * rate));
  await running.end();
});

test('admission: a wait for tokens counts the request\'s own encoding against its share of the deadline', async () => {
  const { a } = clocked({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 100, maxInFlightTokens: 1000, tokenWaitDeadlineShare: 0.5 });
  a.seedTokenMs(1);
  const running = hold(a, 800);
  await tick();
  // 600 tokens to wait for + its own 800, at 1 ms a token: it ends 1,400 ms from now. Half of a
  // 3 s deadline holds that; half of 2.4 s (1,200 ms) held the wait alone (600 ms), which was all
  // that was counted, but not the wait and the encoding.
  // Refused, told to retry after the wait (600 ms, its Retry-After), not after the wait and the encoding.
  await assert.rejects(a.run(async () => 0, never, 0, 800, 2400), (e: unknown) => isPlaitError(e, 'OVERLOADED') && e.details?.expectedWaitMs === 600);
  const fits = hold(a, 800, 3000);
  await tick();
  assert.equal(a.queued, 1, 'wait + own encoding within half its deadline: it waits');
  await running.end();
  await fits.end();
});

test('admission: a small newcomer that will pass the queued large ones waits for the passers\' tokens, not for theirs', async () => {
  const { a } = clocked({ maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 100, maxInFlightTokens: 1000, tokenWaitDeadlineShare: 0.5 });
  a.seedTokenMs(1);
  const large = hold(a, 800);
  await tick();
  const head = hold(a, 800, 30_000); // waits: its turn is 600 tokens away, within 15 s
  const second = hold(a, 800, 30_000);
  const passer = hold(a, 150); // passes the head: 150 ≤ 1,000 − 800
  await tick();
  assert.deepEqual([a.inFlight, a.tokensInFlight, a.queued], [2, 950, 2]);
  // Another 150 must wait for the passer (150 + 150 > 200 beside the head): 100 tokens, 100 ms at
  // 1 ms a token, within half its 1 s deadline. Counted in turn (950 running + 1,600 queued −
  // 850) it read 1,700 ms and was refused.
  let smallRan = false;
  const small = a.run(async () => (smallRan = true), never, 0, 150, 1000);
  await tick();
  assert.equal(a.queued, 3, 'the small one waits');
  // A third 150 waits behind both passers: 950 + 150 + 150 − 1,000 = 250 tokens, 250 ms.
  await assert.rejects(a.run(async () => 0, never, 0, 150), (e: unknown) => isPlaitError(e, 'OVERLOADED') && e.details?.expectedWaitMs === 250);
  await passer.end();
  assert.equal(await small, true);
  assert.equal(smallRan, true);
  assert.equal(a.queued, 2, 'the large ones still wait');
  await large.end();
  await head.end();
  await second.end();
});

test('admission: a refusal says when the request would be let in if sent again (retryAfterMs), not the whole expected wait', async () => {
  const limits = { maxConcurrent: 8, maxQueue: 10, maxQueueWaitMs: 100, maxInFlightTokens: 1000, tokenWaitDeadlineShare: 0.5 };
  const { a, clock } = clocked(limits);
  a.seedTokenMs(10);
  const running = hold(a, 800);
  await tick();
  // The head waits its turn: 600 tokens (6,000 ms at 10 ms a token) and its own 8,000 ms, within half of 30 s.
  const head = hold(a, 800, 30_000);
  await tick();
  assert.equal(a.queued, 1);
  const refusal = async (deadlineMs?: number): Promise<Record<string, unknown>> => {
    const err = await a.run(async () => 0, never, 0, 800, deadlineMs).then(() => null, (e: unknown) => e);
    assert.ok(isPlaitError(err, 'OVERLOADED'), String(err));
    return err.details ?? {};
  };
  const told = async (deadlineMs?: number): Promise<number[]> => {
    const d = await refusal(deadlineMs);
    return [d.retryAfterMs, d.expectedWaitMs, d.retryLatestMs] as number[];
  };
  // A third 800: 800 running + 800 ahead + its own − 1,000 = 1,400 tokens, 14,000 ms, and its own
  // 8,000 ms: 7,000 ms past half its 30 s deadline. It is let in once the running request completes
  // (8,000 ms from now: the head starts, and 600 tokens, 6,000 ms, are left to wait): Retry-After
  // 8 s, where the whole wait (14 s) had been said. Everything ahead is through at 16,000 ms.
  assert.deepEqual(await told(30_000), [8000, 14_000, 16_000]);
  // 3,000 ms on, the running request is 300 tokens further: told the 5,000 ms left of it. Counted
  // whole until it completes, it had said the same wait again.
  clock.t += 3000;
  assert.deepEqual(await told(30_000), [5000, 14_000, 13_000], 'the time left, not the same wait again');
  // Without a deadline it may wait only maxQueueWaitMs (100 ms): the wait less that, 13,900 ms, less
  // the 3,000 ms of it got through.
  assert.equal((await refusal()).retryAfterMs, 10_900);
  // Sent again when the running request completes, it is let in to wait.
  clock.t += 5000;
  await running.end();
  assert.deepEqual([a.inFlight, a.queued], [1, 0], 'the head started');
  const again = hold(a, 800, 30_000);
  await tick();
  assert.equal(a.queued, 1, 'let in to wait');
  clock.t += 8000;
  await head.end();
  await again.end();
  // A wait for a slot: the same, down to maxQueueWaitMs (1,000 ms of work ahead on 1 slot, 10 ms allowed).
  const { a: one } = clocked({ maxConcurrent: 1, maxQueue: 2, maxQueueWaitMs: 10 });
  one.seedWorkMs(1000);
  const busy = hold(one, 0);
  await tick();
  await assert.rejects(one.run(async () => 0, never), (e: unknown) => isPlaitError(e, 'OVERLOADED') && e.details?.retryAfterMs === 990 && e.details?.expectedWaitMs === 1000);
  await busy.end();
  // A full queue lets one in each time a waiter starts: 3,000 ms for the 2 waiters and itself ÷ 3.
  const { a: full } = clocked({ maxConcurrent: 1, maxQueue: 2, maxQueueWaitMs: 10_000 });
  full.seedWorkMs(1000);
  const holds = [hold(full, 0), hold(full, 0), hold(full, 0)];
  await tick();
  assert.equal(full.queued, 2);
  await assert.rejects(full.run(async () => 0, never), (e: unknown) => isPlaitError(e, 'OVERLOADED') && e.details?.retryAfterMs === 1000 && e.details?.expectedWaitMs === 3000);
  for (const h of holds) await h.end();
});

test('Retry-After: whole seconds, never before retryAfterMs, at least the minimum; jitter within jitterSeconds and the expected wait', () => {
  const exact = { minSeconds: 1, jitterSeconds: 0 };
  // Rounded up (RFC 9110 delay-seconds are whole): 2,000 ms is 2 s, 2,001 ms 3 s; nothing or junk is the minimum.
  assert.deepEqual([retryAfterSeconds(2000, 6000, exact), retryAfterSeconds(2001, 6000, exact), retryAfterSeconds(0, 6000, exact), retryAfterSeconds(undefined, undefined, exact), retryAfterSeconds(Number.NaN, 6000, exact), retryAfterSeconds(-5, 6000, exact)], [2, 3, 1, 1, 1, 1]);
  assert.equal(retryAfterSeconds(300, 500, { minSeconds: 0, jitterSeconds: 0 }), 1, 'any wait at all is at least a second');
  assert.equal(retryAfterSeconds(0, 500, { minSeconds: 0, jitterSeconds: 1 }), 0, 'no wait and no minimum: 0, and no jitter past the expected wait');
  // The refusal above (retry 2,000 ms, whole wait 6,000 ms), as the server answers it: 2 or 3 s, not 6.
  const seen = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const s = retryAfterSeconds(2000, 6000, { minSeconds: 1, jitterSeconds: 1, random: () => i / 100 });
    assert.ok(s === 2 || s === 3, `${s}`);
    seen.add(s);
  }
  assert.deepEqual([...seen].sort(), [2, 3], 'the jitter spreads over both seconds');
  assert.equal(retryAfterSeconds(2000, 6000, { minSeconds: 1, jitterSeconds: 1, random: () => 0.999_999 }), 3);
  // The jitter never takes the retry past the expected wait (floor: 2,500 ms → 2 s), nor past jitterSeconds.
  assert.equal(retryAfterSeconds(2000, 2500, { minSeconds: 1, jitterSeconds: 1, random: () => 0.999_999 }), 2);
  assert.equal(retryAfterSeconds(2000, 4900, { minSeconds: 1, jitterSeconds: 5, random: () => 0.999_999 }), 4);
  assert.equal(retryAfterSeconds(2000, 60_000, { minSeconds: 1, jitterSeconds: 5, random: () => 0.999_999 }), 7);
  // A random source outside [0, 1) cannot push it out of bounds either.
  assert.equal(retryAfterSeconds(2000, 60_000, { minSeconds: 1, jitterSeconds: 1, random: () => 7 }), 3);
  assert.equal(retryAfterSeconds(2000, 60_000, { minSeconds: 1, jitterSeconds: 1, random: () => -1 }), 2);
});

test('request cost: tokens estimated from characters (SERVER_DEFAULTS.charsPerToken), each text cut at the cap when given', () => {
  const c = SERVER_DEFAULTS.charsPerToken;
  const text = 'x'.repeat(Math.round(10 * c));
  assert.equal(estimateTokens([]), 0);
  assert.equal(estimateTokens([text, text]), 20);
  assert.equal(estimateTokens([text, 'x'], 4), 5);
  assert.equal(estimateTokens([text], 0), 10, 'a cap below 1 is no cap');
});

test('request cost: a cross-encoder counts the query once per pair, each pair cut at its window; a pipeline counts its cross stages\' shortlists', () => {
  const c = SERVER_DEFAULTS.charsPerToken;
  const x = (tokens: number): string => 'x'.repeat(Math.floor(tokens * c)); // exactly `tokens` by the estimate
  // Pairs of a 2-token query: (2 + 10) cut at 8, and 2 + 1.
  assert.equal(estimateCrossTokens(x(2), [x(10), x(1)], 8), 8 + 3);
  assert.equal(estimateCrossTokens(x(2), [x(10), x(1)]), 12 + 3);
  assert.equal(estimateCrossTokens(x(2), []), 0);
  const basis = { documents: 500, meanPassageTokens: 99.2, maxPairTokens: 512 };
  // The cross stage scores the previous stage's 200 candidates, each 2 + ⌈99.2⌉ tokens.
  assert.equal(estimatePipelineTokens(parsePipeline('bm25:1000 > late:200 > cross:20'), x(2), basis), 200 * 102);
  assert.equal(estimatePipelineTokens(parsePipeline('bm25:1000 > late:200 > cross:20'), x(2), { ...basis, maxPairTokens: 64 }), 200 * 64);
  // At most the index's documents; every cross stage counts; none, or an empty index, is 0.
  assert.equal(estimatePipelineTokens(parsePipeline('bm25:1000 > cross:20'), x(2), { ...basis, documents: 50 }), 50 * 102);
  assert.equal(estimatePipelineTokens(parsePipeline('bm25:100 > cross:50 > cross:10'), x(2), basis), 100 * 102 + 50 * 102);
  assert.equal(estimatePipelineTokens(parsePipeline('bm25:100 > late:10'), x(2), basis), 0);
  assert.equal(estimatePipelineTokens(parsePipeline('bm25:100 > cross:10'), x(2), { documents: 0, meanPassageTokens: 0 }), 0);
});

test('byte LRU: bounded in bytes, evicts least recently used, counts hits and misses', () => {
  const c = new ByteLruCache<string>(100);
  c.set('a', 'A', 30); // 32 bytes with the key
  c.set('b', 'B', 30);
  c.set('c', 'C', 30);
  assert.equal(c.bytes, 96);
  assert.equal(c.get('a'), 'A'); // a is now the most recent
  c.set('d', 'D', 30); // evicts b
  assert.equal(c.get('b'), undefined);
  assert.deepEqual([c.get('a'), c.get('c'), c.get('d')], ['A', 'C', 'D']);
  assert.ok(c.bytes <= 100);
  assert.equal(c.hits, 4);
  assert.equal(c.misses, 1);
  c.set('huge', 'H', 1000); // larger than the budget: not stored, nothing evicted
  assert.equal(c.size, 3);
});

test('status table: every library code has a status; the documented mapping', () => {
  for (const code of Object.keys(ERROR_TEMPLATES)) assert.ok(code in HTTP_STATUS, code);
  assert.deepEqual(
    ['INVALID_ARGUMENT', 'UNAUTHORIZED', 'INDEX_NOT_FOUND', 'QUERY_TOO_LARGE', 'OVERLOADED', 'TIMEOUT', 'INTERNAL'].map(statusFor),
    [400, 401, 404, 413, 503, 504, 500],
  );
  assert.equal(toPlaitError(new SyntaxError('x')).code, 'INVALID_ARGUMENT');
  assert.equal(toPlaitError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }).code, 'QUERY_TOO_LARGE');
  // A route's body kind names its 413 (a write body is not a query); each is a 413.
  assert.equal(toPlaitError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }, 1024, undefined, 'write').code, 'WRITE_TOO_LARGE');
  assert.equal(toPlaitError({ statusCode: 413 }, 1024, undefined, 'encode').code, 'ENCODE_TOO_LARGE');
  assert.deepEqual(['WRITE_TOO_LARGE', 'ENCODE_TOO_LARGE', 'DOCUMENT_EXISTS', 'DUPLICATE_ID'].map(statusFor), [413, 413, 409, 400]);
  assert.equal(toPlaitError(new TypeError('a bug')).code, 'INTERNAL');
});

test('API key comparison: exact bearer match only', () => {
  const key = 'secret-key-0123456789';
  assert.equal(keyMatches(`Bearer ${key}`, key), true);
  assert.equal(keyMatches(`bearer ${key}`, key), true);
  assert.equal(keyMatches(`Bearer ${key}x`, key), false);
  assert.equal(keyMatches(key, key), false);
  assert.equal(keyMatches(undefined, key), false);
});

test('server options: defaults, loopback, PLAIT_API_KEY, typos and bad values refused', () => {
  const o = resolveServerOptions({}, {});
  assert.equal(o.host, '127.0.0.1');
  assert.equal(o.apiKey, undefined);
  assert.deepEqual(o.corsOrigins, []);
  assert.equal(resolveServerOptions({}, { PLAIT_API_KEY: 'k'.repeat(16) }).apiKey, 'k'.repeat(16));
  assert.throws(() => resolveServerOptions({ maxConcurent: 3 } as never, {}), /unknown server option "maxConcurent" \(did you mean "maxConcurrent"\?\)/);
  assert.throws(() => resolveServerOptions({ port: 70000 }, {}), /port/);
  assert.throws(() => resolveServerOptions({ apiKey: 'short' }, {}), /apiKey/);
  // The token budget: one encoder thread's worth per encoder thread, at least one thread's.
  assert.equal(o.maxInFlightTokens, SERVER_DEFAULTS.inFlightTokensPerEncoderThread);
  assert.equal(resolveServerOptions({ encoderThreads: 2 }, {}).maxInFlightTokens, 2 * SERVER_DEFAULTS.inFlightTokensPerEncoderThread);
  assert.equal(resolveServerOptions({ encoderThreads: 0 }, {}).maxInFlightTokens, SERVER_DEFAULTS.inFlightTokensPerEncoderThread);
  assert.equal(resolveServerOptions({ maxInFlightTokens: 500 }, {}).maxInFlightTokens, 500);
  assert.throws(() => resolveServerOptions({ maxInFlightTokens: 0 }, {}), /maxInFlightTokens/);
});
