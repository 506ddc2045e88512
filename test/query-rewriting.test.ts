/**
 * Query rewriting (issue 26): stemmed BM25 with SQLite-side query tokenisation, spelling correction
 * against the index's vocabulary, Solr synonyms, RM3, and — through an index built with the
 * bundled model — the README's bread example, ColBERT-PRF and the rewrites reported by search and
 * explain. Hand-made stores give hand-checkable answers; the corrupted-query check runs on
 * cranfield's real queries.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeLegacyStore } from './helpers/legacy-store.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DocStoreReader, DocStoreWriter, ENGLISH_STOPWORDS } from '../src/docstore/index.js';
import type { DocumentInput } from '../src/docstore/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { SpellingCorrector } from '../src/rewrite/spelling.js';
import { editDistance } from '../src/util/edit-distance.js';
import { parseSynonyms, readSynonyms } from '../src/rewrite/synonyms.js';
import { QueryRewriter, resolveRewrite } from '../src/rewrite/query-rewriter.js';
import { buildIndex, openIndex, type PlaitIndex } from '../src/index.js';
import { buildBm25Store, readJudgedSet } from '../bench/bm25-docstore.js';
import { corruptQuery } from '../bench/query-rewriting.js';
import { evaluateRun, type Run } from '../src/eval/index.js';
import { dataRoot, needsData } from './helpers/requirements.js';
import { runPlait } from './helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'plait-rewrite-'));
let counter = 0;

function store(docs: DocumentInput[], stemmer: 'porter' | 'none' = 'porter'): DocStoreReader {
  const path = join(root, `docs-${counter++}.sqlite`);
  const w = new DocStoreWriter(path, { stemmer });
  for (const d of docs) w.addDocument(d);
  w.close();
  return DocStoreReader.open(path);
}

const DOCS: DocumentInput[] = [
  { docId: 'rises', title: '', text: 'The dough rises overnight.' },
  { docId: 'rising', title: '', text: 'Rising prices worry shoppers.' },
  { docId: 'rise', title: '', text: 'Mountains rise where plates collide.' },
  { docId: 'ran', title: '', text: 'The river ran dry in summer.' },
];

after(() => rmSync(root, { recursive: true, force: true }));

test('stemmed BM25: "rise" finds "rises" and "rising"; without the stemmer only "rise"', () => {
  const stemmed = store(DOCS);
  assert.equal(stemmed.stemmer, 'porter');
  assert.deepEqual(new Set(stemmed.bm25('rise', 10).map((h) => h.docId)), new Set(['rises', 'rising', 'rise']));
  assert.deepEqual(new Set(stemmed.bm25('risings', 10).map((h) => h.docId)), new Set(['rises', 'rising', 'rise']));
  // Stop words still leave the query; a query of stop words alone keeps them.
  assert.deepEqual([...stemmed.bm25Query('why does the dough rise').terms.keys()], ['dough', 'rise']);
  stemmed.close();
  const plain = store(DOCS, 'none');
  assert.equal(plain.stemmer, 'none');
  assert.deepEqual(plain.bm25('rise', 10).map((h) => h.docId), ['rise']);
  plain.close();
});

test('editDistance is the optimal-string-alignment distance, bounded', () => {
  assert.equal(editDistance('yeast', 'yeast', 2), 0);
  assert.equal(editDistance('yeest', 'yeast', 2), 1);
  assert.equal(editDistance('yaest', 'yeast', 2), 1); // one transposition
  assert.equal(editDistance('yest', 'yeast', 2), 1);
  assert.equal(editDistance('bread', 'braed', 2), 1);
  assert.equal(editDistance('kitten', 'sitting', 3), 3);
  assert.equal(editDistance('kitten', 'sitting', 2), 3); // past the bound: max + 1
  assert.equal(editDistance('abc', 'abcdef', 1), 2);
});

test('spelling: unknown words are corrected to the nearest, then most frequent, word; known, short and stop words never', () => {
  const vocab = {
    words: ['yeast', 'yeasts', 'bread', 'dough', 'rise', 'breed', 'fermentation', 'least', 'zebra'],
    df: Int32Array.from([40, 3, 50, 30, 20, 2, 12, 1, 1]),
  };
  const c = new SpellingCorrector(vocab);
  assert.deepEqual(c.correct('yeest'), { from: 'yeest', to: 'yeast', distance: 1, fromDf: 0, toDf: 40 });
  assert.equal(c.correct('fermentaton')?.to, 'fermentation');
  assert.equal(c.correct('fremantation')?.to, 'fermentation'); // two edits, 12 letters
  assert.equal(c.correct('brad')?.to, 'bread'); // 4 letters: one edit; breed is farther
  assert.equal(c.correct('bread'), null); // known
  assert.equal(c.correct('yeasts'), null); // known, not rare enough to replace
  assert.equal(c.correct('rse'), null); // 3 letters: never
  assert.equal(c.correct('zebrs'), null); // its neighbour is in one document: not a correction
  assert.equal(c.correct('qqqqqq'), null); // nothing near
  assert.equal(c.correct('abouts', new Set(['abouts'])), null); // a stop word
  assert.equal(c.correct('yeast2'), null); // not letters only
});

test('spelling never corrects a word into a stop word (cranfield\'s "what dome contours" had become "what some contours")', () => {
  // "dome" in one document, "some" (a stop word) in 271 of cranfield's 1,400: the rare-word rule
  // turned the query's subject into a word BM25 drops; "home", farther in frequency but no stop word, may stand.
  const c = new SpellingCorrector({ words: ['dome', 'some', 'contours'], df: Int32Array.from([1, 271, 9]) });
  assert.equal(c.correct('dome', ENGLISH_STOPWORDS), null);
  assert.equal(c.correct('sone', ENGLISH_STOPWORDS), null); // unknown, one edit from "some" only
  assert.equal(c.correct('dome')?.to, 'some'); // without a stop list every word is a candidate, as before
  const withHome = new SpellingCorrector({ words: ['dome', 'some', 'home'], df: Int32Array.from([1, 271, 120]) });
  assert.equal(withHome.correct('dome', ENGLISH_STOPWORDS)?.to, 'home');
});

test('the rewriter corrects a query against the store vocabulary and reports each change; a correctly spelled query is never rewritten', () => {
  const reader = store([
    ...DOCS,
    { docId: 'bread', title: 'Why bread rises', text: 'Yeast ferments the sugars in the dough.' },
    { docId: 'yeast2', title: 'Yeast', text: 'Brewers keep yeast cultures.' },
  ]);
  const rewriter = new QueryRewriter(reader);
  const r = resolveRewrite({ spelling: true });
  const rw = rewriter.rewrite('why does Yeest make the dough rise', r, ENGLISH_STOPWORDS);
  assert.deepEqual(rw.rewrites, [{ kind: 'spelling', from: 'Yeest', to: 'yeast' }]);
  assert.equal(rw.lateText, 'why does yeast make the dough rise');
  assert.deepEqual([...rw.bm25.terms.keys()].sort(), ['dough', 'make', 'rise', 'yeast']);
  assert.equal(reader.bm25(rw.bm25, 1)[0]!.docId, 'bread');
  for (const q of ['why does yeast make the dough rise', 'rising prices', 'mountains and rivers']) {
    assert.deepEqual(rewriter.rewrite(q, r, ENGLISH_STOPWORDS).rewrites, [], q);
  }
  reader.close();
});

test('a word typed with diacritics is corrected in place on the late side, as BM25 replaces it (it had been kept and the correction appended), and reported as typed', () => {
  // The store folds "Yéést" to "yeest"; the late text is searched by that folding too. The rewrite
  // names the word the user typed ("Yéést"), not the store's folding ("yeest"), which was reported
  // before. Correcting a word typed with diacritics at all was measured: bench/RESULTS.md, "Spelling and diacritics".
  const reader = store([
    { docId: 'bread', title: 'Why bread rises', text: 'Yeast ferments the sugars in the dough.' },
    { docId: 'yeast2', title: 'Yeast', text: 'Brewers keep yeast cultures.' },
  ]);
  const rw = new QueryRewriter(reader).rewrite('why does Yéést make dough', resolveRewrite({ spelling: true }), ENGLISH_STOPWORDS);
  assert.deepEqual(rw.rewrites, [{ kind: 'spelling', from: 'Yéést', to: 'yeast' }]);
  assert.equal(rw.lateText, 'why does yeast make dough');
  // Case alone, and a word typed twice: the first occurrence as typed, each replaced on the late side.
  const twice = new QueryRewriter(reader).rewrite('Yeest or yeest', resolveRewrite({ spelling: true }), ENGLISH_STOPWORDS);
  assert.deepEqual(twice.rewrites, [{ kind: 'spelling', from: 'Yeest', to: 'yeast' }]);
  assert.deepEqual([...rw.bm25.terms.keys()].sort(), ['dough', 'make', 'yeast']);
  reader.close();
});

test('a store before schema 3 (an index from an older plait) refuses spelling and RM3 instead of searching as typed; synonyms and PRF pass through', () => {
  // A schema-2 store as the old writer made it (the tables /tmp indexes of late 2026 still hold).
  const path = join(root, `docs-${counter++}.sqlite`);
  writeLegacyStore(path, 2, DOCS.map((d) => ({ docId: d.docId, title: d.title, text: d.text, nTerms: d.text.split(' ').length })));
  const reader = DocStoreReader.open(path);
  assert.equal(reader.schemaVersion, 2);
  const rewriter = new QueryRewriter(reader);
  const refused = (name: string) => (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.name === name && /schema 2.*rebuild the index/.test((e as Error).message);
  assert.throws(() => rewriter.rewrite('the rivr ran dry', resolveRewrite({ spelling: true }), ENGLISH_STOPWORDS), refused('rewrite.spelling'));
  assert.throws(() => rewriter.rewrite('the river ran dry', resolveRewrite({ rm3: true }), ENGLISH_STOPWORDS), refused('rewrite.rm3'));
  for (const r of [resolveRewrite({ synonyms: parseSynonyms('river, stream') }), resolveRewrite({ prf: true })]) {
    const rw = rewriter.rewrite('the river ran dry', r, ENGLISH_STOPWORDS);
    assert.deepEqual(rw.rewrites, []);
    assert.equal(rw.lateText, 'the river ran dry');
  }
  reader.close();
});

test('synonyms: Solr equivalent and explicit lines, multi-word terms, escapes, merging, and errors with file and line', () => {
  const map = parseSynonyms(
    ['# comment', '', 'couch, sofa, settee', 'tv, television => television', 'united states, usa', 'a\\,b, c', 'sofa => divan', 'i-pod, ipod'].join('\n'),
  );
  const rule = (from: string) => map.rules.find((r) => r.from === from);
  assert.deepEqual(rule('couch'), { from: 'couch', to: ['sofa', 'settee'], replace: false });
  // sofa appears in an equivalent line and an explicit one: the rules merge, the original is kept.
  assert.deepEqual(rule('sofa'), { from: 'sofa', to: ['couch', 'settee', 'divan'], replace: false });
  assert.deepEqual(rule('tv'), { from: 'tv', to: ['television'], replace: true });
  assert.equal(rule('television'), undefined); // maps to itself
  assert.deepEqual(rule('united states'), { from: 'united states', to: ['usa'], replace: false });
  assert.deepEqual(rule('a,b'), { from: 'a,b', to: ['c'], replace: false });
  // expand=false: every term maps to the first, replacing it.
  const collapsed = parseSynonyms('couch, sofa, settee', { expand: false });
  assert.deepEqual(collapsed.rules, [
    { from: 'sofa', to: ['couch'], replace: true },
    { from: 'settee', to: ['couch'], replace: true },
  ]);
  assert.throws(() => parseSynonyms('a, b\na => b => c', { file: 'syn.txt' }), (e: unknown) => isPlaitError(e, 'SYNONYMS_INVALID') && /syn\.txt:2: more than one "=>"/.test((e as Error).message));
  assert.throws(() => parseSynonyms('a,,b'), (e: unknown) => isPlaitError(e, 'SYNONYMS_INVALID') && /:1: an empty term/.test((e as Error).message));
  assert.throws(() => parseSynonyms(' => b'), (e: unknown) => isPlaitError(e, 'SYNONYMS_INVALID'));
  assert.throws(() => readSynonyms(join(root, 'absent.txt')), (e: unknown) => isPlaitError(e, 'FILE_NOT_FOUND'));
  const file = join(root, 'synonyms.txt');
  writeFileSync(file, 'couch, sofa\n');
  assert.deepEqual(readSynonyms(file).rules.length, 2);
  // Encodings (trial 7): UTF-16 (Notepad's "Unicode", with or without its byte-order mark) and bytes
  // that are not UTF-8 are refused naming the line; they used to parse into rules that never matched.
  const invalidAt = (line: number, re: RegExp) => (e: unknown) => isPlaitError(e, 'SYNONYMS_INVALID') && e.details?.line === line && re.test((e as Error).message);
  writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('couch, sofa\n', 'utf16le')]));
  assert.throws(() => readSynonyms(file), invalidAt(1, /UTF-16/));
  writeFileSync(file, Buffer.from('couch, sofa\n', 'utf16le'));
  assert.throws(() => readSynonyms(file), invalidAt(1, /NUL character/));
  writeFileSync(file, Buffer.concat([Buffer.from('couch, sofa\ntv => '), Buffer.from([0xe9, 0x74, 0xe9]), Buffer.from('\n')]));
  assert.throws(() => readSynonyms(file), invalidAt(2, /not UTF-8/));
  writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('couch, sofa\n')]));
  assert.deepEqual(readSynonyms(file).rules.map((r) => r.from), ['couch', 'sofa'], 'a UTF-8 byte-order mark is dropped');
});

test('synonyms reach BM25 (after stemming) and the late-interaction text; explicit rules replace', () => {
  const reader = store([
    { docId: 'couch', title: '', text: 'A leather couch by the window.' },
    { docId: 'tele', title: '', text: 'The television was on all night.' },
    { docId: 'usa', title: '', text: 'Elections in the USA this year.' },
  ]);
  const rewriter = new QueryRewriter(reader);
  const synonyms = parseSynonyms('couch, sofa\ntv => television\nunited states, usa');
  const r = resolveRewrite({ synonyms });
  const sofas = rewriter.rewrite('cheap Sofas', r, ENGLISH_STOPWORDS);
  assert.deepEqual(sofas.rewrites, [{ kind: 'synonym', from: 'sofa', to: 'couch' }]);
  assert.equal(sofas.lateText, 'cheap Sofas couch');
  assert.equal(reader.bm25(sofas.bm25, 1)[0]!.docId, 'couch');
  assert.deepEqual(reader.bm25('cheap Sofas', 3), []); // without the synonym nothing matches
  const tv = rewriter.rewrite('tv tonight', r, ENGLISH_STOPWORDS);
  assert.equal(tv.lateText, 'television tonight');
  assert.equal(tv.bm25.terms.has('tv'), false);
  assert.equal(reader.bm25(tv.bm25, 1)[0]!.docId, 'tele');
  const us = rewriter.rewrite('politics in the united states', r, ENGLISH_STOPWORDS);
  assert.equal(reader.bm25(us.bm25, 1)[0]!.docId, 'usa');
  assert.deepEqual(rewriter.rewrite('united we stand', r, ENGLISH_STOPWORDS).rewrites, []); // a phrase matches whole
  reader.close();
});

test('RM3 expands BM25 with the feedback documents\' terms: weights are λ·q + (1−λ)·p(t|R), summing to 1', () => {
  const reader = store([
    { docId: 'a', title: '', text: 'yeast ferments sugar into carbon dioxide and the dough rises' },
    { docId: 'b', title: '', text: 'the dough rises when yeast ferments sugar' },
    { docId: 'c', title: '', text: 'carbon dioxide bubbles are trapped by gluten' },
    { docId: 'd', title: '', text: 'mountains rise where plates collide' },
  ]);
  const rewriter = new QueryRewriter(reader);
  const r = resolveRewrite({ rm3: { fbDocs: 2, fbTerms: 4, originalQueryWeight: 0.5 } });
  const base = rewriter.rewrite('yeast dough', r, ENGLISH_STOPWORDS);
  const rw = rewriter.expandRm3(base, r.rm3!, ENGLISH_STOPWORDS);
  let sum = 0;
  for (const w of rw.bm25.terms.values()) sum += w;
  assert.ok(Math.abs(sum - 1) < 1e-9, String(sum));
  assert.ok(rw.bm25.terms.get('yeast')! >= 0.25 && rw.bm25.terms.get('dough')! >= 0.25);
  assert.equal(rw.rewrites.at(-1)!.kind, 'rm3');
  // Expansion terms come from the feedback documents only, and never stop words.
  for (const t of rw.bm25.terms.keys()) assert.ok(['yeast', 'dough', 'ferment', 'sugar', 'rise', 'carbon', 'dioxid'].includes(t), t);
  // The expanded query now reaches c (carbon dioxide) which the query's own terms do not.
  const r4 = resolveRewrite({ rm3: { fbDocs: 2, fbTerms: 10 } });
  const wide = rewriter.expandRm3(rewriter.rewrite('yeast dough', r4, ENGLISH_STOPWORDS), r4.rm3!, ENGLISH_STOPWORDS);
  assert.ok(reader.bm25(wide.bm25, 4).some((h) => h.docId === 'c'));
  assert.ok(!reader.bm25('yeast dough', 4).some((h) => h.docId === 'c'));
  reader.close();
});

test('spelling recovers nDCG@10 on cranfield queries with one typo each (BM25)', { skip: needsData('cranfield') }, async () => {
  const dir = join(dataRoot(), 'cranfield');
  const set = await readJudgedSet(dir, 'cranfield');
  const { reader, close } = await buildBm25Store(dir, 'porter');
  try {
    const rewriter = new QueryRewriter(reader);
    const r = resolveRewrite({ spelling: true });
    const ndcg = (text: (q: { id: string; text: string }) => string, fix: boolean): { ndcg: number; rewritten: number } => {
      const run: Run = new Map();
      let rewritten = 0;
      for (const q of set.queries) {
        const rw = rewriter.rewrite(text(q), r, ENGLISH_STOPWORDS);
        if (rw.rewrites.length > 0) rewritten++;
        run.set(q.id, reader.bm25(fix ? rw.bm25 : text(q), 100).map((h) => ({ docId: h.docId, score: h.score })));
      }
      return { ndcg: evaluateRun(run, set.qrels).mean['ndcg@10'], rewritten };
    };
    const seed = (id: string): number => [...id].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261) >>> 0;
    const typo = (q: { id: string; text: string }): string => corruptQuery(q.text, seed(q.id));
    const clean = ndcg((q) => q.text, false).ndcg;
    const broken = ndcg(typo, false).ndcg;
    const fixed = ndcg(typo, true);
    const cleanFixed = ndcg((q) => q.text, true);
    assert.ok(broken < clean - 0.02, `the typos must hurt: ${broken} vs ${clean}`);
    assert.ok((fixed.ndcg - broken) / (clean - broken) >= 0.5, `recovered ${fixed.ndcg} from ${broken} (clean ${clean})`);
    assert.ok(Math.abs(cleanFixed.ndcg - clean) < 0.01, `spelling on real queries moved nDCG@10 ${clean} → ${cleanFixed.ndcg}`);
  } finally {
    close();
  }
});

describeIndex();

/** Through an index built with the bundled model on the sample corpus. */
function describeIndex(): void {
  const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
  let index: PlaitIndex;
  before(async () => {
    await buildIndex(SAMPLE, { index: join(root, 'sample'), encoderOptions: { threads: 1 } });
    index = await openIndex(join(root, 'sample'), { encoderOptions: { threads: 1 } });
  });
  after(async () => {
    await index?.close();
  });

  test("the README's bread example ranks the bread passage first in the default (hybrid) mode, and in BM25", async () => {
    for (const mode of [undefined, 'bm25'] as const) {
      const { hits } = await index.search('why does bread rise', mode === undefined ? {} : { mode });
      assert.equal(hits[0]!.docId, 'bread-yeast', `${mode ?? 'default'}: ${hits.map((h) => h.docId).join(', ')}`);
    }
  });

  test('search and explain report the rewrites; a misspelled query finds what the correct one finds', async () => {
    const right = await index.search('why does bread rise', { topK: 3 });
    const wrong = await index.search('why does braed rise', { topK: 3, rewrite: { spelling: true } });
    assert.deepEqual(wrong.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
    assert.equal(wrong.hits[0]!.docId, right.hits[0]!.docId);
    assert.equal(right.rewrites, undefined);
    const ex = await index.explain('why does braed rise', 'bread-yeast', { rewrite: { spelling: true } });
    assert.deepEqual(ex.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
    assert.ok(ex.bm25!.terms.some((t) => t.term === 'bread' && t.tf > 0));
    assert.ok(ex.tokens.some((t) => t.query.text.toLowerCase() === 'bread'), 'the late side explains the corrected text');
  });

  test('ColBERT-PRF appends expansion embeddings and searches again; RM3 expands BM25 in hybrid mode', async () => {
    const plain = await index.search('how do planes stay in the air', { mode: 'late', topK: 5 });
    const prf = await index.search('how do planes stay in the air', { mode: 'late', topK: 5, rewrite: { prf: { fbDocs: 2, fbEmbeddings: 4 } } });
    const r = prf.rewrites!.find((x) => x.kind === 'prf')!;
    assert.equal(r.to.split(' ').length, 4);
    assert.equal(prf.hits[0]!.docId, plain.hits[0]!.docId, 'feedback from the top documents keeps the top document');
    // The expanded query scores higher: the appended embeddings add their weighted MaxSim.
    assert.ok(prf.hits[0]!.score > plain.hits[0]!.score);
    const rm3 = await index.search('how do planes stay in the air', { mode: 'hybrid', topK: 5, rewrite: { rm3: true } });
    assert.equal(rm3.rewrites!.at(-1)!.kind, 'rm3');
    assert.equal(rm3.hits.length, 5);
  });

  test('rewrite options are checked: unknown keys, wrong types, and a rewrite the mode cannot apply are INVALID_ARGUMENT; pipelines report their rewrites', async () => {
    const bad = (e: unknown, re: RegExp): boolean => isPlaitError(e, 'INVALID_ARGUMENT') && re.test((e as Error).message);
    await assert.rejects(index.search('bread', { rewrite: { speling: true } as never }), (e) => bad(e, /unknown rewrite option "speling" \(did you mean "spelling"\?\)/));
    // The rm3 and prf objects' keys too: a typo used to run the feedback with its defaults.
    await assert.rejects(index.search('bread', { mode: 'bm25', rewrite: { rm3: { fbdocs: 5 } as never } }), (e) => bad(e, /unknown rewrite\.rm3 option "fbdocs" \(did you mean "fbDocs"\?\)/));
    await assert.rejects(index.search('bread', { mode: 'late', rewrite: { prf: { fbEmbedding: 5 } as never } }), (e) => bad(e, /unknown rewrite\.prf option "fbEmbedding" \(did you mean "fbEmbeddings"\?\)/));
    await assert.rejects(index.search('bread', { rewrite: { spelling: 'yes' } as never }), (e) => bad(e, /rewrite\.spelling/));
    await assert.rejects(index.search('bread', { rewrite: { synonyms: 'a, b' } as never }), (e) => bad(e, /SynonymMap/));
    await assert.rejects(index.search('bread', { mode: 'late', rewrite: { rm3: true } }), (e) => bad(e, /bm25 or hybrid.*rewrite\.rm3/));
    await assert.rejects(index.search('bread', { mode: 'bm25', rewrite: { prf: true } }), (e) => bad(e, /late or hybrid.*rewrite\.prf/));
    await assert.rejects(index.explain('bread', 'bread-yeast', { rewrite: { prf: true } }), (e) => bad(e, /rewrite\.prf/));
    const { SearchPipeline } = await import('../src/pipeline/search-pipeline.js');
    const piped = await new SearchPipeline(index, 'bm25:10 > late:3', { search: { rewrite: { spelling: true } } }).run('why does braed rise');
    assert.deepEqual(piped.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
    const rm3 = await new SearchPipeline(index, 'rm3:10 > late:3').run('why does bread rise');
    assert.equal(rm3.rewrites?.at(-1)?.kind, 'rm3');
    assert.equal((await new SearchPipeline(index, 'bm25:10 > late:3').run('why does bread rise')).rewrites, undefined);
  });

  test('the CLI: --spelling, --synonyms and --rm3 on plait search, the rm3/prf pipeline stages, and their refusals', () => {
    const path = join(root, 'sample');
    const spelled = runPlait(root, ['search', path, 'why does braed rise', '--spelling', '--json', '-k', '3']);
    assert.equal(spelled.code, 0, spelled.stderr);
    const out = JSON.parse(spelled.stdout) as { hits: Array<{ docId: string }>; rewrites: unknown[] };
    assert.deepEqual(out.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
    assert.equal(out.hits[0]!.docId, 'bread-yeast');
    // The CLI prints the word as typed (it printed the store's folding, "braed").
    const human = runPlait(root, ['search', path, 'why does Bräed rise', '--spelling', '-k', '1']);
    assert.match(human.stderr, /rewritten \(spelling\): Bräed → bread/);
    writeFileSync(join(root, 'syn.txt'), 'loaf => bread\n');
    const syn = JSON.parse(runPlait(root, ['search', path, 'why does a loaf rise', '--synonyms', join(root, 'syn.txt'), '--mode', 'bm25', '--json']).stdout) as { hits: Array<{ docId: string }>; rewrites: unknown[] };
    assert.deepEqual(syn.rewrites, [{ kind: 'synonym', from: 'loaf', to: 'bread' }]);
    assert.equal(syn.hits[0]!.docId, 'bread-yeast');
    writeFileSync(join(root, 'bad-syn.txt'), 'a => b => c\n');
    const bad = runPlait(root, ['search', path, 'bread', '--synonyms', join(root, 'bad-syn.txt'), '--json']);
    assert.equal(bad.code, 2);
    assert.match(bad.stdout + bad.stderr, /SYNONYMS_INVALID/);
    const piped = runPlait(root, ['search', path, 'why does bread rise', '--pipeline', 'rm3:10 > late:5', '--json']);
    assert.equal(piped.code, 0, piped.stderr);
    const pipedHuman = runPlait(root, ['search', path, 'why does braed rise', '--pipeline', 'bm25:10 > late:3', '--spelling']);
    assert.match(pipedHuman.stderr, /rewritten \(spelling\): braed → bread/);
    const explained = runPlait(root, ['explain', path, 'why does braed rise', 'bread-yeast', '--spelling', '--mode', 'hybrid']);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /rewritten \(spelling\): braed → bread/);
    const lateRm3 = runPlait(root, ['search', path, 'bread', '--mode', 'late', '--rm3', '--json']);
    assert.equal(lateRm3.code, 2);
    assert.match(lateRm3.stdout + lateRm3.stderr, /rewrite\.rm3/);
    const misplaced = runPlait(root, ['search', path, 'bread', '--pipeline', 'bm25:10 > prf:5', '--json']);
    assert.equal(misplaced.code, 2);
    assert.match(misplaced.stdout + misplaced.stderr, /can only be the first stage/);
  });
}
