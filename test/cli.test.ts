/** The CLI driven as a user would: index, info, search (single and batch to a TREC run), rerank, encode, eval, errors. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { runPlait, type CliResult } from './helpers/cli.js';
const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
let dir: string;

const plait = (...args: string[]): CliResult => runPlait(dir, args);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cli-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('index → info → search → batch search → eval', () => {
  const built = plait('index', SAMPLE, '--index', 'sample', '--threads', '1', '--json');
  assert.equal(built.code, 0, built.stderr);
  assert.equal(JSON.parse(built.stdout).counts.documents, 40);
  assert.ok(existsSync(join(dir, 'indexes', 'sample', 'manifest.json')));
  // Not a terminal: progress comes as JSON lines on stderr.
  assert.match(built.stderr, /"phase":"encode"/);

  const info = plait('info', 'sample', '--json');
  assert.equal(info.code, 0, info.stderr);
  const parsed = JSON.parse(info.stdout) as { bytesPerToken: number; manifest: { nbits: number; dim: number } };
  // 2-bit residuals of 512 dims = 128 bytes, plus a 4-byte centroid id.
  assert.equal(parsed.bytesPerToken, 132);
  const human = plait('info', 'sample');
  assert.match(human.stdout, /bytes\/token\s+132\.00/);

  const s = plait('search', 'sample', 'honeybee waggle dance', '-k', '3', '--json', '--timings');
  assert.equal(s.code, 0, s.stderr);
  const res = JSON.parse(s.stdout) as { hits: { docId: string; rank: number; text: string }[]; timings: { totalMs: number } };
  assert.equal(res.hits.length, 3);
  assert.equal(res.hits[0]!.docId, 'honeybees');
  assert.ok(res.hits[0]!.text.length > 0);

  writeFileSync(join(dir, 'queries.tsv'), 'q1\tbread and yeast\nq2\tglaciers carving valleys\n');
  writeFileSync(join(dir, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\nq1\tbread-yeast\t1\nq1\tsourdough\t1\nq2\tglaciers\t2\n');
  const batch = plait('search', 'sample', '--queries', join(dir, 'queries.tsv'), '--run', join(dir, 'run.trec'), '-k', '5');
  assert.equal(batch.code, 0, batch.stderr);
  const lines = readFileSync(join(dir, 'run.trec'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 10);
  assert.match(lines[0]!, /^q1 Q0 \S+ 1 \S+ plait$/);

  const ev = plait('eval', 'sample', '--queries', join(dir, 'queries.tsv'), '--qrels', join(dir, 'qrels.tsv'), '--depth', '10', '--json', '--report', join(dir, 'report.html'));
  assert.equal(ev.code, 0, ev.stderr);
  const c = JSON.parse(ev.stdout) as { modes: { name: string; mean: Record<string, number> }[] };
  assert.deepEqual(c.modes.map((m) => m.name), ['exhaustive', 'plaid', 'bm25', 'hybrid']);
  for (const m of c.modes) assert.ok(m.mean['ndcg@10']! > 0.5, `${m.name} ${m.mean['ndcg@10']}`);
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<svg/);
});

test('a search that finds nothing says so on stderr (stdout stays empty for scripts); --json says it with hits: []', () => {
  // It printed nothing at all: a filter matching no document looked like a hang or a crash.
  const none = plait('search', 'sample', 'bread', '--filter', '{"doc_id": "no-such-document"}');
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^plait: no hits \(no document passes --filter\)$/m);
  const bm25 = plait('search', 'sample', 'zzzyqx', '--mode', 'bm25');
  assert.equal(bm25.stdout, '');
  assert.match(bm25.stderr, /^plait: no hits$/m);
  const json = plait('search', 'sample', 'bread', '--filter', '{"doc_id": "no-such-document"}', '--json');
  assert.deepEqual(JSON.parse(json.stdout).hits, []);
  assert.doesNotMatch(json.stderr, /no hits/);
  const some = plait('search', 'sample', 'bread', '-k', '1');
  assert.doesNotMatch(some.stderr, /no hits/);
});

test("eval given one of a BEIR folder's files says so and names the folder, instead of \"no index\"", () => {
  const beir = join(dir, 'tiny-beir');
  mkdirSync(beir, { recursive: true });
  writeFileSync(join(beir, 'queries.jsonl'), '{"_id": "q1", "text": "bread"}\n');
  const r = plait('eval', join(beir, 'queries.jsonl'));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^plait: Usage: .*tiny-beir\/queries\.jsonl is a file; eval's target is an index or a BEIR folder \(corpus\.jsonl, queries\.jsonl, qrels\/; each may be gzip'd\): for the BEIR folder it is in, plait eval .*tiny-beir \[USAGE\]$/m);
});

test('rerank and encode', () => {
  writeFileSync(join(dir, 'docs.jsonl'), ['{"id": "x", "text": "Octopuses have neurons in their arms."}', '{"id": "y", "text": "Roman roads were paved with stone."}'].join('\n'));
  const r = plait('rerank', '--query', 'octopus intelligence', '--docs', join(dir, 'docs.jsonl'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { id: string; index: number }[];
  assert.deepEqual(out.map((o) => o.id), ['x', 'y']);

  const e = plait('encode', '--json', 'some text to encode');
  assert.equal(e.code, 0, e.stderr);
  const enc = JSON.parse(e.stdout) as { dim: number; encodeMs: number; items: { tokens: number }[] };
  assert.equal(enc.dim, 512);
  assert.ok(enc.items[0]!.tokens > 0 && enc.encodeMs > 0);
});

test('errors carry a stable code and a usage exit status', () => {
  const missing = plait('search', 'no-such-index', 'q', '--json');
  assert.equal(missing.code, 2); // a name that denotes no index is bad input
  const err = JSON.parse(missing.stderr).error as { code: string; message: string };
  assert.equal(err.code, 'INDEX_NOT_FOUND');
  // It says where it looked: ./<name>, then the index home.
  assert.ok(err.message.includes(join(dir, 'no-such-index')) && err.message.includes(join(dir, 'indexes', 'no-such-index')), err.message);
  writeFileSync(join(dir, 'bad.jsonl'), '{"_id": "1", "text": "ok"}\nnot json\n');
  const bad = plait('index', join(dir, 'bad.jsonl'), '--index', 'bad', '--quiet');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad\.jsonl.*line 2.*\[MALFORMED_JSONL\]/);
  const k = plait('search', 'sample', 'q', '-k', '-3');
  assert.equal(k.code, 2);
  assert.match(k.stderr, /Expected an integer in \[1, 10000\] for -k but received "-3"/);
});
