/**
 * What a user converting lightonai/GTE-ModernColBERT-v1 should expect on a CPU: a random checkpoint
 * of its exact shape (ModernBERT-base: 22 layers, hidden 768, 12 heads, GeGLU 1152, vocabulary
 * 50,368, local window 128 with a global layer every 3, rotary bases 160k / 10k; PyLate's 1_Dense
 * 768 → 128; float32 model.safetensors) is written to a temporary folder, converted to the float32
 * and the int8 graph (each in a child process, for its own peak RSS), and both encode the same
 * scifact passages at document_length 300 (GTE-ModernColBERT's setting) on one worker × one
 * thread, next to the bundled model on the same passages; then one query (32 tokens) each.
 * Random weights: no real checkpoint can be downloaded here; the cost per token does not depend on
 * their values. The tokenizer is the tests' tiny byte-level BPE, so scientific words fall apart
 * into bytes and every passage fills its 300-token window: the cost per token is ModernBERT-base's.
 * Tokens per CPU-second (process CPU time, workers included) carries over a loaded machine.
 * Run: `node dist/bench/convert-modernbert.js [passages=16]`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { ensureConvertedGraph } from '../src/encoder/convert/index.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import type { ModelSpec } from '../src/encoder/types.js';
import { GTE_MODERNCOLBERT_SHAPE, makeModernBertCheckpoint } from '../test/helpers/tiny-modernbert.js';

const CORPUS = fileURLToPath(new URL('../../../shared/data/scifact/corpus.jsonl', import.meta.url));

async function passages(limit: number): Promise<string[]> {
  const out: string[] = [];
  for (const line of (await readFile(CORPUS, 'utf8')).split('\n')) {
    if (out.length >= limit) break;
    if (line.trim().length === 0) continue;
    const d = JSON.parse(line) as { title?: string; text?: string };
    out.push(`${d.title ?? ''} ${d.text ?? ''}`.trim());
  }
  return out;
}

/** Child-process mode: convert and print {seconds, cpuSeconds, maxRssMiB, graphMiB}. */
async function convertOnce(dir: string, cacheDir: string, quantize: string | undefined): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const g = await ensureConvertedGraph(dir, { cacheDir, ...(quantize === 'int8' ? { quantize: 'int8' as const } : {}) });
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMiB: process.resourceUsage().maxRSS / 1024, graphMiB: g.manifest.graph.bytes / 2 ** 20 }));
}

function convertInChild(dir: string, cacheDir: string, quantize?: 'int8'): Promise<{ seconds: number; cpuSeconds: number; maxRssMiB: number; graphMiB: number }> {
  return new Promise((resolve, reject) => {
    const args = [fileURLToPath(import.meta.url), 'convert', dir, cacheDir, ...(quantize === undefined ? [] : [quantize])];
    execFile(process.execPath, args, { encoding: 'utf8' }, (err, stdout, stderr) => (err === null ? resolve(JSON.parse(stdout.trim().split('\n').pop()!)) : reject(new Error(stderr))));
  });
}

async function throughput(spec: ModelSpec, texts: string[]): Promise<{ tokens: number; seconds: number; perCpuSecond: number }> {
  const encoder = await createEncoder(spec, { threads: 1, intraOpNumThreads: 1, batchSize: 8 });
  try {
    await encoder.encodeDocuments(texts.slice(0, 2));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await encoder.encodeDocuments(texts);
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const tokens = out.reduce((s, e) => s + e.length, 0);
    return { tokens, seconds, perCpuSecond: tokens / ((c.user + c.system) / 1e6) };
  } finally {
    await encoder.close();
  }
}

async function queryMs(spec: ModelSpec): Promise<{ wall: number; cpu: number }> {
  const encoder = await createEncoder(spec, { threads: 0, intraOpNumThreads: 1 });
  try {
    await encoder.encodeQueries(['warm up']);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 9; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await encoder.encodeQueries(['what causes heat flow in a wing']);
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    const median = (a: number[]): number => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    return { wall: median(wall), cpu: median(cpu) };
  } finally {
    await encoder.close();
  }
}

export async function run(count = 16): Promise<void> {
  const texts = await passages(count);
  const root = await mkdtemp(path.join(os.tmpdir(), 'plait-bench-modernbert-'));
  try {
    const dir = path.join(root, 'gte-moderncolbert-shape');
    let t0 = performance.now();
    await makeModernBertCheckpoint(dir, { shape: GTE_MODERNCOLBERT_SHAPE, queryMaxlen: 32, docMaxlen: 300, seed: 1 });
    console.log(`generated a random GTE-ModernColBERT-v1-shape checkpoint in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const cacheDir = path.join(root, 'cache');
    for (const q of [undefined, 'int8'] as const) {
      const c = await convertInChild(dir, cacheDir, q);
      console.log(`conversion ${q ?? 'float32'}: ${c.seconds.toFixed(1)} s wall, ${c.cpuSeconds.toFixed(1)} s CPU, peak RSS ${c.maxRssMiB.toFixed(0)} MiB, model.onnx ${c.graphMiB.toFixed(0)} MiB`);
    }
    t0 = performance.now();
    await ensureConvertedGraph(dir, { cacheDir });
    console.log(`reuse check ${(performance.now() - t0).toFixed(0)} ms`);
    const specs: [string, ModelSpec][] = [
      ['bundled USE-lite', { family: 'use-lite' }],
      ['GTE-ModernColBERT shape, float32', await resolveModelSpec(dir, { cacheDir })],
      ['GTE-ModernColBERT shape, int8', await resolveModelSpec(dir, { cacheDir, quantize: 'int8' })],
    ];
    const base = await throughput(specs[0]![1], texts);
    for (const [label, spec] of specs) {
      const r = label === specs[0]![0] ? base : await throughput(spec, texts);
      const q = await queryMs(spec);
      console.log(
        `${label}: ${r.tokens} tokens in ${r.seconds.toFixed(1)} s, ${r.perCpuSecond.toFixed(0)} tokens per CPU-second (${(r.perCpuSecond / base.perCpuSecond).toFixed(2)}× bundled); ` +
          `one query median ${q.wall.toFixed(1)} ms wall, ${q.cpu.toFixed(1)} ms CPU`,
      );
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === 'convert') await convertOnce(process.argv[3]!, process.argv[4]!, process.argv[5]);
  else await run(process.argv[2] === undefined ? undefined : Number(process.argv[2]));
}
