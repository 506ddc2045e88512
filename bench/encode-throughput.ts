/**
 * Encoding throughput of the bundled USE-lite model through `createEncoder`, at 1 and 2 worker
 * threads, on the first ~200 scifact passages (title + ' ' + text). Prints tokens/s for each and the
 * 2-thread / 1-thread ratio. Run: `node dist/bench/encode-throughput.js [passages] [batchSize]`.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { createEncoder } from '../src/encoder/create-encoder.js';

const CORPUS = '/work/shared/data/scifact/corpus.jsonl';
const DEFAULT_PASSAGES = 200;

export interface ThroughputRow {
  threads: number;
  passages: number;
  /** Rows returned (tokens after clipping at 128). */
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

export interface EncodeThroughputResult {
  skipped: string | null;
  rows: ThroughputRow[];
  /** tokens/s at 2 threads over tokens/s at 1 thread. */
  ratio2to1: number | null;
}

async function loadPassages(limit: number): Promise<string[] | null> {
  let raw: string;
  try {
    raw = await readFile(CORPUS, 'utf8');
  } catch {
    return null;
  }
  const out: string[] = [];
  for (const line of raw.split('\n')) {
    if (out.length >= limit) break;
    if (line.trim().length === 0) continue;
    const doc = JSON.parse(line) as { title?: string; text?: string };
    const text = `${doc.title ?? ''} ${doc.text ?? ''}`.trim();
    if (text.length > 0) out.push(text);
  }
  return out;
}

async function measure(threads: number, passages: string[], batchSize: number | undefined): Promise<ThroughputRow> {
  const encoder = await createEncoder({ family: 'use-lite' }, batchSize === undefined ? { threads } : { threads, batchSize });
  try {
    // Warm-up: start the workers and load the model in each before timing.
    await encoder.encodeDocuments(passages.slice(0, Math.max(threads * 2, 2)));
    const start = performance.now();
    const encoded = await encoder.encodeDocuments(passages);
    const seconds = (performance.now() - start) / 1000;
    const tokens = encoded.reduce((sum, e) => sum + e.length, 0);
    return { threads, passages: passages.length, tokens, seconds, tokensPerSecond: tokens / seconds };
  } finally {
    await encoder.close();
  }
}

/** `batchSize` defaults to the encoder's; smaller batches spread ~200 passages more evenly over 2 workers. */
export async function run(passageCount = DEFAULT_PASSAGES, batchSize?: number): Promise<EncodeThroughputResult> {
  const passages = await loadPassages(passageCount);
  if (passages === null || passages.length === 0) {
    return { skipped: `${CORPUS} not found: encode-throughput skipped`, rows: [], ratio2to1: null };
  }
  const rows: ThroughputRow[] = [];
  for (const threads of [1, 2]) rows.push(await measure(threads, passages, batchSize));
  return { skipped: null, rows, ratio2to1: rows[1]!.tokensPerSecond / rows[0]!.tokensPerSecond };
}

function report(result: EncodeThroughputResult): void {
  if (result.skipped !== null) {
    console.log(result.skipped);
    return;
  }
  for (const r of result.rows) {
    console.log(
      `use-lite threads=${r.threads}: ${r.passages} passages, ${r.tokens} tokens in ${r.seconds.toFixed(2)} s = ` +
        `${r.tokensPerSecond.toFixed(0)} tokens/s (${((r.seconds * 1000) / r.passages).toFixed(1)} ms/passage)`,
    );
  }
  console.log(`ratio 2-thread / 1-thread: ${result.ratio2to1!.toFixed(2)}x`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = process.argv[2] === undefined ? DEFAULT_PASSAGES : Number(process.argv[2]);
  const batchSize = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  report(await run(n, batchSize));
}
