/**
 * `ensureConvertedGraph(dir)`: the ONNX graph of the checkpoint in `dir`, built once and reused.
 * The graph is written as `model.onnx` into an output folder (the hub pull's own cache folder, or
 * `<cache>/converted/<name>-<hash of the folder's path>/` for a local folder, which plait never
 * writes into), beside `plait-convert.json`: the manifest mapping the source files (relative path,
 * bytes, mtime, sha256) to the graph (bytes, sha256) and the converter version. A later call reuses
 * the graph when the manifest's converter version and source list match and every source has the
 * same size and mtime (or, when only the mtime moved, the same sha256), and so does the graph
 * (graphUnchanged: a graph replaced after conversion is rebuilt); otherwise it rebuilds.
 * Graph and manifest are written to temporary names and renamed (cache-write.ts), an earlier
 * manifest removed first and the new one written last, so a crash or a full disk (NO_SPACE, naming
 * the file) leaves either the old state or a graph without a manifest (rebuilt next time), never a
 * half graph in use.
 * `quantize: 'int8'` builds the int8 graph (onnx-graph-builder.ts) into `<outDir>/int8/` with its
 * own manifest (`quantization: "int8"`), so the float and int8 graphs of one checkpoint are cached
 * side by side and never taken for each other.
 *
 * Cost (bench/convert-encode.ts, BERT-base shape): see bench/RESULTS.md "Checkpoint conversion".
 * Peak memory is about three copies of the weights (file bytes, float32 tensors, encoded graph).
 */
import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PlaitError, checkNonEmptyString } from '../../errors/index.js';
import { cacheWrite, writeCacheFile } from '../cache-write.js';
import { checkOptionKeys, type OptionKeys } from '../../util/option-keys.js';
import { buildBertGraph, EMBEDDINGS_OUTPUT, LOGITS_OUTPUT } from './bert-graph-builder.js';
import { readBertWeights, type DenseConfig, type DenseSource, type HeadWeights } from './bert-weights.js';
import { modelArchitecture, type ModelArchitecture } from './model-architecture.js';
import { buildModernBertGraph } from './modernbert-graph-builder.js';
import { readModernBertWeights } from './modernbert-weights.js';
import { findCheckpointLayout, layoutSources, openWeights, readJsonObject, type CheckpointLayout } from './checkpoint-layout.js';
import { sha256File } from '../../util/file-sha256.js';

/** Bump when the graph a given checkpoint converts to changes, so cached graphs are rebuilt. */
export const CONVERTER_VERSION = 1;
export const CONVERTED_GRAPH_FILE = 'model.onnx';
export const CONVERT_MANIFEST_FILE = 'plait-convert.json';

export interface SourceFile {
  file: string;
  bytes: number;
  mtimeMs: number;
  sha256: string;
}

export type ConvertedHead = { kind: 'colbert'; output: typeof EMBEDDINGS_OUTPUT; dim: number } | { kind: 'classifier'; output: typeof LOGITS_OUTPUT; numLabels: number };

export interface ConvertManifest {
  format: 1;
  converter: number;
  sourceDir: string;
  sources: SourceFile[];
  /**
   * The graph as written. `mtimeMs` (absent in manifests written before it was recorded) lets a
   * reuse notice a graph replaced after conversion without hashing it at every start; see stillValid.
   */
  graph: { file: string; bytes: number; sha256: string; mtimeMs?: number };
  /** BERT or ModernBERT (`family`), as read from config.json. */
  architecture: ModelArchitecture;
  /** How the linear layers were written; absent in manifests written before int8 existed (float). */
  quantization?: GraphQuantization;
  head: ConvertedHead;
  /** Inputs of the graph, in order. */
  inputs: string[];
  convertSeconds: number;
  createdAt: string;
}

export interface ConvertedGraph {
  onnxPath: string;
  manifestPath: string;
  manifest: ConvertManifest;
  /** True when an earlier conversion was reused. */
  fromCache: boolean;
}

/** `int8`: linear layers with int8 weights and dynamically quantised activations (onnx-graph-builder.ts). */
export type GraphQuantization = 'none' | 'int8';
/** Where an int8 graph goes beside the float one: `<outDir>/int8/` (its own model.onnx and manifest). */
export const INT8_SUBDIR = 'int8';

/** `value` as a GraphQuantization (undefined → 'none'); INVALID_ARGUMENT for anything else. */
export function checkQuantization(value: unknown): GraphQuantization {
  if (value === undefined || value === 'none' || value === 'int8') return value ?? 'none';
  throw new PlaitError('INVALID_ARGUMENT', { message: `Expected "int8" or "none" for quantize but received ${JSON.stringify(value)}`, name: 'quantize' });
}

export interface ConvertOptions {
  /** 'int8' builds the quantised graph into `<outDir>/int8/` (default 'none'). */
  quantize?: GraphQuantization;
  /** Where model.onnx and the manifest go; default `<cacheDir>/converted/<name>-<hash>`. */
  outDir?: string;
  /** The model cache root (default: hub-env's defaultCacheDir, passed in by the caller). */
  cacheDir?: string;
}

/** ConvertOptions' keys: ensureConvertedGraph refuses any other (`{ outdir }` wrote into the cache). */
const CONVERT_OPTION_KEYS = { quantize: true, outDir: true, cacheDir: true } as const satisfies OptionKeys<ConvertOptions>;

/** `<cacheDir>/converted/<folder name>-<16 hex of sha256(real path)>`. */
export function convertedGraphDir(cacheDir: string, dir: string): string {
  const real = realpathSync(dir);
  const tag = createHash('sha256').update(real).digest('hex').slice(0, 16);
  const name = path.basename(real).replace(/[^\w.-]/g, '_') || 'model';
  return path.join(cacheDir, 'converted', `${name}-${tag}`);
}

/** True when `dir` holds a checkpoint plait can convert (config.json with weights beside it). */
export function isConvertibleCheckpoint(dir: string): boolean {
  checkNonEmptyString('dir', dir, 'a checkpoint folder path');
  return findCheckpointLayout(dir) !== null;
}

function readManifest(file: string): ConvertManifest | null {
  if (!existsSync(file)) return null;
  try {
    return readJsonObject(file) as unknown as ConvertManifest;
  } catch {
    return null;
  }
}

async function stillValid(m: ConvertManifest, dir: string, sources: string[], outDir: string, quantization: GraphQuantization): Promise<boolean> {
  if (m.format !== 1 || m.converter !== CONVERTER_VERSION || m.sourceDir !== dir || (m.quantization ?? 'none') !== quantization) return false;
  if (!Array.isArray(m.sources) || m.sources.length !== sources.length || !m.sources.every((s, i) => s.file === sources[i])) return false;
  if (!(await graphUnchanged(m, outDir))) return false;
  for (const s of m.sources) {
    const file = path.join(dir, ...s.file.split('/'));
    const st = statSync(file);
    if (st.size !== s.bytes) return false;
    if (st.mtimeMs !== s.mtimeMs && (await sha256File(file)) !== s.sha256) return false;
  }
  return true;
}

/**
 * The graph is the one the manifest describes: same size, and same mtime or else same sha256 (the
 * check the sources get). A graph replaced in the cache after conversion (a copy of another, a
 * damaged file of the same size) had been reused as long as its size matched: the encoder then
 * failed the index's fingerprint check as "another model", a cross-encoder scored with it. Not a
 * sha256 at every start: 1.3–1.9 s for a BERT-base graph (438 MB) on the 2-core dev machine
 * against 0.007 ms for the stat (bench/RESULTS.md, "Converted graph check"); a same-size
 * replacement written by a tool that also restores the mtime is what this leaves unseen. A graph
 * whose mtime moved but whose bytes did not (a touch; a manifest from before mtimes were recorded)
 * is hashed once and its mtime recorded.
 */
async function graphUnchanged(m: ConvertManifest, outDir: string): Promise<boolean> {
  const graph = path.join(outDir, m.graph.file);
  if (!existsSync(graph)) return false;
  const st = statSync(graph);
  if (st.size !== m.graph.bytes) return false;
  if (st.mtimeMs === m.graph.mtimeMs) return true;
  if ((await sha256File(graph)) !== m.graph.sha256) return false;
  // The same bytes with a new mtime (a touch, a copy): recorded, so the next start stats again.
  // Best effort: an unwritable cache is checked by sha256 again next time.
  const updated: ConvertManifest = { ...m, graph: { ...m.graph, mtimeMs: st.mtimeMs } };
  await writeCacheFile(path.join(outDir, CONVERT_MANIFEST_FILE), JSON.stringify(updated, null, 2), 'the graph is checked by sha256 again next time').catch(() => undefined);
  return true;
}

/** The ColBERT projection width artifact.metadata / config.json declares, if any (ColBERTConfig's `dim`). */
function declaredDim(dir: string): number | null {
  for (const f of ['artifact.metadata', 'config.json']) {
    const file = path.join(dir, f);
    if (!existsSync(file)) continue;
    const raw = readJsonObject(file);
    const wrapped = raw['config'];
    const c = wrapped !== null && typeof wrapped === 'object' && !Array.isArray(wrapped) ? (wrapped as Record<string, unknown>) : raw;
    if (typeof c['dim'] === 'number') return c['dim'];
  }
  return null;
}

/**
 * Builds the graph of the checkpoint at `layout` into `outDir` (always; see ensureConvertedGraph
 * for the cached path). Throws MODEL_UNSUPPORTED, MODEL_UNSAFE, MODEL_MISMATCH, MODEL_LOAD_FAILED.
 */
export async function convertCheckpoint(layout: CheckpointLayout, outDir: string, quantization: GraphQuantization = 'none'): Promise<ConvertedGraph> {
  const t0 = performance.now();
  const dir = layout.dir;
  const abs = (rel: string): string => path.join(dir, ...rel.split('/'));
  const arch = modelArchitecture(readJsonObject(abs(layout.configFile)), abs(layout.configFile));
  const sources: SourceFile[] = [];
  for (const file of layoutSources(layout)) {
    const st = statSync(abs(file));
    sources.push({ file, bytes: st.size, mtimeMs: st.mtimeMs, sha256: await sha256File(abs(file)) });
  }
  const main = openWeights(abs(layout.weightsFile));
  const dense: DenseSource[] = layout.dense.map((d) => ({
    src: openWeights(abs(d.weightsFile)),
    config: (d.configFile === null ? {} : readJsonObject(abs(d.configFile))) as DenseConfig,
  }));
  const graphMetadata = {
    'plait.converter': String(CONVERTER_VERSION),
    'plait.sources': JSON.stringify(sources.map((s) => ({ file: s.file, sha256: s.sha256 }))),
    'plait.quantization': quantization,
  };
  let headWeights: HeadWeights;
  let bytes: Uint8Array;
  let inputs: string[];
  if (arch.family === 'modernbert') {
    const weights = readModernBertWeights(arch, main, dense);
    headWeights = weights.head;
    bytes = buildModernBertGraph(weights, graphMetadata, quantization);
    inputs = ['input_ids', 'attention_mask'];
  } else {
    const weights = readBertWeights(arch, main, dense);
    headWeights = weights.head;
    bytes = buildBertGraph(weights, graphMetadata, quantization);
    inputs = weights.tokenTypeEmbeddings === null ? ['input_ids', 'attention_mask'] : ['input_ids', 'attention_mask', 'token_type_ids'];
  }
  let head: ConvertedHead;
  if (headWeights.kind === 'colbert') {
    const dim = headWeights.projections[headWeights.projections.length - 1]!.linear.outFeatures;
    const declared = declaredDim(dir);
    if (declared !== null && declared !== dim) {
      throw new PlaitError('MODEL_MISMATCH', { message: `${dir}: the settings say dim ${declared} but the projection's weights give ${dim}`, dir });
    }
    head = { kind: 'colbert', output: EMBEDDINGS_OUTPUT, dim };
  } else {
    head = { kind: 'classifier', output: LOGITS_OUTPUT, numLabels: headWeights.classifier.outFeatures };
  }
  const onnxPath = path.join(outDir, CONVERTED_GRAPH_FILE);
  const again = 'nothing partial was kept: a later run builds the graph again';
  const manifestPath = path.join(outDir, CONVERT_MANIFEST_FILE);
  await cacheWrite(outDir, again, () => mkdir(outDir, { recursive: true }));
  // An earlier build's manifest goes first: beside a new graph whose own manifest then failed to be written, it would vouch for it.
  await unlink(manifestPath).catch(() => undefined);
  await writeCacheFile(onnxPath, bytes, again);
  const graphMtimeMs = statSync(onnxPath).mtimeMs;
  const manifest: ConvertManifest = {
    format: 1,
    converter: CONVERTER_VERSION,
    sourceDir: dir,
    sources,
    graph: { file: CONVERTED_GRAPH_FILE, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), mtimeMs: graphMtimeMs },
    architecture: arch,
    quantization,
    head,
    inputs,
    convertSeconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  };
  // Without it the graph is not taken as built (ensureConvertedGraph reads the manifest first).
  await writeCacheFile(manifestPath, JSON.stringify(manifest, null, 2), again);
  return { onnxPath, manifestPath, manifest, fromCache: false };
}

/**
 * The converted graph of the checkpoint in `dir`: reused from `outDir` when its manifest still
 * matches the sources, else built. Throws MODEL_NOT_FOUND when `dir` has no convertible checkpoint,
 * and the errors of convertCheckpoint.
 */
export async function ensureConvertedGraph(dir: string, opts: ConvertOptions): Promise<ConvertedGraph> {
  checkOptionKeys(opts, CONVERT_OPTION_KEYS, 'ensureConvertedGraph option');
  checkNonEmptyString('dir', dir, 'a checkpoint folder path');
  const real = realpathSync(dir);
  const layout = findCheckpointLayout(real);
  if (layout === null) {
    throw new PlaitError('MODEL_NOT_FOUND', {
      message: `${real} has neither an ONNX graph nor a checkpoint to convert (config.json with model.safetensors or pytorch_model.bin)`,
      dir: real,
    });
  }
  if (opts.outDir === undefined && opts.cacheDir === undefined) {
    throw new PlaitError('INVALID_ARGUMENT', { message: 'ensureConvertedGraph needs outDir or cacheDir' });
  }
  const quantization = checkQuantization(opts.quantize);
  const floatDir = opts.outDir ?? convertedGraphDir(opts.cacheDir!, real);
  const outDir = quantization === 'int8' ? path.join(floatDir, INT8_SUBDIR) : floatDir;
  const manifestPath = path.join(outDir, CONVERT_MANIFEST_FILE);
  const manifest = readManifest(manifestPath);
  if (manifest !== null && (await stillValid(manifest, real, layoutSources(layout), outDir, quantization))) {
    return { onnxPath: path.join(outDir, manifest.graph.file), manifestPath, manifest, fromCache: true };
  }
  return convertCheckpoint(layout, outDir, quantization);
}

/** The manifest next to a converted graph, or null when `onnxPath` was not written by the converter. */
export function convertManifestFor(onnxPath: string): ConvertManifest | null {
  checkNonEmptyString('onnxPath', onnxPath, 'an ONNX graph path');
  return readManifest(path.join(path.dirname(onnxPath), CONVERT_MANIFEST_FILE));
}
