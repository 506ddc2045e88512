/**
 * What a user converting colbert-ir/colbertv2.0 should expect on a CPU: conversion time (and peak
 * memory) of a checkpoint of colbertv2.0's exact shape — BERT-base, 12 layers, hidden 768, 12
 * heads, FFN 3072, vocabulary 30,522, 512 positions, projection 768 → 128, float32 safetensors
 * (438 MB), random weights generated here into a temporary folder (no real weights can be
 * downloaded on the bench machine) — then its encoding throughput on scifact passages at
 * doc_maxlen 180 (colbertv2.0's setting) on 1 and 2 threads, next to the bundled model measured on
 * the same passages in the same run (the ratio is the figure to read; absolute numbers move with
 * the machine's load).
 * The tokenizer is the tests' tiny WordPiece vocabulary, so scientific words split into many
 * pieces and most passages fill the 180-token window: the cost per token is BERT-base's, the
 * tokens per passage are not a real vocabulary's.
 * The machine is shared, so each row also gives tokens per CPU-second (process.cpuUsage, workers
 * included), which does not depend on how much of the machine others use.
 * Run: `node dist/bench/convert-encode.js [passages=48]`.
 */
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { ensureConvertedGraph } from '../src/encoder/convert/index.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import type { ModelSpec } from '../src/encoder/types.js';
import { makeBertCheckpoint, type BertShape } from '../test/helpers/tiny-bert.js';

const CORPUS = fileURLToPath(new URL('../../../shared/data/scifact/corpus.jsonl', import.meta.url));

/** colbert-ir/colbertv2.0's config.json and artifact.metadata. */
export const COLBERTV2_SHAPE: BertShape = {
  vocabSize: 30522,
  hidden: 768,
  layers: 12,
  heads: 12,
  intermediate: 3072,
  maxPositions: 512,
  typeVocab: 2,
  dim: 128,
  numLabels: 1,
  hiddenAct: 'gelu',
  layerNormEps: 1e-12,
};

interface Row {
  label: string;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  /** Tokens per second of CPU time used by the whole process (workers included): what an idle core gives, whatever the machine's load. */
  tokensPerCpuSecond: number;
}

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

async function throughput(label: string, spec: ModelSpec, texts: string[], threads: number, intraOpNumThreads: number): Promise<Row> {
  const encoder = await createEncoder(spec, { threads, intraOpNumThreads, batchSize: 8 });
  try {
    await encoder.encodeDocuments(texts.slice(0, Math.max(2, threads * 2)));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await encoder.encodeDocuments(texts);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const tokens = out.reduce((s, e) => s + e.length, 0);
    return { label, tokens, seconds, tokensPerSecond: tokens / seconds, tokensPerCpuSecond: tokens / cpuSeconds };
  } finally {
    await encoder.close();
  }
}

/** Median wall ms and median CPU ms of encoding one query. */
async function queryLatency(spec: ModelSpec): Promise<{ wallMs: number; cpuMs: number }> {
  const encoder = await createEncoder(spec, { threads: 0, intraOpNumThreads: 1 });
  try {
    const qs = ['what causes heat flow in a wing', 'protein gene expression in blood cancer', 'how is information indexed in a library'];
    await encoder.encodeQueries([qs[0]!]);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 15; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await encoder.encodeQueries([qs[i % qs.length]!]);
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    const median = (a: number[]): number => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    return { wallMs: median(wall), cpuMs: median(cpu) };
  } finally {
    await encoder.close();
  }
}

export async function run(passageCount = 48): Promise<void> {
  const texts = await passages(passageCount);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plait-bench-convert-'));
  try {
    let t0 = performance.now();
    await makeBertCheckpoint(path.join(dir, 'colbertv2-shape'), { layout: 'colbert', shape: COLBERTV2_SHAPE, docMaxlen: 180, queryMaxlen: 32, seed: 1 });
    console.log(`generated a random colbertv2.0-shape checkpoint in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const cacheDir = path.join(dir, 'cache');
    const rssBefore = process.resourceUsage().maxRSS;
    const cpu0 = process.cpuUsage();
    t0 = performance.now();
    const graph = await ensureConvertedGraph(path.join(dir, 'colbertv2-shape'), { cacheDir });
    const convertS = (performance.now() - t0) / 1000;
    const convertCpu = process.cpuUsage(cpu0);
    const rssAfter = process.resourceUsage().maxRSS;
    t0 = performance.now();
    const again = await ensureConvertedGraph(path.join(dir, 'colbertv2-shape'), { cacheDir });
    const reuseMs = performance.now() - t0;
    console.log(
      `conversion: ${convertS.toFixed(1)} s wall, ${((convertCpu.user + convertCpu.system) / 1e6).toFixed(1)} s CPU (source ${(graph.manifest.sources[1]!.bytes / 2 ** 20).toFixed(0)} MiB → model.onnx ${(graph.manifest.graph.bytes / 2 ** 20).toFixed(0)} MiB), ` +
        `peak RSS ${(rssBefore / 1024).toFixed(0)} → ${(rssAfter / 1024).toFixed(0)} MiB; reuse check ${reuseMs.toFixed(0)} ms (fromCache ${again.fromCache})`,
    );
    const colbert = await resolveModelSpec(path.join(dir, 'colbertv2-shape'), { cacheDir });
    const bundled: ModelSpec = { family: 'use-lite' };
    const rows: Row[] = [];
    rows.push(await throughput('bundled USE-lite, 1 worker', bundled, texts, 1, 1));
    rows.push(await throughput('colbertv2.0 shape, 1 worker × 1 thread', colbert, texts, 1, 1));
    rows.push(await throughput('colbertv2.0 shape, 2 workers × 1 thread', colbert, texts, 2, 1));
    rows.push(await throughput('colbertv2.0 shape, 1 worker × 2 intra-op threads', colbert, texts, 1, 2));
    const base = rows[0]!.tokensPerSecond;
    for (const r of rows) {
      console.log(
        `${r.label}: ${r.tokens} tokens in ${r.seconds.toFixed(1)} s = ${r.tokensPerSecond.toFixed(0)} tokens/s (${(r.tokensPerSecond / base).toFixed(3)}× bundled), ` +
          `${r.tokensPerCpuSecond.toFixed(0)} tokens per CPU-second`,
      );
    }
    const q = await queryLatency(colbert);
    console.log(`query encoding (32 tokens, 1 thread), median of 15: ${q.wallMs.toFixed(1)} ms wall, ${q.cpuMs.toFixed(1)} ms CPU`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(process.argv[2] === undefined ? undefined : Number(process.argv[2]));
}
