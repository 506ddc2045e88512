/**
 * The largest write the server accepts must fit its default deadline (trial of the merged main,
 * item 1): a POST /documents of 256 documents filling the 1 MiB body got 504 after 30 s. The rule
 * (SERVER_DEFAULTS.writeTimeoutMs, README "Living index" over HTTP): the default deadline covers a full
 * body of text — its passages, split as a build splits, at the encoding rate measured on the slow
 * machine (bench/write-deadline.ts: 21.7 ms a passage, one encoder thread, 2 cores at load 5–6).
 * The passages are counted here with the bundled model's tokenizer on scifact text (no encoding,
 * so the test is fast and deterministic); with the old 30 s default it fails (3,113 × 21.7 ms = 68 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BUILD_DEFAULTS, BUILD_MEMORY_DEFAULTS, CLUSTER_WRITE_DEFAULTS, SERVER_DEFAULTS } from '../src/config/defaults.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { splitLongText } from '../src/indexer/split-passages.js';
import { dataPath, needsData } from './helpers/requirements.js';

/** ms a passage, bundled model, one encoder thread, 2-core machine at load 5–6 (bench/RESULTS.md, "The largest write against the default deadline"). */
const MEASURED_MS_PER_PASSAGE = 21.7;
/** The bundled model's window (USE_LITE_DEFAULTS.maxTokens), as a build of it splits. */
const WINDOW = 128;

test('a full write body (256 documents, 1 MiB of text) encodes within the default deadline at the measured rate', { skip: needsData('scifact') }, async () => {
  const words = readFileSync(dataPath('scifact/corpus.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { text: string }).text).join(' ');
  const n = CLUSTER_WRITE_DEFAULTS.maxDocuments;
  // Each document's share of the body, less its JSON framing ({"doc_id":"d0","text":""}, ~40 bytes).
  const per = Math.floor((SERVER_DEFAULTS.maxBodyBytes - 200 - n * 40) / n);
  const texts = Array.from({ length: n }, (_, i) => words.slice(i * per, (i + 1) * per));
  const body = JSON.stringify({ documents: texts.map((text, i) => ({ doc_id: `d${i}`, text })) });
  assert.ok(Buffer.byteLength(body) <= SERVER_DEFAULTS.maxBodyBytes && Buffer.byteLength(body) > 0.99 * SERVER_DEFAULTS.maxBodyBytes, `body ${Buffer.byteLength(body)} B`);
  const encoder = await createEncoder({ family: 'use-lite' }, { threads: 0 });
  try {
    const stride = Math.round(WINDOW * BUILD_DEFAULTS.splitStrideFraction);
    const passages = texts.reduce((sum, t) => sum + splitLongText(t, (x) => encoder.tokenize(x), WINDOW, stride, BUILD_MEMORY_DEFAULTS.splitBlockChars).length, 0);
    assert.ok(passages > 3000 && passages < 3300, `${passages} passages (3,113 when measured)`);
    const expectedMs = passages * MEASURED_MS_PER_PASSAGE;
    assert.ok(expectedMs <= SERVER_DEFAULTS.writeTimeoutMs, `${passages} passages × ${MEASURED_MS_PER_PASSAGE} ms = ${Math.round(expectedMs)} ms, over the default deadline of ${SERVER_DEFAULTS.writeTimeoutMs} ms`);
    assert.ok(SERVER_DEFAULTS.writeTimeoutMs <= SERVER_DEFAULTS.maxTimeoutMs);
  } finally {
    await encoder.close();
  }
});
