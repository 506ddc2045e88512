/**
 * Writes that stop when their request does: a write that passes its deadline, whose client
 * disconnects, or that a drain cuts stops encoding within a batch, commits nothing, and leaves the
 * encoder to the next write at once; the library's `add` and `addCorpus` take the same `signal`
 * (`plait add` on Ctrl-C exits at once, its transaction rolled back: write-commands-trial.test.ts).
 *
 * How "the encoder stopped" is checked without timing: the encoder counts the texts it has encoded
 * (Encoder.encodedTexts), and the count is read once the cancelled work has ended — for a request,
 * when its admission slot is free (the server holds it until the work really stops, after the 504
 * went out); for a library call, when its promise rejected (the encoder rejects once every lane has
 * stopped). Before cancellation reached the encoder, the work ended only after every batch of the
 * ~2,600 passages had run (the count grew by all of them); now it grows by at most the batch
 * running at the abort, and one that started before the server noticed a disconnect.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addCorpus, readManifest, commitIdOf, isPlaitError, PlaitError, rerank, type Encoder } from '../src/index.js';
import { CLUSTER_WRITE_DEFAULTS, ENCODER_DEFAULTS, SERVER_DEFAULTS } from '../src/config/defaults.js';
import { resolveServerOptions } from '../src/server/options.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
let server: RunningServer;
let base: string;
let encoder: Encoder;

before(async () => {
  sample = await buildSample('plait-write-cancel-');
  server = await serve(sample);
  base = `${server.url}/v1/indexes/sample`;
  encoder = await sample.index.encoder();
});
after(async () => {
  await server?.close();
  await sample?.dispose();
});

const WORDS = 'glaciers carve valleys while rivers braid across outwash plains and moraines hold the lakes they leave behind'.split(' ');

/** As many documents as one write takes, each ~500 words: split into several passages each (~2,600 in all). */
function bigWrite(prefix: string): { doc_id: string; text: string }[] {
  return Array.from({ length: CLUSTER_WRITE_DEFAULTS.maxDocuments }, (_, i) => ({ doc_id: `${prefix}-${i}`, text: Array.from({ length: 500 }, (_, j) => WORDS[(i + j) % WORDS.length]).join(' ') }));
}

const encoded = (): number => encoder.encodedTexts!.document;

/** What must not change when a write is cancelled: the committed generation, the counts, a search's answer. */
async function snapshot(): Promise<{ commit: string; documents: number; hits: unknown }> {
  const m = readManifest(sample.path);
  const r = await postJson(`${base}/search`, { query: 'glaciers carve valleys', top_k: 5, exhaustive: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { commit: commitIdOf(m), documents: m.counts.documents, hits: r.body.results[0].hits.map((h: { doc_id: string; score: number }) => [h.doc_id, h.score]) };
}

/** Resolves once the encoder's count (documents unless `count` says) has grown past `from` (the work's encoding has started); fails after 30 s. */
async function encodingStarted(from: number, count: () => number = encoded): Promise<void> {
  const until = Date.now() + 30_000;
  while (count() <= from) {
    assert.ok(Date.now() < until, 'the work never started encoding');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Texts the encoder may still finish after the test saw an abort: the batch running then (the
 * sample's encoder has one worker) and one more that may have started before the server noticed a
 * disconnect. Without cancellation the rest of the write (hundreds of texts) ran.
 */
const AFTER_ABORT = 2 * ENCODER_DEFAULTS.batchSize;

/** Resolves once `served`'s requests have all ended (no admission slot held); fails after 60 s. */
async function workEnded(served: RunningServer = server): Promise<void> {
  const until = Date.now() + 60_000;
  while (served.engine.admission.inFlight > 0) {
    assert.ok(Date.now() < until, 'the cancelled work never ended');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Once the cancelled request's work has ended, the count shows it stopped within a batch of the
 * abort (`atAbort`: the count when the test saw it); then the next write commits at once.
 */
async function stoppedThenNextWrite(atAbort: number, doc: string, served: RunningServer = server): Promise<void> {
  await workEnded(served);
  const grew = encoded() - atAbort;
  assert.ok(grew <= AFTER_ABORT, `the cancelled work kept encoding: ${grew} texts were encoded after its abort`);
  const r = await postJson(`${base}/documents`, { documents: [{ doc_id: doc, text: 'a short note about kites' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.added, 1);
  const del = await postJson(`${base}/documents/delete`, { doc_ids: [doc] });
  assert.equal(del.body.deleted, 1);
}

test('the big write really is many batches (the precondition of the tests below)', () => {
  const tokens = bigWrite('p').reduce((s, d) => s + encoder.tokenize(d.text).ids.length, 0);
  assert.ok(tokens / sample.index.manifest.model.documentWindow > 4 * CLUSTER_WRITE_DEFAULTS.maxDocuments, `${tokens} tokens`);
});

test('a write past its deadline answers 504, stops encoding, commits nothing; the next write runs at once', async () => {
  const was = await snapshot();
  const before = encoded();
  const r = await postJson(`${base}/documents`, { documents: bigWrite('late'), timeout_ms: 300 });
  assert.equal(r.status, 504, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'TIMEOUT');
  // The answer says the write is not in, so a client knows to send it again (it had said only that
  // the deadline passed); its template's words are not doubled.
  assert.match(r.body.error.message, /^Timed out: the request passed its deadline of 300 ms; nothing of this write \(256 items\) was committed: send it again$/);
  assert.equal(r.body.error.details.committed, false);
  assert.ok(encoded() - before < CLUSTER_WRITE_DEFAULTS.maxDocuments, 'the deadline came early in the encoding');
  await stoppedThenNextWrite(encoded(), 'after-timeout');
  const now = await snapshot();
  assert.equal(now.documents, was.documents);
  assert.deepEqual(now.hits, was.hits);
  const gone = await postJson(`${base}/documents/delete`, { doc_ids: ['late-0', 'late-255'] });
  assert.deepEqual([gone.body.committed, gone.body.missing], [false, ['late-0', 'late-255']]);
});

test('a client that disconnects mid-write stops its encoding; nothing is committed', async () => {
  const was = await snapshot();
  const before = encoded();
  const body = JSON.stringify({ documents: bigWrite('gone'), timeout_ms: 60_000 });
  const req = request(`${base}/documents`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  req.on('error', () => {}); // the hang-up this test makes
  const closed = new Promise((r) => req.once('close', r));
  req.end(body);
  await encodingStarted(before);
  req.destroy();
  const atAbort = encoded();
  await closed;
  await stoppedThenNextWrite(atAbort, 'after-disconnect');
  const now = await snapshot();
  assert.equal(now.documents, was.documents);
  assert.deepEqual(now.hits, was.hits);
  const gone = await postJson(`${base}/documents/delete`, { doc_ids: ['gone-0'] });
  assert.deepEqual(gone.body.missing, ['gone-0']);
  // /metrics counts the hang-up (it sends no answer, so plait_http_requests_total cannot).
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^plait_requests_client_closed_total\{route="\/v1\/indexes\/:name\/documents"\} 1$/m);
});

test('a drain that runs out of time cuts a write: its encoding stops and nothing is committed', async () => {
  const drained = await serve(sample, { drainTimeoutMs: 100 });
  const was = readManifest(sample.path);
  const before = encoded();
  const answer = postJson(`${drained.url}/v1/indexes/sample/documents`, { documents: bigWrite('drain'), timeout_ms: 60_000 }).catch((e: unknown) => e);
  await encodingStarted(before);
  const closing = drained.close();
  await new Promise((r) => setTimeout(r, 100 + 20));
  const atAbort = encoded(); // the drain timed out (100 ms) and aborted the write
  assert.equal(await closing, false, 'the write was in flight when the drain timed out');
  const r = (await answer) as { status?: number; body?: { error: { code: string } } };
  // Answered 503 INDEX_CLOSED when the answer made it out in the grace period; else the connection was cut.
  if (r.status !== undefined) assert.equal(r.body!.error.code, 'INDEX_CLOSED');
  await stoppedThenNextWrite(atAbort, 'after-drain', drained);
  assert.equal(readManifest(sample.path).counts.documents, was.counts.documents);
});

test('writes default to their own deadline (writeTimeoutMs), searches to timeoutMs: a write naming none is cut by the first, a search is not', async () => {
  assert.throws(() => resolveServerOptions({ writeTimeoutMs: 400_000 }, {}), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /writeTimeoutMs/.test((e as Error).message));
  assert.equal(resolveServerOptions({}, {}).writeTimeoutMs, SERVER_DEFAULTS.writeTimeoutMs);
  // A server whose longest deadline is below the default write deadline still starts: its writes get that longest one.
  assert.equal(resolveServerOptions({ maxTimeoutMs: 60_000 }, {}).writeTimeoutMs, 60_000);
  assert.ok(SERVER_DEFAULTS.writeTimeoutMs > SERVER_DEFAULTS.timeoutMs);
  const short = await serve(sample, { writeTimeoutMs: 300 });
  try {
    const was = readManifest(sample.path);
    const before = encoded();
    const r = await postJson(`${short.url}/v1/indexes/sample/documents`, { documents: bigWrite('wdl') });
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'TIMEOUT');
    assert.match(r.body.error.message, /300 ms/);
    assert.ok(encoded() - before < CLUSTER_WRITE_DEFAULTS.maxDocuments, 'the write deadline came early in the encoding');
    await workEnded(short);
    assert.equal(readManifest(sample.path).counts.documents, was.counts.documents);
    // A search naming no deadline runs under timeoutMs (30 s), not the 300 ms write deadline.
    const s = await postJson(`${short.url}/v1/indexes/sample/search`, { query: 'glaciers carve valleys', top_k: 5, exhaustive: true });
    assert.equal(s.status, 200, JSON.stringify(s.body));
  } finally {
    await short.close();
  }
});

test('a search batch cancelled while its queries are encoded stops encoding them: the deadline\'s signal reaches the encoder (it had encoded every query first)', async () => {
  const queried = (): number => encoder.encodedTexts!.query;
  const texts = Array.from({ length: 20 * ENCODER_DEFAULTS.batchSize }, (_, i) => `${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]} question ${i}`);
  const before = queried();
  const controller = new AbortController();
  const searching = sample.index.searchBatch(texts, { signal: controller.signal, topK: 3 });
  await encodingStarted(before, queried);
  controller.abort();
  const atAbort = queried();
  await assert.rejects(searching, (e: unknown) => isPlaitError(e, 'ABORTED'));
  // The search rejects once the encoder's lanes have stopped: the count is final.
  assert.ok(queried() - atAbort <= AFTER_ABORT, `the cancelled search kept encoding: ${queried() - atAbort} queries after its abort`);
  assert.ok(queried() - before < texts.length, 'every query was encoded');
  // The index still searches.
  assert.equal((await sample.index.search('glaciers carve valleys', { topK: 2 })).hits.length, 2);
});

test('the library: add with an aborted signal rejects ABORTED (or the reason given), stops encoding and writes nothing', async () => {
  const m = readManifest(sample.path);
  const docs = bigWrite('lib').map((d) => ({ docId: d.doc_id, title: '', text: d.text }));
  // Already aborted: nothing is encoded.
  const before = encoded();
  await assert.rejects(sample.index.add(docs.slice(0, 2), { signal: AbortSignal.abort() }), (e: unknown) => isPlaitError(e, 'ABORTED'));
  assert.equal(encoded(), before);
  // AbortSignal.timeout's reason (a TimeoutError) is TIMEOUT.
  await assert.rejects(sample.index.add(docs.slice(0, 2), { signal: AbortSignal.abort(new DOMException('late', 'TimeoutError')) }), (e: unknown) => isPlaitError(e, 'TIMEOUT'));
  // A PlaitError reason is what is thrown.
  const reason = new PlaitError('TIMEOUT', { message: 'the caller gave up' });
  await assert.rejects(sample.index.add(docs.slice(0, 2), { signal: AbortSignal.abort(reason) }), (e: unknown) => e === reason);
  // Aborted mid-encoding.
  const controller = new AbortController();
  const adding = sample.index.add(docs, { signal: controller.signal });
  await encodingStarted(before);
  controller.abort();
  const atAbort = encoded();
  // The add rejects once the encoder's lanes have stopped: the count is final.
  await assert.rejects(adding, (e: unknown) => isPlaitError(e, 'ABORTED'));
  assert.ok(encoded() - atAbort <= AFTER_ABORT, `the cancelled add kept encoding: ${encoded() - atAbort} texts after its abort`);
  const now = readManifest(sample.path);
  assert.deepEqual([commitIdOf(now), now.counts.documents], [commitIdOf(m), m.counts.documents]);
  // The index takes the next add at once.
  const r = await sample.index.add([{ docId: 'lib-after', title: '', text: 'a short note about kites' }]);
  assert.equal(r.added, 1);
  await sample.index.delete(['lib-after']);
});

test("addCorpus (plait add's library half) takes the same signal: aborted mid-encoding, it stops and writes nothing", async () => {
  const m = readManifest(sample.path);
  const file = join(sample.dir, 'big.jsonl');
  writeFileSync(file, bigWrite('corpus').map((d) => JSON.stringify({ _id: d.doc_id, text: d.text })).join('\n') + '\n');
  const controller = new AbortController();
  const before = encoded();
  const adding = addCorpus(sample.path, file, { encoder, signal: controller.signal });
  await encodingStarted(before);
  controller.abort();
  const atAbort = encoded();
  await assert.rejects(adding, (e: unknown) => isPlaitError(e, 'ABORTED'));
  assert.ok(encoded() - atAbort <= AFTER_ABORT, `the cancelled addCorpus kept encoding: ${encoded() - atAbort} texts after its abort`);
  const now = readManifest(sample.path);
  assert.deepEqual([commitIdOf(now), now.counts.documents], [commitIdOf(m), m.counts.documents]);
});

test('a signal that is not an AbortSignal is INVALID_ARGUMENT (add, addCorpus, search, rerank, the encoder): a write no longer ignores it and commits', async () => {
  const m = readManifest(sample.path);
  const file = join(sample.dir, 'one.jsonl');
  writeFileSync(file, JSON.stringify({ _id: 'bad-signal-corpus', text: 'a note about kites' }) + '\n');
  const before = encoded();
  for (const bad of ['abort', {}, null, { aborted: 'yes', addEventListener: () => {} }] as unknown[]) {
    const refused = (e: unknown): boolean => isPlaitError(e, 'INVALID_ARGUMENT') && /^Invalid argument: Expected an AbortSignal for signal but received /.test(e.message);
    await assert.rejects(sample.index.add([{ docId: 'bad-signal', title: '', text: 'a note about kites' }], { signal: bad as AbortSignal }), refused, JSON.stringify(bad));
    await assert.rejects(addCorpus(sample.path, file, { encoder, signal: bad as AbortSignal }), refused, JSON.stringify(bad));
    await assert.rejects(sample.index.search('kites', { topK: 1, signal: bad as AbortSignal }), refused, JSON.stringify(bad));
    await assert.rejects(rerank('kites', ['a note about kites'], { signal: bad as AbortSignal }), refused, JSON.stringify(bad));
    await assert.rejects(encoder.encodeDocuments(['a note about kites'], { signal: bad as AbortSignal }), refused, JSON.stringify(bad));
  }
  // Nothing was encoded or written.
  assert.equal(encoded(), before);
  const now = readManifest(sample.path);
  assert.deepEqual([commitIdOf(now), now.counts.documents], [commitIdOf(m), m.counts.documents]);
  // A signal of this realm, and none, still run.
  assert.equal((await sample.index.search('kites', { topK: 1, signal: new AbortController().signal })).hits.length, 1);
});

test('an encode request past its deadline (POST /v1/encode) stops encoding too', async () => {
  const before = encoded();
  const texts = bigWrite('enc').map((d) => d.text);
  const r = await postJson(`${server.url}/v1/encode`, { texts, kind: 'document', timeout_ms: 300 });
  assert.equal(r.status, 504, JSON.stringify(r.body).slice(0, 200));
  const atAbort = encoded();
  assert.ok(atAbort - before < texts.length, 'the deadline came before the end of the encoding');
  await workEnded();
  assert.ok(encoded() - atAbort <= AFTER_ABORT, `the cancelled encode kept encoding: ${encoded() - atAbort} texts after its 504`);
});

test('a write whose deadline passes after its commit began answers what it committed, never a 504', async () => {
  const g = readManifest(sample.path).generation ?? 0;
  const timeoutMs = 4_000;
  // The served index's refresh (after the commit) is held until the deadline has surely passed.
  const refresh = sample.index.refresh.bind(sample.index);
  let held = false;
  sample.index.refresh = async () => {
    if (!held) {
      held = true;
      await new Promise((r) => setTimeout(r, timeoutMs + 200));
    }
    return refresh();
  };
  try {
    const r = await postJson(`${base}/documents`, { documents: [{ doc_id: 'late-commit', text: 'committed while its deadline ran out' }], timeout_ms: timeoutMs });
    assert.ok(held, 'the commit was reached before the deadline');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.committed, r.body.added, r.body.generation_number], [true, 1, g + 1]);
  } finally {
    sample.index.refresh = refresh;
  }
  const del = await postJson(`${base}/documents/delete`, { doc_ids: ['late-commit'] });
  assert.equal(del.body.deleted, 1);
});

test("a write waiting behind another write's commit holds no admission slot (searches are not held out)", async () => {
  const refresh = sample.index.refresh.bind(sample.index);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let arrived!: () => void;
  const atGate = new Promise<void>((r) => (arrived = r));
  let first = true;
  // Write A's refresh (after its commit) is held: the index's queue of writes waits behind it.
  sample.index.refresh = async () => {
    if (first) {
      first = false;
      arrived();
      await gate;
    }
    return refresh();
  };
  try {
    const a = postJson(`${base}/documents`, { documents: [{ doc_id: 'queued-a', text: 'the first of two queued writes' }] });
    await atGate;
    const before = encoded();
    const b = postJson(`${base}/documents`, { documents: [{ doc_id: 'queued-b', text: 'the second of two queued writes' }] });
    // B encodes in a slot, then waits behind A with its slot given back: none is held.
    const until = Date.now() + 30_000;
    while (encoded() === before || server.engine.admission.inFlight > 0) {
      assert.ok(Date.now() < until, `${server.engine.admission.inFlight} admission slots still held by writes waiting for a commit`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const searched = await postJson(`${base}/search`, { query: 'queued writes', top_k: 1 });
    assert.equal(searched.status, 200);
    open();
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual([ra.status, rb.status, rb.body.generation_number - ra.body.generation_number], [200, 200, 1]);
  } finally {
    open();
    sample.index.refresh = refresh;
  }
  const del = await postJson(`${base}/documents/delete`, { doc_ids: ['queued-a', 'queued-b'] });
  assert.equal(del.body.deleted, 2);
});
