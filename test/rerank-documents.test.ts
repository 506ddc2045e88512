/**
 * The library's rerank takes what the HTTP rerank routes take (rerank-documents.ts): strings,
 * `{ id?, text }`, any object — ranked on `rankFields`, else its `text`, else all its fields — with
 * the routes' limits, error codes and warnings, and hands the caller's own objects back. Before, it
 * took `{ id?, text }` only ("document 0 must be a string or { id, text }"), let 1,001 documents
 * through where the routes answer 413, named a long or malformed document "text 0" (a passage), and
 * gave no MISSING_RANK_FIELDS warning.
 *
 * The differential half runs the same requests through the library and through a real server on
 * 127.0.0.1 (rerank-only, the bundled model, one encoder shared by two Rerankers with their own
 * caches): identical order, scores, usage (prompt_tokens = queryTokens + documentTokens) and
 * warnings; and for each refused request, the same code.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/requirements.js';
import { closeRerankers, isPlaitError, rerank, rerankDocuments, Reranker, type RankedDocument, type RerankDocumentsOptions, type RerankInput } from '../src/index.js';
import { Engine, resolveServerOptions, serveEngine, type RunningServer } from '../src/server/index.js';
import { postJson } from './helpers/server-fixture.js';

const QUERY = 'why does bread dough rise';

/** Rows as an application holds them: no `text` field. */
const ROWS = [
  { id: 'r1', title: 'Stock markets', body: 'Stocks fell sharply on Monday after the report.', year: 2024 },
  { id: 'r2', title: 'Sourdough', body: 'Yeast and lactic bacteria ferment the flour; the gas they make raises the dough.', year: 2021 },
  { id: 'r3', title: 'Kites', body: 'A kite flies when the wind lifts it.', year: 2019 },
];

let shared: Reranker;
let library: Reranker;
let server: RunningServer;

before(async () => {
  shared = await Reranker.create({ encoderOptions: { threads: 1 } });
  // Its own cache, the served one's encoder: the library's answer is computed, not the server's cached.
  library = await Reranker.create({ encoder: shared.encoder });
  const options = resolveServerOptions({ host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false }, {});
  const engine = new Engine({ indexes: [], rerankers: [{ names: ['plait-default'], reranker: shared, borrowed: true }] }, options);
  await engine.warmUp();
  server = await serveEngine(engine);
});

after(async () => {
  await server?.close();
  await library?.close();
  await shared?.close();
  await closeRerankers();
});

/** The code a rejected promise carries (PlaitError), or a failure naming what it was instead. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(isPlaitError(e), `a PlaitError, not ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a rejection');
}

test('objects are ranked as the routes rank them: all fields without `text`, `text` when there is one, rankFields when named; the caller\'s objects come back', async () => {
  const ranked = await rerank(QUERY, ROWS);
  // Typed as the caller's own rows (a type error here fails the build, so the generic is tested too).
  const title: string = ranked[0]!.document.title;
  assert.equal(title, 'Sourdough');
  assert.equal(ranked[0]!.document, ROWS[1], 'the same object, not a copy');
  assert.deepEqual(ranked.map((r) => r.id), ranked.map((r) => ROWS[r.index]!.id), 'each result names its row\'s string id');
  // All fields, in their order, as `field: value` lines (numbers as JSON): the scores of those texts.
  const flat = ROWS.map((r) => `id: ${r.id}\ntitle: ${r.title}\nbody: ${r.body}\nyear: ${r.year}`);
  const want = await library.rerank(QUERY, flat);
  assert.deepEqual(ranked.map((r) => [r.index, r.score]), want.map((r) => [r.index, r.score]));

  const fields = await rerank(QUERY, ROWS, { rankFields: ['title', 'body'], topK: 2 });
  const wantFields = await library.rerank(QUERY, ROWS.map((r) => `title: ${r.title}\nbody: ${r.body}`), { topK: 2 });
  assert.deepEqual(fields.map((r) => [r.index, r.score, r.id]), wantFields.map((r) => [r.index, r.score, ROWS[r.index]!.id]));

  // Strings, { id, text } and an object with `text` and more fields (ranked on its text) in one list.
  const mixed: RerankInput[] = ['Stocks fell.', { id: 't', text: 'Yeast raises bread dough.' }, { text: 'Kites fly.', year: 2020 }];
  const m = await rerank(QUERY, mixed);
  const wantMixed = await library.rerank(QUERY, ['Stocks fell.', 'Yeast raises bread dough.', 'Kites fly.']);
  assert.deepEqual(m.map((r) => [r.index, r.score]), wantMixed.map((r) => [r.index, r.score]));
  assert.equal(m.find((r) => r.index === 1)!.id, 't');
  assert.equal(m.find((r) => r.index === 0)!.id, undefined);
});

test('rankFields that a document lacks: MISSING_RANK_FIELDS on its result and in the call\'s warnings (documents cut by topK too)', async () => {
  const rows = [ROWS[0]!, { id: 'x', headline: 'Bread rises with yeast' }, ROWS[2]!];
  const ranked = await rerank(QUERY, rows, { rankFields: ['title'] });
  const lacking = ranked.find((r) => r.index === 1)!;
  assert.ok(lacking.score <= -9999, 'ranked as an empty document');
  assert.deepEqual(lacking.warnings?.map((w) => w.code), ['MISSING_RANK_FIELDS']);
  assert.equal(ranked.find((r) => r.index === 0)!.warnings, undefined);
  const out = await rerankDocuments(library, QUERY, rows, { rankFields: ['title'], topK: 1 });
  assert.equal(out.results.length, 1);
  assert.notEqual(out.results[0]!.index, 1);
  assert.deepEqual(out.warnings, [
    { code: 'MISSING_RANK_FIELDS', rankFields: ['title'], documents: [1], message: '1 document has none of the rank_fields ["title"]: ranked as empty documents (score -9999 a query token)' },
  ]);
});

test('the routes\' limits and codes: 1,001 documents, a document too large or not UTF-16-well-formed, a `text` not a string, an empty object, a field JSON cannot write, bad rankFields', async () => {
  const over = Array.from({ length: 1001 }, () => 'x');
  await assert.rejects(rerank(QUERY, over), (e: unknown) => {
    assert.ok(isPlaitError(e));
    assert.equal(e.code, 'QUERY_TOO_LARGE');
    assert.deepEqual(e.details, { field: 'documents', limit: 1000, received: 1001 });
    assert.match(e.message, /1001 items in documents; the limit is 1000/);
    return true;
  });
  // Refused before any model loads: a model that does not exist is never looked for.
  assert.equal(await codeOf(rerank(QUERY, over, { model: '/no/such/model/folder' })), 'QUERY_TOO_LARGE');
  assert.equal(await codeOf(rerank(QUERY, over, { crossEncoder: '/no/such/cross-encoder' })), 'QUERY_TOO_LARGE');
  assert.equal((await rerank(QUERY, over.slice(0, 1000), { topK: 1 })).length, 1, 'the limit itself is taken');
  assert.deepEqual(await rerank(QUERY, []), []);
  assert.deepEqual(await rerankDocuments(library, QUERY, []), { results: [], usage: { queryTokens: 0, documentTokens: 0 }, warnings: [] });
  const named = (code: string, field: string) => (e: unknown) => {
    assert.ok(isPlaitError(e), String(e));
    assert.equal(e.code, code);
    assert.match(e.message, new RegExp(field.replace(/[[\]]/g, '\\$&')));
    return true;
  };
  await assert.rejects(rerank(QUERY, ['ok', 'bread '.repeat(200_000)]), named('QUERY_TOO_LARGE', 'documents[1]'));
  await assert.rejects(rerank(QUERY, ['ok', { text: 'a \ud800 b' }]), named('TEXT_NOT_UTF8', 'documents[1]'));
  await assert.rejects(rerank(QUERY, [{ text: 5 }]), named('INVALID_INPUT', 'documents[0]'));
  await assert.rejects(rerank(QUERY, ['ok', {}]), named('INVALID_INPUT', 'documents[1]'));
  await assert.rejects(rerank(QUERY, ['ok', ['an', 'array'] as unknown as string]), named('INVALID_INPUT', 'documents[1]'));
  await assert.rejects(rerank(QUERY, [null as unknown as string]), named('INVALID_INPUT', 'documents[0]'));
  // JSON.stringify's TypeError (a BigInt, a cycle) had escaped as a TypeError.
  await assert.rejects(rerank(QUERY, [{ title: 'a', n: 10n }]), named('INVALID_INPUT', 'documents[0] field "n"'));
  const cyclic: Record<string, unknown> = { title: 'a' };
  cyclic['self'] = cyclic;
  await assert.rejects(rerank(QUERY, [cyclic], { rankFields: ['self'] }), named('INVALID_INPUT', 'documents[0] field "self"'));
  // A value that is not a string is written as JSON, as the routes write it.
  const json = await rerank(QUERY, [{ tags: ['bread', 'yeast'], n: 3, none: null }]);
  assert.equal(json[0]!.score, (await library.rerank(QUERY, ['tags: ["bread","yeast"]\nn: 3\nnone: null']))[0]!.score);
  await assert.rejects(rerank(QUERY, ROWS, { rankFields: 'title' as unknown as string[] }), named('INVALID_ARGUMENT', 'rankFields'));
  await assert.rejects(rerank(QUERY, ROWS, { rankfields: ['title'] } as never), /did you mean "rankFields"/);
  await assert.rejects(rerankDocuments(library, QUERY, ROWS, { rankfields: ['title'] } as never), /did you mean "rankFields"/);
  await assert.rejects(rerank('   ', ROWS), named('EMPTY_TEXT', 'query'));
});

/** One request through both doors: the library's answer, the server's body. */
async function bothDoors(documents: readonly RerankInput[], options: RerankDocumentsOptions, body: Record<string, unknown>) {
  const lib = await rerankDocuments(library, QUERY, documents, options);
  const http = await postJson(`${server.url}/v1/rerank`, { query: QUERY, documents, ...body });
  return { lib, http };
}

test('differential: the same documents through the library and the real server — identical order, scores, usage and warnings', async () => {
  const cjk = '東京 大阪 京都 名古屋 札幌';
  const long = `Bread dough rises because yeast ferments sugars. ${'Flour water salt and time. '.repeat(60)}The gas is trapped by gluten.`;
  const cases: { documents: RerankInput[]; options: RerankDocumentsOptions; body: Record<string, unknown> }[] = [
    { documents: ROWS, options: {}, body: {} },
    { documents: ROWS, options: { rankFields: ['title', 'body'], topK: 2 }, body: { rank_fields: ['title', 'body'], top_n: 2 } },
    { documents: [...ROWS, { id: 'x', headline: 'no title here' }], options: { rankFields: ['title'] }, body: { rank_fields: ['title'] } },
    { documents: ['Stocks fell.', { text: long, id: 'long' }, { text: cjk }, ''], options: {}, body: {} },
    { documents: [{ text: long }, 'Yeast raises dough.'], options: { maxTokensPerDocument: 40, maxPassagesPerDocument: 1 }, body: { max_tokens_per_doc: 40, max_chunks_per_doc: 1 } },
  ];
  for (const [i, c] of cases.entries()) {
    const { lib, http } = await bothDoors(c.documents, c.options, c.body);
    assert.equal(http.status, 200, `case ${i}: ${JSON.stringify(http.body)}`);
    const results = http.body.results as { index: number; relevance_score: number }[];
    assert.deepEqual(lib.results.map((r) => [r.index, r.score]), results.map((r) => [r.index, r.relevance_score]), `case ${i}: order and scores`);
    const used = lib.usage.queryTokens + lib.usage.documentTokens;
    assert.deepEqual(http.body.usage, { prompt_tokens: used, completion_tokens: 0, total_tokens: used }, `case ${i}: usage`);
    assert.ok(lib.usage.documentTokens > 0, `case ${i}: documents counted`);
    assert.deepEqual(lib.warnings.map((w) => w.message), http.body.meta.warnings ?? [], `case ${i}: warnings`);
  }
  // The cases cover both kinds of warning.
  const kinds = new Set<string>();
  for (const c of cases) for (const w of (await rerankDocuments(library, QUERY, c.documents, c.options)).warnings) kinds.add(w.code);
  assert.deepEqual([...kinds].sort(), ['MISSING_RANK_FIELDS', 'MOSTLY_UNKNOWN_TOKENS']);
});

test('differential: each request the server refuses, the library refuses with the same code; an empty list both answer empty', async () => {
  const refused: { query?: string; documents: unknown[]; options?: RerankDocumentsOptions; body?: Record<string, unknown> }[] = [
    { documents: Array.from({ length: 1001 }, (_, i) => `d${i}`) },
    { documents: ['ok', { text: 5 }] },
    { documents: ['ok', {}] },
    { documents: ['ok', 'a \ud800 b'] },
    { documents: ['ok'], query: '  ' },
    { documents: ['ok'], query: '!!!' },
  ];
  for (const [i, c] of refused.entries()) {
    const query = c.query ?? QUERY;
    const http = await postJson(`${server.url}/v1/rerank`, JSON.stringify({ query, documents: c.documents, ...c.body }));
    assert.ok(http.status >= 400, `case ${i}: refused over HTTP (${http.status})`);
    assert.equal(await codeOf(rerankDocuments(library, query, c.documents as RerankInput[], c.options)), http.body.error.code, `case ${i}`);
    assert.equal(await codeOf(rerank(query, c.documents as RerankInput[], c.options)), http.body.error.code, `case ${i} (one call)`);
  }
  const empty = await postJson(`${server.url}/v1/rerank`, { query: QUERY, documents: [] });
  assert.deepEqual(empty.body.results, []);
  assert.deepEqual(empty.body.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  assert.deepEqual((await rerankDocuments(library, QUERY, [])).usage, { queryTokens: 0, documentTokens: 0 });
});

// Compile-time: a caller's class instances (LangChain's Document is one) are documents; the results are typed by them.
class Note {
  constructor(
    readonly pageContent: string,
    readonly metadata: Record<string, unknown>,
  ) {}
}
test('class instances (no index signature, as LangChain\'s Document) are documents, ranked on rankFields and handed back typed', async () => {
  const notes = [new Note('Stocks fell.', { source: 'a' }), new Note('Yeast raises the dough.', { source: 'b' })];
  const ranked: RankedDocument<Note>[] = await rerank(QUERY, notes, { rankFields: ['pageContent'] });
  assert.equal(ranked[0]!.document.metadata['source'], 'b');
  assert.ok(ranked[0]!.document instanceof Note);
});

/** README's "Reranking your own objects" example, verbatim. */
function readmeExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /\*\*Reranking your own objects\.\*\*[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block?.includes("from 'plait'") === true, "README's Library section has the objects example, importing 'plait'");
  return block!;
}

test("README's objects example type-checks and runs as written, printing what its comments say", () => {
  const example = readmeExample();
  // A consumer folder whose node_modules/plait is this repository (its package.json exports dist/).
  const dir = mkdtempSync(join(tmpdir(), 'plait-readme-rerank-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'plait'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(dir, 'example.ts'), example);
    // Type-checked against the published declarations and compiled, as a user's tsc would
    // (skipLibCheck: plait's own .d.ts are pack.test's), then run.
    const tsc = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'example.ts'], { cwd: dir, encoding: 'utf8' });
    assert.equal(tsc.status, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);
    const run = spawnSync(process.execPath, ['example.js'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, `node example.js:\n${run.stdout}${run.stderr}`);
    // What the example's comments promise, line by line.
    const promised = [...example.matchAll(/console\.log\(.*\/\/ (.*)$/gm)].map((m) => m[1]!.trim());
    assert.deepEqual(run.stdout.trim().split('\n'), promised);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
