/**
 * PLAID's count settings have a documented upper bound (PLAID_LIMITS.maxCount, polish5): at the bound
 * a search runs (and gives what "every centroid, every candidate" gives, as any value past the
 * index's size does); past it the library, the CLI (--ncells, --ndocs) and the HTTP search route
 * (n_ivf_probe, ndocs) refuse it with INVALID_ARGUMENT. Before, any integer was taken: 1e20, and
 * 2^53 + 1 printed back as 2^53. Sample corpus, bundled model.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isPlaitError, type SearchOptions } from '../src/index.js';
import { PLAID_LIMITS } from '../src/config/defaults.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { runPlait } from './helpers/cli.js';

const MAX = PLAID_LIMITS.maxCount;
const QUERY = 'why does bread dough rise with yeast';
let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-plaid-limits-');
  server = await serve(sample);
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

const ids = (hits: { docId: string; score: number }[]): string[] => hits.map((h) => `${h.docId}:${h.score}`);

test('library: at the bound a search runs and equals every centroid and candidate; past it each count is refused by name', async () => {
  const index = sample.index;
  const a = index.scoringArrays;
  const late: SearchOptions = { mode: 'late', topK: 5, centroidScoreThreshold: -1 };
  const atBound = await index.search(QUERY, { ...late, nIvfProbe: MAX, ndocs: MAX, nIvfProbeTotal: MAX, nExact: MAX });
  // An index's own size is "everything" already: the bound changes nothing past it.
  const everything = await index.search(QUERY, { ...late, nIvfProbe: a.nCentroids, ndocs: a.doclens.length * 4, nExact: a.doclens.length });
  assert.deepEqual(ids(atBound.hits), ids(everything.hits));
  assert.equal(atBound.hits.length, 5);
  for (const name of ['nIvfProbe', 'ndocs', 'nIvfProbeTotal', 'nExact'] as const) {
    for (const v of [MAX + 1, 1e20, 2 ** 53 + 2]) {
      await assert.rejects(
        index.search(QUERY, { ...late, [name]: v }),
        (e) => isPlaitError(e, 'INVALID_ARGUMENT') && e.message.endsWith(`Expected an integer in [1, ${MAX}] for ${name} but received ${v}`) && (e.details as { name?: string }).name === name,
        `${name} = ${v}`,
      );
    }
  }
  // The threshold is not a count: unbounded, as in ColBERT (-Infinity turns pruning off).
  assert.equal((await index.search(QUERY, { ...late, centroidScoreThreshold: -Infinity })).hits.length, 5);
});

test('CLI: --ndocs and --ncells at the bound run; past it exit 2 with INVALID_ARGUMENT', () => {
  for (const flag of ['--ndocs', '--ncells']) {
    const ok = runPlait(sample.dir, ['search', sample.path, QUERY, '--mode', 'late', '-k', '3', flag, String(MAX)]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim().split('\n').length, 3);
    for (const v of [String(MAX + 1), '99999999999999999999']) {
      const bad = runPlait(sample.dir, ['search', sample.path, QUERY, '--mode', 'late', '-k', '3', flag, v]);
      assert.equal(bad.code, 2, `${flag} ${v}: ${bad.stdout}`);
      assert.match(bad.stderr, new RegExp(`Expected an integer in \\[1, ${MAX}\\] for ${flag} but received "${v}" \\[INVALID_ARGUMENT\\]`));
    }
  }
  const help = runPlait(sample.dir, ['search', '--help']);
  assert.match(help.stdout.replace(/\s+/g, ' '), new RegExp(`--ndocs <n> candidates kept after centroid interaction, 1–${MAX}`));
});

test('HTTP: n_ivf_probe and ndocs at the bound answer 200; past it 400 INVALID_ARGUMENT naming the field', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  for (const field of ['n_ivf_probe', 'ndocs']) {
    const ok = await postJson(url, { query: QUERY, mode: 'late', top_k: 3, [field]: MAX });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.results[0].hits.length, 3);
    assert.equal(ok.body.results[0].plaid[field], MAX);
    for (const v of [MAX + 1, 1e20]) {
      const bad = await postJson(url, { query: QUERY, mode: 'late', top_k: 3, [field]: v });
      assert.equal(bad.status, 400, `${field} = ${v}`);
      assert.equal(bad.body.error.code, 'INVALID_ARGUMENT');
      // The field's whole range, as the CLI and the library word it (server/http-errors.ts integerRefusal).
      assert.match(bad.body.error.message, new RegExp(`Expected an integer in \\[1, ${MAX}\\] for body/${field} but received ${v}$`));
    }
  }
});
