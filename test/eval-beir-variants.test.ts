/**
 * BEIR sets as users bring them, not as the three here are written: graded and 0 judgments, queries
 * judged only 0, qrels with and without a header, extra columns, CRLF line ends and a BOM, a dev
 * split, gzip'd files (read as the plain ones), text that is not UTF-8, fractional grades, ids with spaces (read; refused only where a TREC run is written). Each variant is
 * written from cisi into a temporary folder and driven through the real CLI (`plait index`,
 * `plait eval`, `plait search --queries`); eval's figures are checked against a trec_eval
 * reference computed here from the run file eval wrote (--run-dir), read independently.
 *
 * Before: a folder with corpus.jsonl.gz was "Index not found" (then COMPRESSED_INPUT), queries.jsonl.gz "expected
 * qid<TAB>text", a Latin-1 query was searched as "caf\uFFFD", a grade 0.5 counted as relevant
 * (trec_eval reads 0), a header with a fourth column made the file TREC and failed on "note", and
 * queries judged only 0 were left out of the means (nDCG@10 0.385 where trec_eval gives 0.308).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait, type CliResult } from './helpers/cli.js';
import { dataPath, needsData } from './helpers/requirements.js';

const skip = needsData('cisi');
let dir: string;
let index: string;

interface Doc {
  _id: string;
  title: string;
  text: string;
}
interface Query {
  _id: string;
  text: string;
}
let docs: Doc[] = [];
let queries: Query[] = [];
/** cisi's test judgments of the chosen queries, on the chosen documents. */
let judged: [string, string][] = [];

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Writes a BEIR folder; `qrels` maps split name → file text. */
function writeBeir(name: string, files: { corpus?: string | Buffer; queries?: string | Buffer; qrels?: Record<string, string | Buffer> }): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'qrels'), { recursive: true });
  writeFileSync(join(root, 'corpus.jsonl'), files.corpus ?? docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  writeFileSync(join(root, 'queries.jsonl'), files.queries ?? queries.map((q) => JSON.stringify({ ...q, metadata: { source: 'cisi' } })).join('\n') + '\n');
  for (const [split, text] of Object.entries(files.qrels ?? {})) writeFileSync(join(root, 'qrels', `${split}.tsv`), text);
  return root;
}

function errorOf(r: CliResult): { code: string; message: string; details?: Record<string, unknown> } {
  return (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string; details?: Record<string, unknown> } }).error;
}

/** trec_eval's ndcg_cut.10, recip_rank (cut 10), map_cut.100, recall.100 and P.10, per query (-c: every judged query), then the mean (BEIR's conventions). */
function trecEvalMeans(qrels: Map<string, Map<string, number>>, runText: string): Record<string, number> {
  const run = new Map<string, { doc: string; sim: number }[]>();
  for (const line of runText.split('\n')) {
    if (line === '') continue;
    const [qid, , doc, , sim] = line.split(' ') as [string, string, string, string, string];
    if (!run.has(qid)) run.set(qid, []);
    run.get(qid)!.push({ doc, sim: Number(sim) });
  }
  const sums = { ndcg: 0, rr: 0, map: 0, r100: 0, p10: 0 };
  // BEIR's ignore_identical_ids (plait's 'auto'): a hit whose id is the query's is dropped, unless the
  // qrels judge such a pair (cisi's do: query and document ids are two numberings; then trec_eval's rule).
  const dropIdentical = ![...qrels].some(([q, grades]) => grades.has(q));
  for (const [qid, grades] of qrels) {
    const hits = (run.get(qid) ?? []).filter((h) => !dropIdentical || h.doc !== qid).sort((a, b) => (a.sim !== b.sim ? b.sim - a.sim : Buffer.compare(Buffer.from(b.doc), Buffer.from(a.doc))));
    const rel = hits.map((h) => grades.get(h.doc) ?? 0);
    const positive = [...grades.values()].filter((g) => g >= 1).sort((a, b) => b - a);
    let dcg = 0;
    let idcg = 0;
    for (let i = 0; i < 10; i++) {
      if ((rel[i] ?? 0) > 0) dcg += rel[i]! / Math.log2(i + 2);
      if (i < positive.length) idcg += positive[i]! / Math.log2(i + 2);
    }
    sums.ndcg += idcg > 0 ? dcg / idcg : 0;
    const first = rel.slice(0, 10).findIndex((g) => g >= 1);
    sums.rr += first < 0 ? 0 : 1 / (first + 1);
    let found = 0;
    let ap = 0;
    for (let i = 0; i < Math.min(100, rel.length); i++) {
      if (rel[i]! >= 1) ap += ++found / (i + 1);
    }
    sums.map += positive.length > 0 ? ap / positive.length : 0;
    sums.r100 += positive.length > 0 ? found / positive.length : 0;
    sums.p10 += rel.slice(0, 10).filter((g) => g >= 1).length / 10;
  }
  const n = qrels.size;
  return { 'ndcg@10': sums.ndcg / n, 'mrr@10': sums.rr / n, 'map@100': sums.map / n, 'recall@100': sums.r100 / n, 'p@10': sums.p10 / n };
}

before(() => {
  if (skip !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'plait-beir-variants-'));
  const cisi = dataPath('cisi');
  const allQueries = readJsonl<Query>(join(cisi, 'queries.jsonl'));
  const qrelsRows = readFileSync(join(cisi, 'qrels', 'test.tsv'), 'utf8').split('\n').slice(1).filter((l) => l !== '').map((l) => l.split('\t') as [string, string, string]);
  const judgedQueries = allQueries.filter((q) => qrelsRows.some((r) => r[0] === q._id)).slice(0, 10);
  const allDocs = readJsonl<Doc>(join(cisi, 'corpus.jsonl'));
  // Each query's first 8 relevant documents, then others up to 200: a small index, real judgments.
  const keep = new Set<string>();
  for (const q of judgedQueries) for (const r of qrelsRows.filter((row) => row[0] === q._id).slice(0, 8)) keep.add(r[1]);
  for (const d of allDocs) if (keep.size < 200) keep.add(d._id);
  docs = allDocs.filter((d) => keep.has(d._id));
  // Two more queries, asked and judged only 0 (a TREC-COVID-style judged-not-relevant topic).
  queries = [...judgedQueries, ...allQueries.filter((q) => !judgedQueries.includes(q)).slice(0, 2)];
  judged = qrelsRows.filter((r) => judgedQueries.some((q) => q._id === r[0]) && keep.has(r[1])).map((r) => [r[0], r[1]]);
  const base = writeBeir('base', { qrels: { test: 'query-id\tcorpus-id\tscore\n' + judged.map(([q, d]) => `${q}\t${d}\t1\n`).join('') } });
  index = join(dir, 'idx');
  const r = runPlait(dir, ['index', join(base, 'corpus.jsonl'), '--index', index, '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
});

after(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

test('graded 0/1/2 qrels with explicit 0 judgments and two queries judged only 0: eval matches trec_eval on its own run', { skip }, () => {
  const zeroOnly = queries.slice(-2).map((q) => q._id);
  const rows = judged.map(([q, d], i) => `${q}\t${d}\t${1 + (i % 2)}`);
  // Explicit 0 judgments: for judged queries on documents they do not judge relevant, and the 0-only queries.
  const judgedPairs = new Set(judged.map(([q, d]) => `${q}\t${d}`));
  for (const q of [...queries.slice(0, 3).map((x) => x._id), ...zeroOnly]) {
    for (const d of docs.slice(0, 4)) if (!judgedPairs.has(`${q}\t${d._id}`)) rows.push(`${q}\t${d._id}\t0`);
  }
  const qrelsText = 'query-id\tcorpus-id\tscore\n' + rows.join('\n') + '\n';
  const folder = writeBeir('graded', { qrels: { test: qrelsText } });
  const runDir = join(dir, 'runs-graded');
  const r = runPlait(dir, ['eval', folder, '--index', index, '--modes', 'bm25,plaid', '--depth', '100', '--run-dir', runDir, '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { queries: number; modes: { name: string; mean: Record<string, number> }[] };
  assert.equal(out.queries, queries.length, 'the 0-only queries are asked and counted');
  const qrels = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const [q, d, g] = row.split('\t') as [string, string, string];
    if (!qrels.has(q)) qrels.set(q, new Map());
    qrels.get(q)!.set(d, Number(g));
  }
  for (const mode of out.modes) {
    const want = trecEvalMeans(qrels, readFileSync(join(runDir, `${mode.name}.trec`), 'utf8'));
    for (const [metric, value] of Object.entries(want)) {
      assert.ok(Math.abs(mode.mean[metric]! - value) < 1e-9, `${mode.name} ${metric}: plait ${mode.mean[metric]}, trec_eval ${value}`);
    }
  }
});

test('qrels without a header, with CRLF and a BOM, with an extra column under a header, in a dev split: the same figures as the plain file', { skip }, () => {
  const plain = 'query-id\tcorpus-id\tscore\n' + judged.map(([q, d]) => `${q}\t${d}\t1\n`).join('');
  const variants: Record<string, { qrels: string | Buffer; split: string; queries?: string }> = {
    plain: { qrels: plain, split: 'test' },
    noHeader: { qrels: judged.map(([q, d]) => `${q}\t${d}\t1\n`).join(''), split: 'test' },
    crlfBom: { qrels: '\uFEFF' + plain.replace(/\n/g, '\r\n'), split: 'test', queries: '\uFEFF' + queries.map((q) => JSON.stringify(q)).join('\r\n') + '\r\n' },
    extraColumn: { qrels: 'query-id\tcorpus-id\tscore\tnote\n' + judged.map(([q, d]) => `${q}\t${d}\t1\tcisi\n`).join(''), split: 'test' },
    duplicateLines: { qrels: plain + judged.slice(0, 5).map(([q, d]) => `${q}\t${d}\t1\n`).join(''), split: 'test' },
    dev: { qrels: plain, split: 'dev' },
  };
  const figures = new Map<string, string>();
  for (const [name, v] of Object.entries(variants)) {
    const folder = writeBeir(`v-${name}`, { qrels: { [v.split]: v.qrels }, ...(v.queries === undefined ? {} : { queries: v.queries }) });
    const r = runPlait(dir, ['eval', folder, '--index', index, '--split', v.split, '--modes', 'bm25', '--json', '-q']);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { queries: number; modes: { mean: Record<string, number> }[] };
    figures.set(name, JSON.stringify({ queries: out.queries, mean: out.modes[0]!.mean }));
  }
  for (const [name, f] of figures) assert.equal(f, figures.get('plain'), `${name} reads as the plain file`);
  // A set judged on dev only, evaluated without --split: the error names the splits there are.
  const r = runPlait(dir, ['eval', join(dir, 'v-dev'), '--index', index, '--modes', 'bm25', '--json']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(errorOf(r).code, 'FILE_NOT_FOUND');
  assert.match(errorOf(r).message, /qrels\/test\.tsv.*\(qrels\/ holds dev\.tsv\)/);
  assert.deepEqual(errorOf(r).details?.['splits'], ['dev']);
  assert.equal(errorOf(r).details?.['hint'], 'choose a split: --split dev');
});

test('a BEIR folder of gzip\'d files (as the Hugging Face hub keeps them) evaluates to the plain folder\'s figures', { skip }, () => {
  const plainQrels = 'query-id\tcorpus-id\tscore\n' + judged.map(([q, d]) => `${q}\t${d}\t1\n`).join('');
  // Had been COMPRESSED_INPUT (and before that "Index not found" for the folder).
  const gz = join(dir, 'gz');
  mkdirSync(join(gz, 'qrels'), { recursive: true });
  writeFileSync(join(gz, 'corpus.jsonl.gz'), gzipSync(docs.map((d) => JSON.stringify(d)).join('\n') + '\n'));
  writeFileSync(join(gz, 'queries.jsonl.gz'), gzipSync(queries.map((q) => JSON.stringify({ ...q, metadata: { source: 'cisi' } })).join('\n') + '\n'));
  writeFileSync(join(gz, 'qrels', 'test.tsv.gz'), gzipSync(plainQrels));
  const base = writeBeir('base-gz', { qrels: { test: plainQrels } });
  const figures = (folder: string): string => {
    const r = runPlait(dir, ['eval', folder, '--index', index, '--modes', 'bm25', '--json', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { queries: number; modes: { mean: Record<string, number> }[] };
    return JSON.stringify({ queries: out.queries, mean: out.modes[0]!.mean });
  };
  assert.equal(figures(gz), figures(base));
});

test('refused with a stable code naming the file (and line): not UTF-8, fractional grades; ids with spaces read, and refused only where a TREC run is written', { skip }, () => {
  let r: CliResult;
  const base = join(dir, 'base');

  // A Latin-1 query on line 3: had been searched as "caf\uFFFD".
  const latin = Buffer.concat([Buffer.from(queries.slice(0, 2).map((q) => JSON.stringify(q)).join('\n') + '\n'), Buffer.from('{"_id": "x1", "text": "caf\xe9 au lait"}\n', 'latin1')]);
  writeFileSync(join(dir, 'latin1.jsonl'), latin);
  for (const args of [['eval', index, '--queries', join(dir, 'latin1.jsonl'), '--qrels', join(base, 'qrels', 'test.tsv'), '--modes', 'bm25'], ['search', index, '--queries', join(dir, 'latin1.jsonl')]]) {
    r = runPlait(dir, [...args, '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(errorOf(r).code, 'TEXT_NOT_UTF8');
    assert.deepEqual(errorOf(r).details, { file: join(dir, 'latin1.jsonl'), line: 3 });
  }

  // The other doors that read a list from a file: calibrate's .txt query log.
  writeFileSync(join(dir, 'log.txt'), Buffer.concat([Buffer.from('bread and yeast\nlibrary catalogues\n'), Buffer.from('caf\xe9 au lait\n', 'latin1')]));
  r = runPlait(dir, ['calibrate', index, '--queries', join(dir, 'log.txt'), '--budget-s', '5', '--json']);
  assert.equal(errorOf(r).code, 'TEXT_NOT_UTF8', r.stderr);
  assert.deepEqual(errorOf(r).details, { file: join(dir, 'log.txt'), line: 3 });
  // The same log gzip'd: still one query a line (log.txt.gz), its line counted in the decompressed text.
  writeFileSync(join(dir, 'log.txt.gz'), gzipSync(readFileSync(join(dir, 'log.txt'))));
  r = runPlait(dir, ['calibrate', index, '--queries', join(dir, 'log.txt.gz'), '--budget-s', '5', '--json']);
  assert.equal(errorOf(r).code, 'TEXT_NOT_UTF8', r.stderr);
  assert.deepEqual(errorOf(r).details, { file: join(dir, 'log.txt.gz'), line: 3 });
  // (A gzip'd id list or document file is read decompressed: test/gzip-input.test.ts.)

  // A grade 0.5: trec_eval reads 0 (atol), BEIR's loader stops (int()); plait had counted it relevant.
  const half = writeBeir('half', { qrels: { test: 'query-id\tcorpus-id\tscore\n' + judged.map(([q, d]) => `${q}\t${d}\t0.5\n`).join('') } });
  r = runPlait(dir, ['eval', half, '--index', index, '--modes', 'bm25', '--json']);
  assert.equal(errorOf(r).code, 'INVALID_INPUT', r.stderr);
  assert.match(errorOf(r).message, /test\.tsv:2: relevance grade "0\.5" is not an integer/);

  // A query id with a space, in the queries and the qrels (tab-separated, as BEIR writes them).
  const spaced = writeBeir('spaced', {
    queries: queries.map((q) => JSON.stringify({ _id: `q ${q._id}`, text: q.text })).join('\n') + '\n',
    qrels: { test: 'query-id\tcorpus-id\tscore\n' + judged.map(([q, d]) => `q ${q}\t${d}\t1\n`).join('') },
  });
  // Read and evaluated as the unspaced set (ids are opaque; BEIR's TSV carries the space); only
  // a TREC run cannot carry such an id, so --run-dir and a run on stdout refuse it before searching.
  r = runPlait(dir, ['eval', spaced, '--index', index, '--modes', 'bm25', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const spacedMeans = (JSON.parse(r.stdout) as { modes: { mean: Record<string, number> }[] }).modes[0]!.mean;
  // The twin set with "q_" where the space was: the same figures.
  const underscored = writeBeir('underscored', {
    queries: queries.map((q) => JSON.stringify({ _id: `q_${q._id}`, text: q.text })).join('\n') + '\n',
    qrels: { test: 'query-id\tcorpus-id\tscore\n' + judged.map(([q, d]) => `q_${q}\t${d}\t1\n`).join('') },
  });
  r = runPlait(dir, ['eval', underscored, '--index', index, '--modes', 'bm25', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(spacedMeans, (JSON.parse(r.stdout) as { modes: { mean: Record<string, number> }[] }).modes[0]!.mean);
  r = runPlait(dir, ['eval', spaced, '--index', index, '--modes', 'bm25', '--run-dir', join(dir, 'spaced-runs'), '--json']);
  assert.equal(errorOf(r).code, 'ID_WHITESPACE', r.stderr);
  assert.equal(errorOf(r).details?.['field'], 'queryId');
  r = runPlait(dir, ['search', index, '--queries', join(spaced, 'queries.jsonl'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  r = runPlait(dir, ['search', index, '--queries', join(spaced, 'queries.jsonl')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /query id "q .*" holds white space, which a TREC run line .* cannot carry.*\[ID_WHITESPACE\]/);
});

test('a corpus without titles, with title-only, number, unicode ids, CRLF and a BOM indexes and evaluates', { skip }, () => {
  const small = docs.slice(0, 40);
  const lines = small.map((d, i) => {
    if (i % 4 === 0) return JSON.stringify({ _id: d._id, text: d.text }); // no title
    if (i % 4 === 1) return JSON.stringify({ _id: d._id, title: d.title || d.text.slice(0, 80) }); // title only
    if (i % 4 === 2) return `{"_id": ${Number(d._id)}, "title": ${JSON.stringify(d.title)}, "text": ${JSON.stringify(d.text)}}`; // a number id
    return JSON.stringify({ _id: `dé-${d._id}`, title: d.title, text: d.text }); // a unicode id
  });
  const idOf = (d: Doc, i: number): string => (i % 4 === 3 ? `dé-${d._id}` : d._id);
  const folder = writeBeir('corpus-shapes', {
    corpus: '\uFEFF' + lines.join('\r\n') + '\r\n',
    // Number query ids far from the documents' (BEIR drops a hit whose id is the query's).
    queries: small.slice(0, 6).map((d, i) => JSON.stringify({ _id: 9000 + i, text: i % 4 === 0 ? d.text.slice(0, 120) : d.title, metadata: { of: d._id } })).join('\n') + '\n',
    qrels: { test: 'query-id\tcorpus-id\tscore\n' + small.slice(0, 6).map((d, i) => `${9000 + i}\t${idOf(d, i)}\t2\n`).join('') },
  });
  const r = runPlait(dir, ['eval', folder, '--index', join(dir, 'idx-shapes'), '--modes', 'bm25', '--run-dir', join(dir, 'runs-shapes'), '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { queries: number; modes: { mean: Record<string, number> }[] };
  assert.equal(out.queries, 6);
  const run = readFileSync(join(dir, 'runs-shapes', 'bm25.trec'), 'utf8');
  for (const [i, d] of small.slice(0, 4).entries()) assert.ok(run.includes(` ${idOf(d, i)} `), `${idOf(d, i)} is retrieved under its id`);
  assert.ok(out.modes[0]!.mean['recall@100']! > 0.8, JSON.stringify(out.modes[0]!.mean));
});
