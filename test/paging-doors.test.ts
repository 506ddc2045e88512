/**
 * Pages at every door, as a newcomer guesses them (trial 12). Before: HTTP answered `page` with how
 * plait pages, but the library's `search(q, { page: 2 })` listed its 25 option names, `{ from: 5 }` and
 * `{ limit: 5 }` suggested nothing, and `plait search --page 2` said "Did you mean --tag?"; a page
 * past the end of the ranking printed `plait: no hits` (with a filter "no document passes --filter",
 * though some did), and a pipeline's page past the end printed nothing. A batch page (`--queries …
 * --offset 20`) wrote its run ranked 1… again, and a pipeline batch without --run or --json printed
 * no run at all.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';
import { openIndex } from '../src/search/plait-index.js';
import { isPlaitError } from '../src/errors/index.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-paging-doors-'));
  writeFileSync(
    join(dir, 'docs.jsonl'),
    [
      { _id: 'a', text: 'library classification schemes', metadata: { year: '1960' } },
      { _id: 'b', text: 'decimal classification of books', metadata: { year: '1960' } },
      { _id: 'c', text: 'indexing of library catalogues', metadata: { year: '1970' } },
    ].map((d) => JSON.stringify(d)).join('\n') + '\n',
  );
  const r = runPlait(dir, ['index', 'docs.jsonl', '--index', './idx', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('plait search --page / --from / --skip: the hint says how plait pages (--offset, -k), not another flag', () => {
  const page = runPlait(dir, ['search', './idx', 'library', '-k', '2', '--page', '2']);
  assert.equal(page.code, 2, page.stderr);
  assert.match(page.stderr, /plait pages with --offset <n> \(results to skip\) and -k <n> \(the page size\): .*page 2 of 10 is --offset 10 -k 10/);
  assert.doesNotMatch(page.stderr, /--tag/);
  for (const flag of ['--from', '--skip', '--start=2']) {
    const r = runPlait(dir, ['search', './idx', 'library', '-k', '2', ...flag.split(' '), ...(flag.includes('=') ? [] : ['2'])]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /plait pages with --offset <n>/, flag);
  }
});

test('the library names offset / topK for other engines\' paging and count options', async () => {
  const index = await openIndex(join(dir, 'idx'));
  try {
    const refused = async (options: object, message: RegExp, suggestion?: string): Promise<void> => {
      await assert.rejects(index.search('library', options as never), (e: unknown) => {
        assert.ok(isPlaitError(e, 'INVALID_ARGUMENT'), String(e));
        assert.match(e.message, message);
        assert.equal(e.details?.['suggestion'], suggestion);
        return true;
      });
    };
    await refused({ page: 2 }, /unknown search option "page"; plait pages with "offset" and "topK" \(the page size\): page n \(1-based\) of size s is offset = \(n - 1\) \* s, topK = s$/);
    await refused({ from: 2 }, /unknown search option "from" \(did you mean "offset"\?\)/, 'offset');
    await refused({ limit: 2 }, /unknown search option "limit" \(did you mean "topK"\?\)/, 'topK');
    await refused({ size: 2 }, /\(did you mean "topK"\?\)/, 'topK');
  } finally {
    await index.close();
  }
});

test('a page past the end of the ranking says how long the ranking is (one mode, with a filter, a pipeline)', () => {
  const cases: [string[], RegExp][] = [
    [['-k', '2', '--offset', '4'], /^plait: no hits 5–6: the ranking holds 3 \(its last 2: --offset 1\)$/m],
    [['-k', '2', '--offset', '2', '--filter', '{"year": "1960"}'], /^plait: no hits 3–4: the ranking holds 2 \(its last 2: --offset 0\)$/m],
    [['-k', '2', '--offset', '5', '--mode', 'bm25'], /^plait: no hits 6–7: the ranking holds \d \(its last 2: --offset \d\)$/m],
    [['--pipeline', 'bm25:3 > late:1', '--offset', '2'], /^plait: hits 3–3 of a ranking whose length is not known \(pipeline\)$/m],
    [['--pipeline', 'late:100 > bm25:2', '--offset', '4'], /^plait: no hits 5–6: the ranking holds \d \(its last 2: --offset \d\)$/m],
  ];
  for (const [args, line] of cases) {
    const r = runPlait(dir, ['search', './idx', 'library classification', ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, line, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /no document passes/, args.join(' '));
  }
});

test('a batch page (--queries with --offset) writes its hits\' ranks in the whole ranking; a pipeline batch prints its run on stdout', () => {
  writeFileSync(join(dir, 'q.tsv'), 'q1\tlibrary classification\n');
  const full = runPlait(dir, ['search', './idx', '--queries', 'q.tsv', '-k', '3', '--mode', 'bm25', '-q']);
  assert.equal(full.code, 0, full.stderr);
  const second = full.stdout.trim().split('\n')[1]!.split(' ');
  const page = runPlait(dir, ['search', './idx', '--queries', 'q.tsv', '-k', '1', '--offset', '1', '--mode', 'bm25', '-q']);
  assert.equal(page.code, 0, page.stderr);
  assert.deepEqual(page.stdout.trim().split(' '), ['q1', 'Q0', second[2], '2', second[4], 'plait']);
  const pipeline = runPlait(dir, ['search', './idx', '--queries', 'q.tsv', '--pipeline', 'bm25:3 > late:1', '--offset', '1', '-q']);
  assert.equal(pipeline.code, 0, pipeline.stderr);
  assert.match(pipeline.stdout, /^q1 Q0 \S+ 2 \S+ plait\n$/);
});
