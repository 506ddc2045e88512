/**
 * Large reranks and admission, through HTTP: a count of slots alone admitted every large rerank at
 * once (eight on a 2-core machine, each then eight times slower, most past their deadline); the
 * token budget (`maxInFlightTokens`) admits one, tells the next to retry at once (503 +
 * Retry-After), and still lets a search through beside it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { RunningServer } from '../src/server/index.js';
import { PLAIT_BIN } from './helpers/plait-serve.js';
import { buildSample, distinctDocuments, metricValue, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { plaitError } from './helpers/error-shape.js';

let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-server-rerank-admission-');
  // A budget of 4,000 estimated tokens: one request below of ~3,200 fits, two do not.
  server = await serve(sample, { maxInFlightTokens: 4000 });
});
after(async () => {
  await server?.close();
  await sample?.dispose();
});



test('a second large rerank without the time to wait is told to retry at once while the first runs; a search still passes', async () => {
  // 40 × 320 characters ≈ 3,200 estimated tokens: seconds of encoding on the bundled model.
  const first = postJson(`${server.url}/rerank`, { query: 'how does bread rise', texts: distinctDocuments('first', 40, 320) });
  // Wait until the first holds its slot (an event, not a sleep): it encodes for seconds from here.
  while ((await metricValue(server.url, 'plait_admission_in_flight')) < 1) await new Promise((r) => setTimeout(r, 5));
  const tokens = await metricValue(server.url, 'plait_admission_tokens_in_flight');
  assert.ok(tokens > 3000 && tokens <= 4000, `the first holds its estimated tokens (${tokens})`);
  const t = performance.now();
  // Its 1 s deadline leaves it SERVER_DEFAULTS.tokenWaitDeadlineShare × 1 s = 333 ms to wait and encode (and
  // maxQueueWaitMs, 500): ~3,200 tokens ahead at the bundled model's ~0.55 ms a token is seconds.
  const second = await postJson(`${server.url}/rerank`, { query: 'how does bread rise', texts: distinctDocuments('second', 40, 320), timeout_ms: 1000 });
  const secondMs = performance.now() - t;
  const search = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', top_k: 2 });
  const firstAnswer = await first;
  assert.equal(firstAnswer.status, 200, JSON.stringify(firstAnswer.body));
  // Admitted beside the first (a count of 8 slots) it had run at half speed: 200, later.
  // Shed: 429 on TEI's route, TEI's status for Overloaded (503 on plait's and Cohere's routes).
  assert.equal(second.status, 429, JSON.stringify(second.body));
  assert.equal(plaitError(second.body).code, 'OVERLOADED');
  assert.equal(plaitError(second.body).details!.max_in_flight_tokens, 4000);
  // Retry-After is when it would be let in if sent again (retry_after_ms: here, once the first is
  // through, which is all of the budget it may wait for), rounded up to seconds (at least 1), plus at
  // most a second of jitter that stays within retry_latest_ms (everything ahead through).
  const details = plaitError(second.body).details!;
  assert.equal(typeof details.retry_after_ms, 'number', JSON.stringify(details));
  assert.ok(details.retry_latest_ms >= details.retry_after_ms, JSON.stringify(details));
  const least = Math.max(1, Math.ceil(details.retry_after_ms / 1000));
  const retryAfter = Number(second.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= least && retryAfter <= Math.max(least, Math.floor(details.retry_latest_ms / 1000)), `Retry-After ${retryAfter}: ${JSON.stringify(details)}`);
  assert.equal(search.status, 200, 'a search counts no document tokens: it is not held behind the reranks');
  assert.ok(secondMs < 5000, `the refusal came at once (${Math.round(secondMs)} ms), not after the first ended`);
});

test('a second large rerank with time to spare waits its turn and is answered, after the first (not beside it)', async () => {
  // A plain client (no retries) sending two at once got one 503 while 500 ms (maxQueueWaitMs) was
  // the most a rerank could wait; with time to spare it waits while its wait and its own encoding
  // end within a third of its deadline. 300 s (the most a request may ask): its third is ten times
  // the ~6,400 tokens' ~2.6 s at 0.4 ms a token (the drain rate measured on a loaded 2-core host),
  // so the test does not hang on the host's speed.
  const spare = 300_000;
  let firstDone = false;
  let secondDone = false;
  const first = postJson(`${server.url}/rerank`, { query: 'how does bread rise', texts: distinctDocuments('first-spare', 40, 320), timeout_ms: spare }).then((r) => ((firstDone = true), { r, at: performance.now() }));
  while (!firstDone && (await metricValue(server.url, 'plait_admission_in_flight')) < 1) await new Promise((r) => setTimeout(r, 5));
  const second = postJson(`${server.url}/rerank`, { query: 'how does bread rise', texts: distinctDocuments('second-spare', 40, 320), timeout_ms: spare }).then((r) => ((secondDone = true), { r, at: performance.now() }));
  // It waits in the queue (an event: the gauge), not beside the first; a refusal ends the wait (and fails below).
  let queued = false;
  while (!secondDone && !(queued = (await metricValue(server.url, 'plait_admission_queue_depth')) >= 1)) await new Promise((r) => setTimeout(r, 5));
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.r.status, 200, JSON.stringify(a.r.body));
  assert.equal(b.r.status, 200, JSON.stringify(b.r.body));
  assert.ok(queued, 'the second waited in the queue for the budget');
  assert.ok(b.at >= a.at, 'the second is answered after the first');
});

test('a small rerank passes the large ones waiting for the budget (backfilling): answered before the next large one, not after every large one queued', async () => {
  const done = { first: false, second: false, third: false };
  const large = (tag: 'first' | 'second' | 'third'): Promise<{ r: Awaited<ReturnType<typeof postJson>>; at: number }> =>
    // 300 s: the third waits while its wait and its own encoding (~9,600 tokens) end within a third of it.
    postJson(`${server.url}/rerank`, { query: 'how does bread rise', texts: distinctDocuments(`${tag}-fill`, 40, 320), timeout_ms: 300_000 }).then((r) => ((done[tag] = true), { r, at: performance.now() }));
  const first = large('first');
  while (!done.first && (await metricValue(server.url, 'plait_admission_in_flight')) < 1) await new Promise((r) => setTimeout(r, 5));
  const second = large('second');
  const third = large('third');
  while (!done.first && (await metricValue(server.url, 'plait_admission_queue_depth')) < 2) await new Promise((r) => setTimeout(r, 5));
  // 3 short documents (~40 estimated tokens) fit now beside the first, and beside the second's
  // ~3,200 within the budget of 4,000 when it starts. FIFO among waiters for tokens had held them
  // until the third large one started, i.e. after the second had ended.
  const small = await postJson(`${server.url}/rerank`, { query: 'how does bread rise', texts: distinctDocuments('small-fill', 3, 40) });
  const smallAt = performance.now();
  const answers = await Promise.all([first, second, third]);
  assert.equal(small.status, 200, JSON.stringify(small.body));
  for (const a of answers) assert.equal(a.r.status, 200, JSON.stringify(a.r.body));
  assert.ok(smallAt < answers[1].at, 'the small rerank was answered before the second large one, which waited ahead of it');
});

test('/metrics shows admission\'s drain rate: the warm-up\'s prior, then what the large reranks above achieved', async () => {
  const s = await metricValue(server.url, 'plait_admission_token_drain_seconds');
  // The bundled model encodes ~0.55 ms a token idle; a loaded host several times that.
  assert.ok(Number.isFinite(s) && s > 0.00001 && s < 0.1, `seconds a token: ${s}`);
});

test('/metrics counts admission\'s busy time and the token budget\'s occupancy: the large reranks above held both', async () => {
  // The reranks above encoded for seconds; the occupancy is at most the busy time (a share of the budget).
  const busy = await metricValue(server.url, 'plait_admission_token_busy_seconds_total');
  const budget = await metricValue(server.url, 'plait_admission_token_budget_seconds_total');
  assert.ok(Number.isFinite(busy) && busy > 0.1, `busy seconds ${busy}`);
  assert.ok(Number.isFinite(budget) && budget > 0.05 && budget <= busy + 1e-6, `budget seconds ${budget} ≤ busy ${busy}`);
});

test('plait serve --max-in-flight-tokens: in --help with its default, and a value below 1 refused naming it', () => {
  const help = spawnSync(process.execPath, [PLAIT_BIN, 'serve', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout.replace(/\s+/g, ' '), /--max-in-flight-tokens <n> .*default: 8192 × --encoder-threads/);
  const r = spawnSync(process.execPath, [PLAIT_BIN, 'serve', '--port', '0', '--max-in-flight-tokens', '0'], { encoding: 'utf8', env: { ...process.env, PLAIT_API_KEY: undefined } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /for --max-in-flight-tokens but received "0"/);
});
