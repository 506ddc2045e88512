/**
 * Living index on real text (issue 12): the sample corpus's first 30 documents built with the
 * bundled model, the other 10 added through `plait add`, then deletes and an upsert through the
 * library. Every mode (late, BM25, hybrid), rerank and explain must see the adds and never the
 * deleted or replaced versions; the CLI reports file:line errors like `plait index`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { isPlaitError } from '../src/errors/index.js';
import { addCorpus } from '../src/mutate/add-corpus.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { readManifest } from '../src/format/index-reader.js';
import { strayFiles } from './helpers/living.js';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
let dir: string;
let path: string;
let index: PlaitIndex;
let lines: string[];
let docs: Array<{ _id: string; title: string; text: string }>;

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-living-text-'));
  lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
  docs = lines.map((l) => JSON.parse(l) as { _id: string; title: string; text: string });
  writeFileSync(join(dir, 'first.jsonl'), `${lines.slice(0, 30).join('\n')}\n`);
  writeFileSync(join(dir, 'rest.jsonl'), `${lines.slice(30).join('\n')}\n`);
  path = join(dir, 'sample');
  await buildIndex(join(dir, 'first.jsonl'), { index: path, encoderOptions: { threads: 1 } });
  index = await openIndex(path, { encoderOptions: { threads: 1 } });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('plait add: the added documents are found in every mode; errors carry file:line', async () => {
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, `${lines[30]}\n{"_id": "broken", "text": \n`);
  const refused = cli('add', path, bad);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /bad\.jsonl.*line 2|line 2.*bad\.jsonl/);
  assert.match(refused.stderr, /--skip-invalid/);
  assert.equal(JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')).generation, undefined, 'a refused add commits nothing');
  const r = cli('add', path, join(dir, 'rest.jsonl'), '--threads', '1', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { generation: number; added: number; counts: { documents: number } };
  assert.deepEqual([out.generation, out.added, out.counts.documents], [1, 10, 40]);
  const dup = cli('add', path, join(dir, 'rest.jsonl'), '--no-replace');
  assert.equal(dup.status, 2);
  // Named by the input's file and line and the option, with what would work (not --skip-invalid, which does not apply).
  assert.match(dup.stderr, /^plait: Document exists: "\S+" \(line 1 of \S*rest\.jsonl\) is already in the index, and --no-replace refuses to replace it \[DOCUMENT_EXISTS\]/m);
  assert.match(dup.stderr, /drop --no-replace to replace the indexed document, or remove line 1 of \S*rest\.jsonl/);
  assert.doesNotMatch(dup.stderr, /--skip-invalid/);
  // The refusal comes before the encoding (minutes for a large corpus): an encoder that fails when
  // asked to encode is never asked.
  const real = await createEncoder(readManifest(path).modelSpec, { threads: 0 });
  try {
    const guard = new Proxy(real, {
      get: (t, k) => (k === 'encodeDocuments' ? (): never => assert.fail('encoded before refusing') : ((v: unknown) => (typeof v === 'function' ? v.bind(t) : v))(Reflect.get(t, k))),
    });
    await assert.rejects(addCorpus(path, join(dir, 'rest.jsonl'), { noReplace: true, encoder: guard }), (e) => isPlaitError(e, 'DOCUMENT_EXISTS') && e.details?.['line'] === 1 && /rest\.jsonl/.test(String(e.details?.['file'])));
  } finally {
    await real.close();
  }
  assert.equal(await index.refresh(), true);
  for (const d of docs.slice(30)) {
    for (const mode of ['late', 'bm25', 'hybrid'] as const) {
      const hits = (await index.search(d.title, { mode, topK: 3 })).hits;
      assert.ok(hits.some((h) => h.docId === d._id), `${mode} "${d.title}": ${hits.map((h) => h.docId).join(', ')}`);
    }
  }
  const info = cli('info', path);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /generation\s+1/);
  // Ten documents are too few to judge drift by (DRIFT_DEFAULTS.minAddedTokens): no rebuild advice.
  assert.match(info.stdout, /drift\s+too few added tokens to judge \(\d+ of the \d+ needed; so far [\d.]+× /);
  assert.doesNotMatch(info.stdout, /rebuild the index/);
});

test('delete and upsert: gone from late, BM25, hybrid, rerank and explain at once', async () => {
  const victim = 'bread-yeast';
  assert.ok(docs.slice(0, 30).some((d) => d._id === victim));
  const q = 'why does bread dough rise with yeast';
  assert.equal((await index.search(q, { topK: 1 })).hits[0]!.docId, victim);
  const ids = join(dir, 'ids.txt');
  writeFileSync(ids, `${victim}\nno-such-doc\n`);
  const r = cli('delete', path, '--ids', ids);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /deleted 1 document .*1 not in the index: no-such-doc/);
  await index.refresh();
  for (const mode of ['late', 'bm25', 'hybrid'] as const) {
    // exhaustive applies to late interaction only (option-scope.ts: bm25 refuses it).
    for (const exhaustive of mode === 'bm25' ? [false] : [false, true]) {
      const hits = (await index.search(q, { mode, topK: 39, exhaustive })).hits;
      assert.ok(!hits.some((h) => h.docId === victim), `${mode}: deleted document returned`);
      if (mode !== 'bm25') assert.equal(hits.length, 39, `${mode}: every live document still reachable`);
    }
  }
  await assert.rejects(index.rerank(q, [victim]), (e) => isPlaitError(e, 'DOCUMENT_NOT_FOUND'));
  await assert.rejects(index.explain(q, victim), (e) => isPlaitError(e, 'DOCUMENT_NOT_FOUND'));

  // Upsert through the library: the new text replaces the old everywhere.
  const target = docs[0]!;
  const fresh = { docId: target._id, title: 'Glacier calving', text: 'Icebergs break off the front of tidewater glaciers when meltwater undercuts the ice cliff.' };
  await assert.rejects(index.add([fresh], { noReplace: true }), (e) => isPlaitError(e, 'DOCUMENT_EXISTS'));
  await assert.rejects(index.add([{ ...fresh, docId: 'glacier\ncalving' }]), (e) => isPlaitError(e, 'INVALID_ID') && /line feed/.test((e as Error).message));
  const up = await index.add([fresh]);
  assert.deepEqual([up.added, up.replaced], [0, 1]);
  for (const mode of ['late', 'bm25', 'hybrid'] as const) {
    const hits = (await index.search('icebergs breaking off tidewater glaciers', { mode, topK: 3, includeText: true })).hits;
    assert.equal(hits[0]!.docId, target._id, mode);
    assert.equal(hits[0]!.text, fresh.text);
    const old = (await index.search(target.title, { mode, topK: 39, includeText: true })).hits.filter((h) => h.docId === target._id);
    for (const h of old) assert.equal(h.text, fresh.text, `${mode}: the old version is never returned`);
  }
  const [reranked] = await index.rerank('icebergs and glaciers', [target._id]);
  assert.equal(reranked!.docId, target._id);
  const ex = await index.explain('icebergs and glaciers', target._id);
  assert.match(ex.passage.text, /Icebergs/);
  assert.equal(index.manifest.counts.documents, 39);

  // Compaction changes no answer.
  const before = (await index.search(q, { topK: 10 })).hits.map((h) => [h.docId, h.score]);
  const c = cli('compact', path);
  assert.equal(c.status, 0, c.stderr);
  await index.refresh();
  assert.deepEqual((await index.search(q, { topK: 10 })).hits.map((h) => [h.docId, h.score]), before);
  assert.deepEqual(strayFiles(path), []);
});

test('plait search --filter restricts every mode; a bad filter is INVALID_FILTER (exit 2)', () => {
  const allowed = ['wing-lift', 'coffee-roasting', 'tea-oxidation'];
  const r = cli('search', path, 'why does bread dough rise with yeast', '--mode', 'hybrid', '-k', '5', '--json', '--filter', JSON.stringify({ doc_id: { $in: allowed } }));
  assert.equal(r.status, 0, r.stderr);
  const ids = (JSON.parse(r.stdout) as { hits: Array<{ docId?: string; doc_id?: string }> }).hits.map((h) => h.docId ?? h.doc_id);
  assert.deepEqual([...ids].sort(), [...allowed].sort());
  const bad = cli('search', path, 'bread', '--filter', '{"year": {"$regex": "x"}}');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /INVALID_FILTER|Invalid filter/);
  assert.match(bad.stderr, /filter\.year\.\$regex/);
});
