/**
 * An error's advice fits its reader. Library messages that named a CLI flag reached readers who
 * have none: the Vercel AI SDK's `plait.reranking('<unknown>')` was told "use --model <dir>", an
 * HTTP write that waited out another writer's lock "--lock-wait-s sets how long", an HTTP pipeline
 * with a cross stage on a server without cross-encoders "start it with --cross-encoder", one with an
 * ltr stage on a server without a ranking model got the library's "ltrModel option". Each door
 * now says it in its own terms; the CLI keeps its flag as a hint line. Bundled model, sample corpus.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rerank as aiRerank } from 'ai';
import { plait } from '../src/integrations/ai-sdk.js';
import { PlaitRerank } from '../src/integrations/langchain.js';
import { PlaitError, isPlaitError, withLockWait } from '../src/index.js';
import { reportError } from '../src/cli/report-error.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import type { RunningServer } from '../src/server/index.js';

let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-advice-by-door-');
  server = await serve(sample);
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

test("the AI SDK's plait.reranking('<unknown>') is told the model ids plait.reranking takes, not the CLI's --model", async () => {
  const m = plait.reranking('no-such-model-here', { rerankerOptions: { encoderOptions: { threads: 0 } } });
  await assert.rejects(aiRerank({ model: m, query: 'bread', documents: ['a', 'b'] }), (e: unknown) => {
    assert.ok(isPlaitError(e, 'MODEL_NOT_FOUND'), String(e));
    assert.match(e.message, /^Model not found: plait\.reranking\(modelId\) was given "no-such-model-here": "no-such-model-here" is neither a local folder nor a hub repo id \(org\/name\)/);
    assert.match(e.message, /It takes "bundled" \(the default: the bundled offline model\), a local ColBERT ONNX folder, or a hub repo id \(org\/name\)$/);
    assert.doesNotMatch(e.message, /--model/);
    return true;
  });
  await m.close?.();
  // LangChain's compressor names its own field.
  const lc = new PlaitRerank({ model: 'no-such-model-here' });
  await assert.rejects(lc.compressDocuments([{ pageContent: 'a', metadata: {} }], 'bread'), (e: unknown) => isPlaitError(e, 'MODEL_NOT_FOUND') && /^Model not found: new PlaitRerank\(\{ model \}\) was given/.test(e.message));
});

test('a lock waited out: the library and HTTP message names no flag; the CLI adds --lock-wait-s as its hint', async () => {
  const held = (): never => {
    throw new PlaitError('INDEX_LOCKED', { message: '/x is being written by pid 1 on h since t (retry when it has finished)', pid: 1 });
  };
  const err = await withLockWait(held, { lockWaitMs: 30 }).then(
    () => assert.fail('no INDEX_LOCKED'),
    (e: unknown) => e as PlaitError,
  );
  assert.ok(isPlaitError(err, 'INDEX_LOCKED'));
  assert.match(err.message, /\(waited \d+\.\d s for it\)$/);
  assert.doesNotMatch(err.message, /--lock-wait-s/);
  // The CLI's report: the message, then its flag as a hint line.
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    reportError(err, false);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(written[1], 'plait: --lock-wait-s <s> sets how long plait waits for the lock\n', written.join(''));
});

test('HTTP: a pipeline stage the server has no model for is refused in terms of the request and the server (not the library option or a serve flag to run)', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const cross = await postJson(url, { query: 'bread', pipeline: 'bm25:20 > cross:5' });
  assert.equal(cross.status, 400, JSON.stringify(cross.body));
  assert.match(cross.body.error.message, /this server serves no cross-encoder \(its operator starts plait serve with --cross-encoder <model>\); leave the cross stage out/);
  const ltr = await postJson(url, { query: 'bread', pipeline: 'bm25:20 > ltr:5' });
  assert.equal(ltr.status, 400, JSON.stringify(ltr.body));
  assert.match(ltr.body.error.message, /the pipeline has an ltr stage, but this server serves no ranking model \(its operator starts plait serve with --ltr-model <file>\); leave the ltr stage out/);
  assert.doesNotMatch(ltr.body.error.message, /ltrModel option/);
  // A body over the limit is the client's to shrink; the limit is the operator's.
  const big = await postJson(url, { query: 'x'.repeat(2 << 20) });
  assert.equal(big.status, 413);
  assert.match(big.body.error.message, /\(the limit is the server operator's: plait serve --max-body-bytes\)$/);
});
