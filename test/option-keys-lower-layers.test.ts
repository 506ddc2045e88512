/**
 * The last public doors that took unknown option keys without a word: the encoder (createEncoder,
 * and each door that passes `encoderOptions` on), the hub (pullModel, cachedModel), model
 * resolution (resolveModelSpec, resolveModelGraph, resolveCrossEncoder), the converter
 * (ensureConvertedGraph), the format layer (loadIndexData, verifyIndex) and PlaitRetriever. The
 * check now lives in util/ so these lower stages can call it. Each case failed before: the typo was
 * ignored (a default used, or the work begun). The sweep of src/index.ts's other exported doors
 * with an options object (encode calls, the dynamic batcher, transactions, the calibration record,
 * the document store, breakers, eval helpers, synonyms, cluster helpers) is the last test.
 * Sample corpus, bundled model, in-process encoder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PlaitError, Reranker, addCorpus, buildIndex, cachedModel, createEncoder, ensureConvertedGraph, loadIndexData, openIndex, pullModel,
  resolveCrossEncoder, resolveModelGraph, resolveModelSpec, verifyIndex, type PlaitIndex,
  CircuitBreaker, DocStoreReader, DocStoreWriter, DynamicBatchingEncoder, IndexTransaction, LogApplier, ShardReplica, buildComparison,
  crossEncoderFiles, encodeClusterWrite, encodeDocuments, latencyStats, pairedRandomizationTest, parseSynonyms, readSynonyms, renderReportHtml,
  writeCalibration,
} from '../src/index.js';
import { CrossEncoder } from '../src/rerank/cross-encoder/cross-encoder.js';
import { PlaitRetriever } from '../src/integrations/langchain.js';
import { pickOptions } from '../src/util/option-keys.js';
import { SAMPLE } from './helpers/server-fixture.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';

let dir: string;
let indexPath: string;
let index: PlaitIndex;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-option-keys-lower-'));
  indexPath = join(dir, 'sample');
  await buildIndex(SAMPLE, { index: indexPath, encoderOptions: { threads: 0 } });
  index = await openIndex(indexPath, { workers: 0, encoderOptions: { threads: 0 } });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

function unknownKey(what: string, key: string, suggestion: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof PlaitError, String(e));
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.equal(e.details?.unknownOption, key);
    assert.equal(e.details?.suggestion, suggestion);
    assert.match(e.message, new RegExp(`unknown ${what} "${key}"`));
    return true;
  };
}

test('createEncoder refuses { thread: 0 } naming threads (it had started one worker per core)', async () => {
  await assert.rejects(createEncoder({ family: 'use-lite' }, { thread: 0 } as never), unknownKey('encoder option', 'thread', 'threads'));
  const encoder = await createEncoder({ family: 'use-lite' }, { threads: 0, batchSize: 4 });
  assert.equal((await encoder.encodeQueries(['bread'])).length, 1);
  await encoder.close();
});

test('buildIndex, openIndex, addCorpus and Reranker.create refuse an encoderOptions typo at the door, before any work', async () => {
  const target = join(dir, 'typo-build');
  await assert.rejects(buildIndex(SAMPLE, { index: target, encoderOptions: { thread: 0 } as never }), unknownKey('encoder option', 'thread', 'threads'));
  assert.equal(existsSync(target), false);
  // openIndex loads its query encoder at the first query: the typo is refused at open, not then.
  await assert.rejects(openIndex(indexPath, { workers: 0, encoderOptions: { batchsize: 2 } as never }), unknownKey('encoder option', 'batchsize', 'batchSize'));
  const generation = index.generation;
  await assert.rejects(addCorpus(indexPath, SAMPLE, { encoderOptions: { intraOpNumThread: 1 } as never }), unknownKey('encoder option', 'intraOpNumThread', 'intraOpNumThreads'));
  const reopened = await openIndex(indexPath, { workers: 0 });
  assert.equal(reopened.generation, generation);
  await reopened.close();
  await assert.rejects(Reranker.create({ encoderOptions: { Threads: 0 } as never }), unknownKey('encoder option', 'Threads', 'threads'));
});

test('pullModel, cachedModel, resolveModelSpec and resolveModelGraph refuse their typos before the network or the disk', async () => {
  // offline: true would answer OFFLINE; the typo is refused first.
  await assert.rejects(pullModel('org/model', { offline: true, revison: 'v2' } as never), unknownKey('pullModel option', 'revison', 'revision'));
  assert.throws(() => cachedModel('org/model', { cachedir: dir } as never), unknownKey('cachedModel option', 'cachedir', 'cacheDir'));
  await assert.rejects(resolveModelSpec(undefined, { quantise: 'int8' } as never), unknownKey('resolveModelSpec option', 'quantise', 'quantize'));
  await assert.rejects(resolveModelGraph('org/model', { ofline: true } as never), unknownKey('resolveModelGraph option', 'ofline', 'offline'));
  assert.deepEqual(await resolveModelSpec(undefined, {}), { family: 'use-lite' });
});

test('ensureConvertedGraph refuses { outdir } naming outDir (it had converted into the cache)', async () => {
  await assert.rejects(ensureConvertedGraph(dir, { outdir: dir } as never), unknownKey('ensureConvertedGraph option', 'outdir', 'outDir'));
});

test('resolveCrossEncoder refuses { maxlength }; CrossEncoder.create hands it only its own keys', async () => {
  const model = join(dir, 'tiny-cross');
  await makeTinyCrossEncoder(model);
  await assert.rejects(resolveCrossEncoder(model, { maxlength: 16 } as never), unknownKey('resolveCrossEncoder option', 'maxlength', 'maxLength'));
  // threads and batchSize are CrossEncoder.create's, not resolveCrossEncoder's: they must not reach it.
  const cross = await CrossEncoder.create(model, { threads: 0, batchSize: 2, maxLength: 16 });
  assert.equal(cross.files.maxLength, 16);
  await cross.close();
});

test('loadIndexData and verifyIndex refuse { verfy } naming verify (they had checked sizes only)', () => {
  assert.throws(() => loadIndexData(indexPath, undefined, { verfy: 'full' } as never), unknownKey('loadIndexData option', 'verfy', 'verify'));
  assert.throws(() => verifyIndex(indexPath, { verfy: 'full' } as never), unknownKey('verifyIndex option', 'verfy', 'verify'));
  assert.equal(verifyIndex(indexPath, { verify: 'full' }).verified, 'crc');
});

test('PlaitRetriever refuses its own typos and searchOptions\' at construction; LangChain\'s base fields pass', async () => {
  assert.throws(() => new PlaitRetriever({ index, searchoptions: { topK: 1 } } as never), unknownKey('PlaitRetriever field', 'searchoptions', 'searchOptions'));
  assert.throws(() => new PlaitRetriever({ index, searchOptions: { topk: 1 } as never }), unknownKey('PlaitRetriever searchOptions key', 'topk', 'topK'));
  // includeText and signal are the retriever's own on every call: not settable through searchOptions.
  assert.throws(() => new PlaitRetriever({ index, searchOptions: { includeText: false } as never }), (e: unknown) => e instanceof PlaitError && e.details?.unknownOption === 'includeText');
  const retriever = new PlaitRetriever({ index, searchOptions: { topK: 2 }, tags: ['t'], metadata: { m: 1 }, verbose: false, callbacks: [] });
  assert.deepEqual(retriever.tags, ['t']);
  assert.equal((await retriever.invoke('why does bread rise')).length, 2);
});

test('pickOptions keeps the keys of the table that are set, and nothing else', () => {
  const known = { a: true, b: true } as const;
  assert.deepEqual(pickOptions<{ a?: number; b?: number }>({ a: 1, b: undefined, c: 3 }, known), { a: 1 });
});

test('the other exported doors with an options object refuse a typo by name, before any work', async () => {
  const encoder = await createEncoder({ family: 'use-lite' }, { threads: 0 });
  try {
    await assert.rejects(encoder.encodeQueries(['bread'], { sigal: undefined } as never), unknownKey('encode option', 'sigal', 'signal'));
    await assert.rejects(encoder.encodeDocuments(['bread'], { Signal: undefined } as never), unknownKey('encode option', 'Signal', 'signal'));
    assert.throws(() => new DynamicBatchingEncoder(encoder, { maxBatchToken: 8 } as never), unknownKey('DynamicBatchingEncoder option', 'maxBatchToken', 'maxBatchTokens'));
    const batching = new DynamicBatchingEncoder(encoder, { maxBatchTokens: 64 });
    await assert.rejects(batching.encodeQueries(['bread'], { sigal: undefined } as never), unknownKey('encode option', 'sigal', 'signal'));
    assert.equal((await batching.encodeQueries(['bread'], {})).length, 1);
    await assert.rejects(encodeDocuments([{ docId: 'x', title: '', text: 'bread' }], encoder, index.manifest, { onEncode: () => {} } as never), unknownKey('encodeDocuments option', 'onEncode', 'onEncoded'));
    await assert.rejects(encodeClusterWrite({ documents: [] }, encoder, index.manifest, { sigNal: undefined } as never), unknownKey('encodeClusterWrite option', 'sigNal', 'signal'));
  } finally {
    await encoder.close();
  }
  // Format: the transaction refuses before it takes the lock, the calibration record before it writes.
  assert.throws(() => IndexTransaction.begin(indexPath, { allowMising: true } as never), unknownKey('IndexTransaction option', 'allowMising', 'allowMissing'));
  assert.throws(() => writeCalibration(indexPath, null, { mesured: 'x' } as never), unknownKey('writeCalibration option', 'mesured', 'measured'));
  IndexTransaction.begin(indexPath).close(); // the lock was not left taken
  // Document store: nothing opened or created.
  const store = join(dir, 'typo-store.sqlite');
  assert.throws(() => new DocStoreWriter(store, { stemer: 'porter' } as never), unknownKey('DocStoreWriter option', 'stemer', 'stemmer'));
  assert.equal(existsSync(store), false);
  assert.throws(() => DocStoreReader.open(join(indexPath, 'docstore.sqlite'), { comit: null } as never), unknownKey('DocStoreReader option', 'comit', 'commit'));
  // Pipeline, eval, rewrite, cross-encoder files.
  assert.throws(() => new CircuitBreaker({ windowsize: 4 } as never), unknownKey('CircuitBreaker option', 'windowsize', 'windowSize'));
  assert.throws(() => latencyStats([1, 2], { wallms: 3 } as never), unknownKey('latencyStats option', 'wallms', 'wallMs'));
  assert.throws(() => pairedRandomizationTest([1, 2], [2, 1], { permutation: 10 } as never), unknownKey('pairedRandomizationTest option', 'permutation', 'permutations'));
  assert.throws(() => buildComparison([], { baselin: 'bm25' } as never), unknownKey('buildComparison option', 'baselin', 'baseline'));
  assert.throws(() => renderReportHtml({} as never, { subTitle: 'x' } as never), unknownKey('HTML report option', 'subTitle', 'subtitle'));
  assert.throws(() => parseSynonyms('a, b', { expnd: false } as never), unknownKey('synonyms option', 'expnd', 'expand'));
  const synonyms = join(dir, 'synonyms.txt');
  writeFileSync(synonyms, 'a, b\n');
  assert.throws(() => readSynonyms(synonyms, { expnd: false } as never), unknownKey('synonyms option', 'expnd', 'expand'));
  assert.throws(() => crossEncoderFiles(dir, { varient: 'fp32' } as never), unknownKey('crossEncoderFiles option', 'varient', 'variant'));
  // Cluster: refused before NATS is reached (the URL is closed) or the folder is read.
  await assert.rejects(ShardReplica.start(index, { server: 'nats://127.0.0.1:1' } as never), unknownKey('ShardReplica option', 'server', 'servers'));
  await assert.rejects(LogApplier.start(indexPath, { cluster: 'c', shard: 0, batchWrite: 2 } as never), unknownKey('LogApplier option', 'batchWrite', 'batchWrites'));
});
