/**
 * The largest write the server accepts against its default deadline (trial of the merged main,
 * item 1): documents of scifact text filling one request body (SERVER_DEFAULTS.maxBodyBytes as
 * JSON, CLUSTER_WRITE_DEFAULTS.maxDocuments documents), split as a build splits (window 128,
 * stride 96) and encoded with the bundled model at 1 and 2 encoder threads. Prints the passages,
 * the seconds and ms/passage. Run (niced on a shared machine):
 * `nice -n 10 node dist/bench/write-deadline.js [documents]`.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { BUILD_DEFAULTS, BUILD_MEMORY_DEFAULTS, CLUSTER_WRITE_DEFAULTS, SERVER_DEFAULTS } from '../src/config/defaults.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { splitLongText } from '../src/indexer/split-passages.js';

const CORPUS = '../shared/data/scifact/corpus.jsonl';
const WINDOW = 128;

/** `documents` texts whose JSON write body stays just under the server's body limit. */
async function fillBody(documents: number): Promise<string[]> {
  const words = (await readFile(CORPUS, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { text: string }).text).join(' ');
  const per = Math.floor((SERVER_DEFAULTS.maxBodyBytes - 200 - documents * 40) / documents);
  const out: string[] = [];
  for (let i = 0, pos = 0; i < documents; i++, pos += per) out.push(words.slice(pos, pos + per));
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const documents = Number(process.argv[2] ?? CLUSTER_WRITE_DEFAULTS.maxDocuments);
  const texts = await fillBody(documents);
  const body = JSON.stringify({ documents: texts.map((text, i) => ({ doc_id: `d${i}`, text })) });
  for (const threads of [1, 2]) {
    const encoder = await createEncoder({ family: 'use-lite' }, { threads });
    try {
      const stride = Math.round(WINDOW * BUILD_DEFAULTS.splitStrideFraction);
      const passages = texts.flatMap((t) => splitLongText(t, (x) => encoder.tokenize(x), WINDOW, stride, BUILD_MEMORY_DEFAULTS.splitBlockChars).map((p) => p.text));
      await encoder.encodeDocuments(passages.slice(0, 4));
      const t0 = performance.now();
      await encoder.encodeDocuments(passages);
      const s = (performance.now() - t0) / 1000;
      console.log(`threads=${threads}: ${documents} documents, body ${body.length} B, ${passages.length} passages encoded in ${s.toFixed(1)} s = ${((s * 1000) / passages.length).toFixed(1)} ms/passage, ${(documents / s).toFixed(1)} docs/s`);
    } finally {
      await encoder.close();
    }
  }
}
