/**
 * Explanations on the exact stage that ran (polish5): for every codec width (1, 2, 4 bits and
 * ternary) and every exact-scoring method PLAIT_EXACT_SCORING can ask for, the contributions of
 * `explain` sum to the score search gave the passage. Before, explain decompressed for every
 * method but fast-scan, so on a ternary index (scored on its byte table) and under 'codes' /
 * 'codes-normalized' the sum missed the search score (cisi-ternary: 5.5965 against 5.5886).
 * Library (PLAID and exhaustive, IDF on and off), CLI (`plait search --json` against
 * `plait explain --json`) and HTTP (the search and explain routes). Sample corpus, bundled model.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, openIndex, nbitsName, TERNARY_NBITS, EXACT_SCORING_METHODS, type PlaitIndex } from '../src/index.js';
import type { RunningServer } from '../src/server/index.js';
import { borrowedSample, postJson, serve, SAMPLE } from './helpers/server-fixture.js';
import { runPlait } from './helpers/cli.js';

const WIDTHS = [1, 2, 4, TERNARY_NBITS] as const;
const QUERIES = ['why does bread dough rise with yeast', 'wings and lift on an aircraft'];
let dir: string;
const paths = new Map<number, string>();
const indexes = new Map<number, PlaitIndex>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-explain-exact-'));
  for (const nbits of WIDTHS) {
    const path = join(dir, `sample-${nbits}`);
    await buildIndex(SAMPLE, { index: path, nbits, encoderOptions: { threads: 1 } });
    paths.set(nbits, path);
    indexes.set(nbits, await openIndex(path, { encoderOptions: { threads: 1 } }));
  }
});

after(async () => {
  for (const index of indexes.values()) await index.close();
  delete process.env.PLAIT_EXACT_SCORING;
  rmSync(dir, { recursive: true, force: true });
});

/** Σ contributions in float32, i ascending: the kernels' order. */
const f32Sum = (xs: readonly { contribution: number }[]): number => xs.reduce((s, t) => Math.fround(s + t.contribution), 0);

for (const method of EXACT_SCORING_METHODS) {
  test(`library: contributions sum to the search score at every width under PLAIT_EXACT_SCORING=${method}`, async () => {
    process.env.PLAIT_EXACT_SCORING = method;
    try {
      for (const nbits of WIDTHS) {
        const index = indexes.get(nbits)!;
        for (const query of QUERIES) {
          for (const exhaustive of [false, true]) {
            for (const idfWeighting of [true, false]) {
              const { hits } = await index.search(query, { mode: 'late', exhaustive, topK: 3, idfWeighting });
              assert.ok(hits.length > 0);
              for (const hit of hits) {
                const ex = await index.explain(query, hit.docId, { mode: 'late', idfWeighting });
                const what = `${nbitsName(nbits)} bits, ${method}, ${query}, ${hit.docId}, exhaustive=${exhaustive}, idf=${idfWeighting}`;
                assert.equal(ex.pid, hit.pid, what);
                assert.equal(f32Sum(ex.tokens), ex.lateScore, what);
                assert.ok(Math.abs(ex.lateScore - hit.score) <= 1e-5, `${what}: explained ${ex.lateScore}, searched ${hit.score}`);
              }
            }
          }
        }
      }
    } finally {
      delete process.env.PLAIT_EXACT_SCORING;
    }
  });
}

test('the methods differ: a test that only checked one method could not tell them apart', async () => {
  // The same passage explained under each method: 'codes' (no norm) and 'codes-normalized' (an
  // approximate norm) give other similarities than decompression, so matching each method's own
  // search score is a real constraint.
  const index = indexes.get(2)!;
  const query = QUERIES[0]!;
  const scores = new Map<string, number>();
  try {
    for (const method of EXACT_SCORING_METHODS) {
      process.env.PLAIT_EXACT_SCORING = method;
      scores.set(method, (await index.explain(query, 'bread-yeast', { mode: 'late' })).lateScore);
    }
  } finally {
    delete process.env.PLAIT_EXACT_SCORING;
  }
  assert.equal(new Set(scores.values()).size, EXACT_SCORING_METHODS.length, JSON.stringify([...scores]));
});

test('CLI: plait explain --json gives the score plait search --json gave, on a ternary and a 1-bit index', () => {
  for (const [nbits, method] of [[TERNARY_NBITS, undefined], [1, 'codes-normalized']] as const) {
    const env = process.env.PLAIT_EXACT_SCORING;
    if (method !== undefined) process.env.PLAIT_EXACT_SCORING = method;
    try {
      const path = paths.get(nbits)!;
      const search = runPlait(dir, ['search', path, QUERIES[1]!, '--mode', 'late', '-k', '2', '--json']);
      assert.equal(search.code, 0, search.stderr);
      for (const hit of JSON.parse(search.stdout).hits as { docId: string; score: number }[]) {
        const ex = runPlait(dir, ['explain', path, QUERIES[1]!, hit.docId, '--mode', 'late', '--json']);
        assert.equal(ex.code, 0, ex.stderr);
        const explanation = JSON.parse(ex.stdout) as { lateScore: number; tokens: { contribution: number }[] };
        assert.ok(Math.abs(explanation.lateScore - hit.score) <= 1e-5, `${nbitsName(nbits)} bits: explained ${explanation.lateScore}, searched ${hit.score}`);
        assert.equal(f32Sum(explanation.tokens), explanation.lateScore);
      }
    } finally {
      if (env === undefined) delete process.env.PLAIT_EXACT_SCORING;
      else process.env.PLAIT_EXACT_SCORING = env;
    }
  }
});

test('HTTP: the explain route gives the score the search route gave, on a ternary index', async () => {
  let server: RunningServer | undefined;
  try {
    server = await serve(await borrowedSample(dir, paths.get(TERNARY_NBITS)!, indexes.get(TERNARY_NBITS)!));
    const base = `${server.url}/v1/indexes/sample`;
    const search = await postJson(`${base}/search`, { query: QUERIES[0], mode: 'late', top_k: 3 });
    assert.equal(search.status, 200, JSON.stringify(search.body));
    const hits = search.body.results[0].hits as { doc_id: string; score: number }[];
    assert.ok(hits.length > 0);
    for (const hit of hits) {
      const ex = await postJson(`${base}/explain`, { query: QUERIES[0], doc_id: hit.doc_id, mode: 'late' });
      assert.equal(ex.status, 200, JSON.stringify(ex.body));
      assert.ok(Math.abs(ex.body.late_score - hit.score) <= 1e-5, `explained ${ex.body.late_score}, searched ${hit.score}`);
    }
  } finally {
    await server?.close();
  }
});
