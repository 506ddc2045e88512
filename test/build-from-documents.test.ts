/**
 * `buildIndex` from documents held in memory, as an application has them: it had taken file names
 * only, and an array of objects failed with INVALID_INPUT 'no such file: "[object Object]"'. The
 * documents are read by a JSONL corpus's rules, so the index equals the one built from the same
 * documents written as JSONL (differential), and the corpus errors hold, naming the position.
 * Bundled model, a handful of documents: ~10 s.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlaitError, buildIndex, isPlaitError, openIndex, type CorpusDocumentInput } from '../src/index.js';

const DOCS: CorpusDocumentInput[] = [
  { docId: 'bread', title: 'Bread', text: 'Yeast ferments the sugars in dough and the gas makes bread rise.', metadata: { year: 2021 } },
  { docId: 'tide', text: 'The tide rises twice a day because of the pull of the moon.', metadata: { year: 2019 } },
  { docId: 'stocks', title: 'Markets', text: 'Stocks fell sharply after the central bank raised its rate.' },
  { docId: 'river', title: '', text: 'Rivers flood after heavy rain upstream.', metadata: { year: 2023, tags: ['water'] } },
];

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-build-docs-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('an index built from an array of documents equals the one built from the same documents as JSONL, and lives on (search, filter, add, delete, reopen)', async () => {
  const file = join(dir, 'docs.jsonl');
  writeFileSync(file, DOCS.map((d) => JSON.stringify({ _id: d.docId, title: d.title, text: d.text, metadata: d.metadata })).join('\n') + '\n');
  const fromFile = await buildIndex(file, { index: join(dir, 'from-file'), encoderOptions: { threads: 0 } });
  const fromArray = await buildIndex(DOCS, { index: join(dir, 'from-array'), encoderOptions: { threads: 0 } });
  assert.deepEqual(fromArray.manifest.counts, fromFile.manifest.counts);
  assert.equal(fromArray.manifest.counts.documents, 4);
  assert.equal(fromArray.report.read, 4);

  const a = await openIndex(fromArray.path);
  const f = await openIndex(fromFile.path);
  try {
    for (const mode of ['late', 'bm25', 'hybrid'] as const) {
      const ha = (await a.search('why does bread dough rise', { topK: 4, mode, includeText: true })).hits;
      const hf = (await f.search('why does bread dough rise', { topK: 4, mode, includeText: true })).hits;
      assert.deepEqual(ha.map((h) => [h.docId, h.score, h.title, h.text, h.metadata]), hf.map((h) => [h.docId, h.score, h.title, h.text, h.metadata]), mode);
      assert.equal(ha[0]!.docId, 'bread', mode);
    }
    // A query that is not a string is named as search's argument (it had said "queries[0]").
    await assert.rejects(a.search(42 as unknown as string), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.message === 'Invalid argument: Expected a string for query but received 42');
    const filtered = await a.search('water', { topK: 4, filter: { year: { $gte: 2021 } } });
    assert.deepEqual(filtered.hits.map((h) => h.docId).sort(), ['bread', 'river']);
    // No title: optional here as at run time (add's type had required one, which checkDocument never did).
    await a.add([{ docId: 'oven', text: 'An oven bakes the risen loaf.' }]);
    await a.delete(['tide']);
  } finally {
    await a.close();
    await f.close();
  }
  const reopened = await openIndex(fromArray.path);
  try {
    assert.equal(reopened.manifest.counts.documents, 4);
    const hits = (await reopened.search('moon tide', { topK: 4, mode: 'bm25' })).hits.map((h) => h.docId);
    assert.ok(!hits.includes('tide'), `deleted document gone after reopening: ${hits.join(',')}`);
    assert.equal((await reopened.search('oven loaf', { topK: 1, mode: 'bm25' })).hits[0]?.docId, 'oven');
  } finally {
    await reopened.close();
  }
});

test("documents in memory follow the corpus rules and name the document's position; a list mixing files and documents is refused", async () => {
  const dup = [...DOCS.slice(0, 2), { docId: 'bread', text: 'again' }];
  await assert.rejects(buildIndex(dup, { index: join(dir, 'dup') }), (e: unknown) => isPlaitError(e, 'DUPLICATE_ID') && e.message === 'Duplicate id "bread" in documents at line 3');
  await assert.rejects(buildIndex([{ docId: 'a\tb', text: 'x' }], { index: join(dir, 'ws') }), (e: unknown) => isPlaitError(e, 'INVALID_ID'));
  await assert.rejects(buildIndex([{ docId: 'e', text: '  ' }], { index: join(dir, 'empty') }), (e: unknown) => isPlaitError(e, 'EMPTY_CORPUS') || isPlaitError(e, 'EMPTY_TEXT'));
  const mixed = ['corpus.jsonl', { docId: 'a', text: 'x' }] as unknown as CorpusDocumentInput[];
  await assert.rejects(buildIndex(mixed, { index: join(dir, 'mixed') }), (e: unknown) => isPlaitError(e, 'INVALID_INPUT') && /both/.test(e.message));
  await assert.rejects(buildIndex(DOCS, { index: join(dir, 'tsv'), format: 'tsv' }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.['name'] === 'format');
  // skipInvalid: the bad ones are counted, the good ones indexed.
  const skipped = await buildIndex([...dup, { docId: 'x', text: 42 } as unknown as CorpusDocumentInput], { index: join(dir, 'skip'), skipInvalid: true, encoderOptions: { threads: 0 } });
  assert.equal(skipped.manifest.counts.documents, 2);
  assert.equal(skipped.report.skipped.duplicateId, 1);
  assert.equal(skipped.report.skipped.malformed, 1);
  assert.deepEqual(skipped.report.firstSkipped.map((s) => [s.code, s.file, s.line]), [['DUPLICATE_ID', 'documents', 3], ['MALFORMED_JSONL', 'documents', 4]]);
});

test('a build takes its signal as every other door does: checked first, TIMEOUT / ABORTED / its PlaitError, and a build cancelled while encoding publishes nothing', async () => {
  const never = join(dir, 'never');
  await assert.rejects(buildIndex(DOCS, { index: never, signal: 'stop' as unknown as AbortSignal }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.['name'] === 'signal');
  await assert.rejects(buildIndex(DOCS, { index: never, signal: AbortSignal.abort() }), (e: unknown) => isPlaitError(e, 'ABORTED'));
  // It had said ABORTED for a timeout too, and ignored a non-signal (the build ran to its end).
  await assert.rejects(buildIndex(DOCS, { index: never, signal: AbortSignal.abort(new DOMException('late', 'TimeoutError')) }), (e: unknown) => isPlaitError(e, 'TIMEOUT'));
  const own = new PlaitError('TIMEOUT', { message: 'the request deadline passed' });
  await assert.rejects(buildIndex(DOCS, { index: never, signal: AbortSignal.abort(own) }), (e: unknown) => e === own);
  assert.equal(existsSync(never), false);

  const controller = new AbortController();
  const many: CorpusDocumentInput[] = Array.from({ length: 400 }, (_, i) => ({ docId: `d${i}`, text: `${DOCS[i % 4]!.text} ${'flour water salt oven '.repeat(8)} number ${i}` }));
  const phases: string[] = [];
  const cancelled = join(dir, 'cancelled');
  await assert.rejects(
    buildIndex(many, {
      index: cancelled,
      signal: controller.signal,
      encoderOptions: { threads: 1 },
      onProgress: (p) => {
        phases.push(p.phase);
        if (p.phase === 'sample') controller.abort();
      },
    }),
    (e: unknown) => isPlaitError(e, 'ABORTED'),
  );
  assert.ok(phases.includes('sample') && !phases.includes('done'), phases.join(','));
  assert.equal(existsSync(cancelled), false);
});
