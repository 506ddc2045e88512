/**
 * Integer options take decimal digits only: JavaScript's Number() read "0x10" as 16 and "1e3" as
 * 1000, so `plait search -k 0x10` searched for 16 results and `plait serve --port 1e3` listened on
 * 1000. One strict parser (src/config/parse-number.ts) reads every number of the command line;
 * the server's JSON bodies take JSON numbers (1e3 is the number 1000) and refuse strings where an
 * integer is expected, naming the field and its range. Hand-written cases, then through the CLI
 * and a served sample index.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPlaitError } from '../src/index.js';
import { parseDecimal, parseInteger } from '../src/config/parse-number.js';
import { FUSION_LIMITS, SEARCH_DEFAULTS, SERVER_DEFAULTS, THREAD_LIMITS } from '../src/config/defaults.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import type { RunningServer } from '../src/server/index.js';
import { resolveServerOptions } from '../src/server/options.js';
import { MAX_TIMER_MS } from '../src/search/deadline.js';
import { runPlait } from './helpers/cli.js';
import { buildSample, serve, type SampleIndex } from './helpers/server-fixture.js';

const NOT_DECIMAL_INTEGERS = ['0x10', '1e3', '1E3', '1.0', '1.', '.5', '0b11', '0o7', '1_000', ' 5', '5 ', '', ' ', 'Infinity', '-', '+', '12abc', '９', '9007199254740993'];

test('parseInteger: optionally signed decimal digits in range; everything else refused with the name and the range', () => {
  assert.equal(parseInteger('topK', '16', 1, 100), 16);
  assert.equal(parseInteger('topK', '007', 1, 100), 7);
  assert.equal(parseInteger('topK', '+7', 1, 100), 7);
  assert.equal(parseInteger('offset', '-3', -10, 10), -3);
  assert.equal(parseInteger('port', '0', 0), 0);
  assert.equal(parseInteger('big', '9007199254740991', 0), Number.MAX_SAFE_INTEGER);
  for (const text of NOT_DECIMAL_INTEGERS) {
    assert.throws(
      () => parseInteger('topK', text, 1, 10000),
      (e: unknown) =>
        isPlaitError(e, 'INVALID_ARGUMENT') &&
        e.message === `Invalid argument: Expected an integer in [1, 10000] for topK but received ${JSON.stringify(text)}` &&
        e.details?.['name'] === 'topK' &&
        e.details?.['min'] === 1 &&
        e.details?.['max'] === 10000,
      JSON.stringify(text),
    );
  }
  // Out of range, in either direction, and a negative where none is meaningful.
  for (const text of ['0', '10001', '-3']) assert.throws(() => parseInteger('topK', text, 1, 10000), /Expected an integer in \[1, 10000\] for topK/);
  assert.throws(() => parseInteger('threads', '-1', 0), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /Expected an integer >= 0 for threads but received "-1"/.test(e.message) && e.details?.['max'] === undefined);
});

test('parseDecimal: decimal fractions and exponents; hexadecimal, Infinity, white space refused', () => {
  assert.equal(parseDecimal('alpha', '0.5', 0, 1), 0.5);
  assert.equal(parseDecimal('alpha', '.25', 0, 1), 0.25);
  assert.equal(parseDecimal('eta', '5e-3'), 0.005);
  assert.equal(parseDecimal('threshold', '-1.5'), -1.5);
  for (const text of ['0x1', 'Infinity', '-Infinity', 'NaN', ' 0.5', '', '1e', '1.2.3', '0b1']) {
    assert.throws(() => parseDecimal('alpha', text, 0, 1), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.message.endsWith(`Expected a number in [0, 1] for alpha but received ${JSON.stringify(text)}`), text);
  }
  assert.throws(() => parseDecimal('alpha', '1.5', 0, 1), /Expected a number in \[0, 1\] for alpha but received "1.5"/);
});

test('the CLI refuses "0x10" and "1e3" for integer options (exit 2, INVALID_ARGUMENT naming the option and its range)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-strict-int-'));
  try {
    const cases: [string[], RegExp][] = [
      [['search', 'no-such-index', 'q', '-k', '0x10'], /Expected an integer in \[1, 10000\] for -k but received "0x10" \[INVALID_ARGUMENT\]/],
      [['search', 'no-such-index', 'q', '-k', '1e1'], /Expected an integer in \[1, 10000\] for -k but received "1e1" \[INVALID_ARGUMENT\]/],
      [['serve', 'no-such-index', '--port', '1e3'], /Expected an integer >= 0 for --port but received "1e3" \[INVALID_ARGUMENT\]/],
      [['serve', 'no-such-index', '--max-concurrent', '0x4'], /Expected an integer >= 1 for --max-concurrent but received "0x4" \[INVALID_ARGUMENT\]/],
      [['search', 'no-such-index', 'q', '--alpha', '0x1'], /Expected a number in \[0, 1\] for --alpha but received "0x1" \[INVALID_ARGUMENT\]/],
      [['explain', 'no-such-index', 'q', '0x10', '--pid'], /Expected an integer >= 0 for --pid but received "0x10" \[INVALID_ARGUMENT\]/],
    ];
    for (const [args, message] of cases) {
      const r = runPlait(dir, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    const json = runPlait(dir, ['search', 'no-such-index', 'q', '-k', '0x10', '--json']);
    const err = (JSON.parse(json.stderr.trim()) as { error: { code: string; details: Record<string, unknown> } }).error;
    assert.deepEqual([err.code, err.details['name'], err.details['min'], err.details['max'], err.details['received']], ['INVALID_ARGUMENT', 'topK', 1, SEARCH_DEFAULTS.maxTopK, '0x10']);
    // A decimal value passes the parser: the command goes on to look for the index.
    assert.match(runPlait(dir, ['search', 'no-such-index', 'q', '-k', '16']).stderr, /INDEX_NOT_FOUND/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decimal options with an open range name it whether the text is no number or out of range (calibrate --target, --budget-s, --max-cost-ratio; ltr train --eta, --valid-fraction); ltr train names its library fields', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-strict-dec-'));
  try {
    const cases: [string[], string][] = [
      [['calibrate', 'no-such-index', '--target', 'x'], 'Expected a number in (0, 1] for --target but received "x"'],
      [['calibrate', 'no-such-index', '--target', '0'], 'Expected a number in (0, 1] for --target but received "0"'],
      [['calibrate', 'no-such-index', '--target', '1.5'], 'Expected a number in (0, 1] for --target but received "1.5"'],
      [['calibrate', 'no-such-index', '--budget-s', '0x1'], 'Expected a number > 0 for --budget-s but received "0x1"'],
      [['calibrate', 'no-such-index', '--budget-s', '-0.5'], 'Expected a number > 0 for --budget-s but received "-0.5"'],
      [['calibrate', 'no-such-index', '--max-cost-ratio', 'NaN'], 'Expected a number > 0 (or Infinity / none: no ceiling) for --max-cost-ratio but received "NaN"'],
      [['ltr', 'train', 'no-such-index', '--queries', 'q.tsv', '--qrels', 'r.tsv', '--eta', '1,5'], 'Expected a number > 0 for --eta but received "1,5"'],
      [['ltr', 'train', 'no-such-index', '--queries', 'q.tsv', '--qrels', 'r.tsv', '--eta', '-0.5'], 'Expected a number > 0 for --eta but received "-0.5"'],
      [['ltr', 'train', 'no-such-index', '--queries', 'q.tsv', '--qrels', 'r.tsv', '--valid-fraction', 'Infinity'], 'Expected a number in (0, 1) for --valid-fraction but received "Infinity"'],
      [['ltr', 'train', 'no-such-index', '--queries', 'q.tsv', '--qrels', 'r.tsv', '--valid-fraction', '1'], 'Expected a number in (0, 1) for --valid-fraction but received "1"'],
      // Every option is named as it is typed (--max-depth, not the library field maxDepth: cli/main.ts nameFlagsInValueErrors).
      [['ltr', 'train', 'no-such-index', '--queries', 'q.tsv', '--qrels', 'r.tsv', '--max-depth', '0'], 'Expected an integer >= 1 for --max-depth but received "0"'],
      [['ltr', 'train', 'no-such-index', '--queries', 'q.tsv', '--qrels', 'r.tsv', '--max-rounds', '1e3'], 'Expected an integer >= 1 for --max-rounds but received "1e3"'],
      [['ltr', 'train', 'no-such-index', '--queries', 'q.tsv', '--qrels', 'r.tsv', '--early-stopping', '-1'], 'Expected an integer >= 0 for --early-stopping but received "-1"'],
    ];
    for (const [args, message] of cases) {
      const r = runPlait(dir, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim(), `plait: Invalid argument: ${message} [INVALID_ARGUMENT]`, args.join(' '));
    }
    // In range, the value passes: the command goes on to look for the index.
    assert.match(runPlait(dir, ['calibrate', 'no-such-index', '--target', '.5', '--max-cost-ratio', 'none']).stderr, /INDEX_NOT_FOUND/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

let sample: SampleIndex;
let server: RunningServer;
before(async () => {
  sample = await buildSample('plait-strict-int-server-');
  server = await serve(sample);
});
after(async () => {
  await server?.close();
  await sample?.dispose();
});

async function postRaw(path: string, body: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: await res.json() };
}

test('the server: a JSON number such as 1e3 is an integer; a string such as "0x10" or "16" is a 400 naming the field and its range', async () => {
  // 1e3 is the JSON number 1000 (JSON.parse cannot tell it from 1000): every document of the sample comes back.
  const e3 = await postRaw('/v1/indexes/sample/search', '{"query": "honey bees", "top_k": 1e3}');
  assert.equal(e3.status, 200, JSON.stringify(e3.body));
  assert.equal(e3.body.results[0].hits.length, sample.index.manifest.counts.documents);
  const range = `an integer in [1, ${SEARCH_DEFAULTS.maxTopK}]`;
  for (const [value, shown] of [['"0x10"', '"0x10"'], ['"16"', '"16"'], ['1.5', '1.5'], ['0', '0'], [String(SEARCH_DEFAULTS.maxTopK + 1), String(SEARCH_DEFAULTS.maxTopK + 1)]] as const) {
    const r = await postRaw('/v1/indexes/sample/search', `{"query": "honey bees", "top_k": ${value}}`);
    assert.equal(r.status, 400, value);
    assert.equal(r.body.error.code, 'INVALID_ARGUMENT');
    assert.equal(r.body.error.message, `Invalid argument: Expected ${range} for body/top_k but received ${shown}`, value);
    assert.deepEqual([r.body.error.details.field, r.body.error.details.min, r.body.error.details.max], ['body/top_k', 1, SEARCH_DEFAULTS.maxTopK]);
  }
  // timeout_ms, whose upper bound is the server's maxTimeoutMs (not in the schema), on a write route: its whole range is named; nothing is written.
  const w = await postRaw('/v1/indexes/sample/documents', '{"documents": [{"doc_id": "x", "text": "y"}], "timeout_ms": "0x10"}');
  assert.equal(w.status, 400);
  assert.equal(w.body.error.message, `Invalid argument: Expected an integer in [1, ${SERVER_DEFAULTS.maxTimeoutMs}] for body/timeout_ms but received "0x10"`);
});

test('the server: a timeout_ms past the server\'s longest deadline is refused as the schema refuses integers (body/timeout_ms, its whole range, details.min and max), on search and on a write', async () => {
  const max = SERVER_DEFAULTS.maxTimeoutMs;
  const range = `an integer in [1, ${max}]`;
  const ok = await postRaw('/v1/indexes/sample/search', `{"query": "honey bees", "top_k": 1, "timeout_ms": ${max}}`);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  for (const path of ['/v1/indexes/sample/search', '/v1/indexes/sample/documents']) {
    const body = path.endsWith('search') ? `{"query": "honey bees", "timeout_ms": ${max + 1}}` : `{"documents": [{"doc_id": "late", "text": "y"}], "timeout_ms": ${max + 1}}`;
    const r = await postRaw(path, body);
    assert.equal(r.status, 400, path);
    assert.equal(r.body.error.code, 'INVALID_ARGUMENT');
    assert.equal(r.body.error.message, `Invalid argument: Expected ${range} for body/timeout_ms but received ${max + 1}`, path);
    assert.deepEqual([r.body.error.details.field, r.body.error.details.min, r.body.error.details.max], ['body/timeout_ms', 1, max], path);
  }
  // Nothing of the refused write was committed.
  const after = await postRaw('/v1/indexes/sample/search', '{"query": "y", "top_k": 1e3, "mode": "bm25"}');
  assert.ok(!after.body.results[0].hits.some((h: { doc_id: string }) => h.doc_id === 'late'));
});

test('durations that become Node timers stop at 2^31 - 1 ms (a longer timer fires after 1 ms): serve --drain-timeout-ms, the server options, a search timeoutMs', async () => {
  // `--drain-timeout-ms 3000000000` had drained for ~1 ms and answered the writes in flight 503.
  const dir = mkdtempSync(join(tmpdir(), 'plait-strict-timer-'));
  try {
    const drain = runPlait(dir, ['serve', 'no-such-index', '--drain-timeout-ms', String(MAX_TIMER_MS + 1)]);
    assert.equal(drain.code, 2, drain.stderr);
    assert.equal(drain.stderr.trim(), `plait: Invalid argument: Expected an integer in [0, ${MAX_TIMER_MS}] for --drain-timeout-ms but received "${MAX_TIMER_MS + 1}" [INVALID_ARGUMENT]`);
    // --timeout-ms names its whole range in one message (it said "at most maxTimeoutMs (300000)").
    const timeout = runPlait(dir, ['serve', 'no-such-index', '--timeout-ms', String(SERVER_DEFAULTS.maxTimeoutMs + 1)]);
    assert.equal(timeout.stderr.trim(), `plait: Invalid argument: Expected an integer in [1, ${SERVER_DEFAULTS.maxTimeoutMs}] for --timeout-ms but received "${SERVER_DEFAULTS.maxTimeoutMs + 1}" [INVALID_ARGUMENT]`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const key of ['drainTimeoutMs', 'timeoutMs', 'maxTimeoutMs', 'refreshIntervalMs'] as const) {
    assert.throws(() => resolveServerOptions({ [key]: MAX_TIMER_MS + 1, ...(key === 'timeoutMs' ? { maxTimeoutMs: MAX_TIMER_MS } : {}) }, {}), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.message.includes(`[${key === 'drainTimeoutMs' || key === 'refreshIntervalMs' ? 0 : 1}, ${MAX_TIMER_MS}] for ${key}`), key);
    assert.equal(resolveServerOptions({ [key]: MAX_TIMER_MS, ...(key === 'timeoutMs' ? { maxTimeoutMs: MAX_TIMER_MS } : {}) }, {})[key], MAX_TIMER_MS, key);
  }
  await assert.rejects(sample.index.search('honey bees', { topK: 1, timeoutMs: MAX_TIMER_MS + 1 }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.message === `Invalid argument: Expected a number in (0, ${MAX_TIMER_MS}] for timeoutMs but received ${MAX_TIMER_MS + 1}`);
  assert.equal((await sample.index.search('honey bees', { topK: 1, timeoutMs: MAX_TIMER_MS })).hits.length, 1);
});

test('rrfK is an integer in [1, FUSION_LIMITS.maxRrfK] in the library and over HTTP (1e20 had tied every score at 2e-20, -5 given Infinity, NaN NaN)', async () => {
  const max = FUSION_LIMITS.maxRrfK;
  for (const bad of [1e20, -5, 0, 0.5, Number.NaN, max + 1]) {
    await assert.rejects(
      sample.index.search('honey bees', { topK: 3, mode: 'hybrid', fusion: 'rrf', rrfK: bad }),
      (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.message === `Invalid argument: Expected an integer in [1, ${max}] for rrfK but received ${bad}`,
      String(bad),
    );
  }
  const ok = await sample.index.search('honey bees', { topK: 3, mode: 'hybrid', fusion: 'rrf', rrfK: max });
  assert.ok(ok.hits.length > 0 && ok.hits.every((h) => Number.isFinite(h.score) && h.score > 0));
  const r = await postRaw('/v1/indexes/sample/search', '{"query": "honey bees", "mode": "hybrid", "fusion": "rrf", "rrf_k": 1e20}');
  assert.equal(r.status, 400);
  assert.equal(r.body.error.message, `Invalid argument: Expected an integer in [1, ${max}] for body/rrf_k but received 100000000000000000000`);
  assert.deepEqual([r.body.error.details.min, r.body.error.details.max], [1, max]);
});

test('thread counts stop at THREAD_LIMITS.maxThreads (a typo such as --threads 100000 tried to start that many onnxruntime workers): CLI, server options, the library', async () => {
  const max = THREAD_LIMITS.maxThreads;
  const dir = mkdtempSync(join(tmpdir(), 'plait-strict-threads-'));
  try {
    const cases: [string[], string][] = [
      [['index', join(dir, 'corpus.jsonl'), '--index', join(dir, 'idx'), '--threads', '100000'], '--threads'],
      [['serve', 'no-such-index', '--workers', String(max + 1)], '--workers'],
      [['serve', 'no-such-index', '--encoder-threads', String(max + 1)], '--encoder-threads'],
      // Named as the other options are, by the flag typed (cli/main.ts nameFlagsInValueErrors).
      [['search', 'no-such-index', 'q', '--cross-threads', String(max + 1)], '--cross-threads'],
    ];
    for (const [args, name] of cases) {
      const r = runPlait(dir, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      // --workers also takes auto (serve's default), and its message says so.
      assert.match(r.stderr, new RegExp(`Expected (auto or )?an integer in \\[0, ${max}\\] for ${name} but received`), args.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const key of ['scoringWorkers', 'encoderThreads'] as const) {
    assert.throws(() => resolveServerOptions({ [key]: max + 1 }, {}), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.message.includes(`[0, ${max}] for ${key}`), key);
  }
  await assert.rejects(createEncoder({ family: 'use-lite' }, { threads: max + 1 }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.message.includes(`[0, ${max}]`));
});
