/**
 * The bundled USE-lite on onnxruntime (use-lite/use-lite-graph.ts) against TF.js-wasm, in the same
 * run: scifact passages encoded as documents on one thread (in-process backend, one onnxruntime
 * intra-op thread), tokens per second and per CPU-second; then scifact queries encoded one at a
 * time, median and p95 latency. Run: `node dist/bench/use-lite-onnx.js [passages=64] [queries=50]`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readVocabulary, resolveModelDir } from '../src/encoder/use-lite/model-files.js';
import { SentencePieceTokenizer, UseLiteBackend, useLiteInfo, type UseLiteEngine } from '../src/encoder/use-lite/index.js';

const DATA = fileURLToPath(new URL('../../../shared/data/scifact/', import.meta.url));

function jsonl(file: string, limit: number, field: (d: Record<string, string>) => string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .slice(0, limit)
    .map((l) => field(JSON.parse(l) as Record<string, string>));
}

export async function run(passageCount = 64, queryCount = 50): Promise<void> {
  const passages = jsonl(`${DATA}corpus.jsonl`, passageCount, (d) => `${d['title'] ?? ''} ${d['text'] ?? ''}`.trim());
  const queries = jsonl(`${DATA}queries.jsonl`, queryCount, (d) => d['text']!);
  const tokenizer = new SentencePieceTokenizer(await readVocabulary(resolveModelDir()));
  const info = useLiteInfo(tokenizer.vocabSize);
  const rows: Record<string, number> = {};
  for (const engine of ['tfjs', 'onnx', 'tfjs', 'onnx'] as UseLiteEngine[]) {
    const backend = await UseLiteBackend.load(resolveModelDir(), info, tokenizer, { engine, intraOpNumThreads: 1 });
    try {
      await backend.encode(passages.slice(0, 4), 'document');
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = await backend.encode(passages, 'document');
      const seconds = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const tokens = out.reduce((s, e) => s + e.length, 0);
      const latencies: number[] = [];
      for (const q of queries) {
        const s = performance.now();
        await backend.encode([q], 'query');
        latencies.push(performance.now() - s);
      }
      latencies.sort((a, b) => a - b);
      const perCpu = tokens / ((c.user + c.system) / 1e6);
      rows[engine] = perCpu;
      console.log(
        `${engine}: ${tokens} tokens in ${seconds.toFixed(2)} s = ${(tokens / seconds).toFixed(0)} tokens/s, ${perCpu.toFixed(0)} per CPU-second; ` +
          `one query (${queries.length} scifact queries) p50 ${latencies[Math.floor(latencies.length / 2)]!.toFixed(1)} ms, p95 ${latencies[Math.floor(latencies.length * 0.95)]!.toFixed(1)} ms`,
      );
    } finally {
      await backend.dispose();
    }
  }
  console.log(`onnx / tfjs, tokens per CPU-second (last pair): ${(rows['onnx']! / rows['tfjs']!).toFixed(2)}×`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(process.argv[2] === undefined ? undefined : Number(process.argv[2]), process.argv[3] === undefined ? undefined : Number(process.argv[3]));
}
