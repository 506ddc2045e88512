/**
 * Where a checkpoint keeps its architecture and weights, for the layouts users download:
 * - ColBERT's HF_ColBERT (colbert-ir/colbertv2.0, answerai-colbert-small-v1) and transformers'
 *   BertFor* heads (cross-encoders): `config.json` + `model.safetensors` (or `pytorch_model.bin`)
 *   at the root, keys `bert.*` plus `linear.weight` or `classifier.*`;
 * - sentence-transformers / PyLate: the transformer at the root or under `0_Transformer/`, the
 *   projection under `1_Dense/` (its own `config.json` and weights), or a chain of Dense modules
 *   (`1_Dense/`, `2_Dense/`, … as modules.json lists them, e.g. lightonai/LateOn-Code-edge).
 * safetensors is preferred over pytorch_model.bin when both exist (it is read without unpickling).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PlaitError } from '../../errors/index.js';
import { SafetensorsReader } from './safetensors-reader.js';
import { TorchCheckpointReader } from './torch-checkpoint-reader.js';
import type { WeightSource } from './weight-source.js';

/** Weight file names, preferred first. */
export const WEIGHT_FILES = ['model.safetensors', 'pytorch_model.bin'] as const;
/** Folders that may hold the transformer ('' is the root). */
export const TRANSFORMER_DIRS = ['', '0_Transformer'] as const;
export const DENSE_DIR = '1_Dense';
export const SHARDED_INDEX_FILES = ['model.safetensors.index.json', 'pytorch_model.bin.index.json'] as const;

export interface DenseLayout {
  configFile: string | null;
  weightsFile: string;
}

export interface CheckpointLayout {
  dir: string;
  /** Relative paths ('/'-separated). */
  configFile: string;
  weightsFile: string;
  /** The Dense modules applied in order after the transformer; empty when the checkpoint has none. */
  dense: DenseLayout[];
}

export const MODULES_FILE = 'modules.json';
/** Module types that do not change a ColBERT's token vectors beyond what plait computes (PyLate normalises itself). */
const NEUTRAL_MODULES = /\.(Transformer|Normalize)$/;

/**
 * modules.json (sentence-transformers) → the transformer's folder and the Dense folders in module
 * order; null for a missing or unreadable file. Throws MODEL_UNSUPPORTED for a module plait does
 * not compute (Pooling, a custom module), which would change the vectors silently.
 */
export function moduleFolders(raw: string | null, source: string): { transformer: string; dense: string[] } | null {
  if (raw === null) return null;
  let modules: unknown;
  try {
    modules = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!Array.isArray(modules)) return null;
  const list = (modules as { idx?: number; type?: string; path?: string }[]).filter((m) => typeof m === 'object' && m !== null && typeof m.type === 'string');
  list.sort((a, b) => (a.idx ?? 0) - (b.idx ?? 0));
  const t = list.find((m) => m.type!.endsWith('.Transformer'));
  const transformer = typeof t?.path === 'string' && (TRANSFORMER_DIRS as readonly string[]).includes(t.path) ? t.path : '';
  const dense: string[] = [];
  for (const m of list) {
    if (m.type!.endsWith('.Dense') && typeof m.path === 'string' && /^[\w.-]+$/.test(m.path)) dense.push(m.path);
    else if (!NEUTRAL_MODULES.test(m.type!)) {
      throw new PlaitError('MODEL_UNSUPPORTED', { message: `${source}: modules.json has a ${m.type} module; plait converts ColBERT checkpoints made of a Transformer and Dense projections`, source });
    }
  }
  return { transformer, dense };
}

const join = (...parts: string[]): string => parts.filter((p) => p.length > 0).join('/');

/** The layout of the checkpoint in `dir`, or null when it has no config.json with weights beside it. */
export function findCheckpointLayout(dir: string): CheckpointLayout | null {
  const has = (rel: string): boolean => existsSync(path.join(dir, ...rel.split('/')));
  for (const sub of TRANSFORMER_DIRS) {
    const configFile = join(sub, 'config.json');
    if (!has(configFile)) continue;
    const weights = WEIGHT_FILES.map((f) => join(sub, f)).find(has);
    if (weights === undefined) {
      const sharded = SHARDED_INDEX_FILES.map((f) => join(sub, f)).find(has);
      if (sharded !== undefined) {
        throw new PlaitError('MODEL_UNSUPPORTED', {
          message: `${path.join(dir, sharded)}: sharded weights are not converted (BERT-sized checkpoints ship in one file); export the model to ONNX with Python instead`,
          dir,
        });
      }
      continue;
    }
    const modulesPath = path.join(dir, MODULES_FILE);
    const modules = moduleFolders(existsSync(modulesPath) ? readFileSync(modulesPath, 'utf8') : null, modulesPath);
    const dense: DenseLayout[] = [];
    for (const folder of modules?.dense ?? [DENSE_DIR]) {
      const denseWeights = WEIGHT_FILES.map((f) => join(folder, f)).find(has);
      if (denseWeights === undefined) {
        if (modules === null) continue;
        throw new PlaitError('MODEL_FILE_MISSING', { message: `${dir}: modules.json lists the Dense module ${folder}/ but it has no weights (${WEIGHT_FILES.join(' or ')})`, dir, missing: [folder] });
      }
      const denseConfig = join(folder, 'config.json');
      dense.push({ configFile: has(denseConfig) ? denseConfig : null, weightsFile: denseWeights });
    }
    return { dir, configFile, weightsFile: weights, dense };
  }
  return null;
}

/** The files the graph is built from, relative, in a stable order. */
export function layoutSources(layout: CheckpointLayout): string[] {
  const files = [layout.configFile, layout.weightsFile];
  for (const d of layout.dense) {
    if (d.configFile !== null) files.push(d.configFile);
    files.push(d.weightsFile);
  }
  return files;
}

/** Opens a weights file by its name: `.safetensors`, else a PyTorch zip checkpoint. */
export function openWeights(file: string): WeightSource {
  return file.endsWith('.safetensors') ? SafetensorsReader.open(file) : TorchCheckpointReader.open(file);
}

export function readJsonObject(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new PlaitError('MODEL_LOAD_FAILED', { message: `${file} is not readable JSON: ${(cause as Error).message}`, file }, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PlaitError('MODEL_LOAD_FAILED', { message: `${file} does not hold a JSON object`, file });
  }
  return value as Record<string, unknown>;
}
