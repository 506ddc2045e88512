/**
 * plait as an application's library, called from plain JavaScript (no compiler between the user's
 * mistake and plait): a wrong argument is a PlaitError with a stable code at every door, and a
 * cancelled search says why in the caller's own words.
 *
 * Found by a user's second hour with the packed library: `openIndex(42)` rejected with Node's
 * TypeError ERR_INVALID_ARG_TYPE (from node:path), `buildIndex(null, …)` with BUILD_FAILED
 * "Cannot read properties of null", and a search cancelled with `controller.abort(reason)` rejected
 * with ABORTED and no `cause` (add, rerank and buildIndex keep the reason as `cause`).
 * One synthetic index (12 passages, no model) serves every test: ~1 s.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { addCorpus, buildIndex, countDocuments, isPlaitError, openCorpus, openIndex, updateIndex, type PlaitIndex, type UpdateRequest } from '../src/index.js';

let dir: string;
let index: PlaitIndex;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-user-doors-'));
  // A synthetic index (no model to load): every call below stops before any encoding.
  await buildSynthetic(join(dir, 'idx'), syntheticPassages(12, 32, 7, 4).passages, 32);
  index = await openIndex(join(dir, 'idx'));
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What a plain-JS caller passes where a string belongs. */
const notAName: unknown[] = [42, null, undefined, {}, ['idx'], ''];

test('an index name or path that is not a non-empty string is INVALID_ARGUMENT naming `index`, at every door that takes one', async () => {
  for (const bad of notAName) {
    const invalid = (e: unknown): boolean => isPlaitError(e, 'INVALID_ARGUMENT') && /for index but received/.test(e.message);
    await assert.rejects(openIndex(bad as unknown as string), invalid, `openIndex(${String(bad)})`);
    await assert.rejects(addCorpus(bad as unknown as string, [join(dir, 'none.jsonl')]), invalid, `addCorpus(${String(bad)})`);
  }
  // buildIndex's options.index was checked already; the same message.
  await assert.rejects(buildIndex([{ docId: 'a', text: 'x' }], { index: 42 as unknown as string }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /for index but received 42/.test(e.message));
});

test('a corpus input that is neither a path, a list of paths nor documents is INVALID_ARGUMENT naming `input`, not BUILD_FAILED', async () => {
  const invalid = (e: unknown): boolean => isPlaitError(e, 'INVALID_ARGUMENT') && /for input but received/.test(e.message);
  for (const bad of [null, 42, { path: 'x.jsonl' }, [42]]) {
    await assert.rejects(countDocuments(bad as unknown as string), invalid, `countDocuments(${JSON.stringify(bad)})`);
    // [42] is a list of documents to these two, its first one malformed (MALFORMED_JSONL at line 1).
    if (Array.isArray(bad)) continue;
    await assert.rejects(buildIndex(bad as unknown as string, { index: join(dir, 'never') }), invalid, `buildIndex(${JSON.stringify(bad)})`);
    await assert.rejects(openCorpus(bad as unknown as string), invalid, `openCorpus(${JSON.stringify(bad)})`);
  }
});

test("a search cancelled with the caller's reason rejects with ABORTED whose cause is that reason, as add, rerank and buildIndex do", async () => {
  const reason = new Error('user navigated away');
  for (const call of [
    () => index.search('bread', { mode: 'late', signal: AbortSignal.abort(reason) }),
    () => index.searchBatch(['bread', 'tide'], { mode: 'late', signal: AbortSignal.abort(reason) }),
  ]) {
    await assert.rejects(call(), (e: unknown) => isPlaitError(e, 'ABORTED') && e.cause === reason);
  }
  // A timeout stays TIMEOUT, its cause the signal's TimeoutError (AbortSignal.timeout's reason).
  const timedOut = new DOMException('The operation timed out.', 'TimeoutError');
  await assert.rejects(index.search('bread', { mode: 'late', signal: AbortSignal.abort(timedOut) }), (e: unknown) => isPlaitError(e, 'TIMEOUT') && e.cause === timedOut);
});

test('delete and compact take a signal as add does: aborted, they reject with its reason and write nothing; an unknown option key is refused', async () => {
  const reason = new Error('request cancelled');
  const before = { generation: index.generation, documents: index.manifest.counts.documents };
  // It had been ignored: `delete(['3'], { signal })` deleted and resolved.
  await assert.rejects(index.delete(['d3'], { signal: AbortSignal.abort(reason) }), (e: unknown) => isPlaitError(e, 'ABORTED') && e.cause === reason);
  await assert.rejects(index.delete({ filter: { year: 2024 } }, { signal: AbortSignal.abort(reason) }), (e: unknown) => isPlaitError(e, 'ABORTED') && e.cause === reason);
  await assert.rejects(index.compact({ signal: AbortSignal.abort(reason) }), (e: unknown) => isPlaitError(e, 'ABORTED') && e.cause === reason);
  await assert.rejects(index.delete(['d3'], { sigal: 1 } as never), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /unknown delete option "sigal" \(did you mean "signal"\?\)/.test(e.message));
  await assert.rejects(index.delete(['d3'], { signal: 'stop' } as never), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
  assert.deepEqual({ generation: index.generation, documents: index.manifest.counts.documents }, before, 'nothing was written');
  // A live signal: the delete commits.
  const done = await index.delete(['d3'], { signal: new AbortController().signal });
  assert.equal(done.deleted, 1);
  assert.equal(index.manifest.counts.documents, before.documents - 1);
});

test("a wrong call raced by close() is refused for its own mistake (INVALID_ARGUMENT), not as INDEX_CLOSED; after close() a search is INDEX_CLOSED", async () => {
  const other = await openIndex(index.path);
  const wrong = [
    other.search('q', { topk: 3 } as never),
    other.searchBatch(['q'], { mode: 'late', topK: 0 }),
    other.rerank('q', 'd1' as never),
    other.explain('q', 'd1', { topk: 1 } as never),
    other.warmUp({ x: 1 } as never),
  ];
  const closed = other.close();
  for (const [i, p] of wrong.entries()) await assert.rejects(p, (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'), `call ${i}`);
  await closed;
  await assert.rejects(other.search('q', { mode: 'late' }), (e: unknown) => isPlaitError(e, 'INDEX_CLOSED'));
});

// An encoded write's nested shapes are checked before the lock: a document without a title had
// failed inside the store's transaction as DOCSTORE_FAILED ("reading 'toLowerCase'"), an item that
// is not an object, or an add without embeddings, as a bare TypeError.
test('updateIndex names the nested field of a malformed encoded write (add[0].doc.title, add[1], delete[1]) before opening anything', () => {
  const doc = { docId: 'a', title: '', text: 'some text' };
  const cases: [unknown, string][] = [
    [{ add: [{ doc: { docId: 'a', text: 'no title' }, passages: [], embeddings: [] }] }, 'add[0].doc.title'],
    [{ add: [{ doc, passages: [], embeddings: [] }, null] }, 'add[1]'],
    [{ add: [{ doc, passages: [{ start: 0, end: 4 }] }] }, 'add[0].embeddings'],
    [{ add: [{ doc, passages: [], embeddings: [42] }] }, 'add[0].embeddings[0]'],
    [{ add: [{ doc: { ...doc, metadata: [1] }, passages: [], embeddings: [] }] }, 'add[0].doc.metadata'],
    [{ delete: ['a', 7] }, 'delete[1]'],
    [{ keep: [{ docId: 'k', title: 3, text: '' }] }, 'keep[0].title'],
  ];
  for (const [req, name] of cases) {
    // The folder does not exist: a check made after opening it would say INDEX_NOT_FOUND instead.
    assert.throws(() => updateIndex(join(tmpdir(), 'plait-no-such-index-for-doors'), req as UpdateRequest), (e: unknown) => {
      assert.ok(isPlaitError(e, 'INVALID_ARGUMENT'), `${name}: ${String(e)}`);
      assert.equal(e.details?.['name'], name);
      return true;
    });
  }
});
