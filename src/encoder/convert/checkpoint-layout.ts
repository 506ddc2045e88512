/**
 * Where a checkpoint keeps its architecture and weights, for the layouts users download:
 * - ColBERT's HF_ColBERT (colbert-ir/colbertv2.0, answerai-colbert-small-v1) and transformers'
 *   BertFor* heads (cross-encoders): `config.json` + `model.safetensors` (or `pytorch_model.bin`)
 *   at the root, keys `bert.*` plus `linear.weight` or `classifier.*`;
 * - sentence-transformers / PyLate: the transformer at the root or under `0_Transformer/`, the
 *   projection under `1_Dense/` (its own `config.json` and weights).
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

export interface CheckpointLayout {
  dir: string;
  /** Relative paths ('/'-separated). */
  configFile: string;
  weightsFile: string;
  dense: { configFile: string | null; weightsFile: string } | null;
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
    const denseWeights = WEIGHT_FILES.map((f) => join(DENSE_DIR, f)).find(has);
    const denseConfig = join(DENSE_DIR, 'config.json');
    return {
      dir,
      configFile,
      weightsFile: weights,
      dense: denseWeights === undefined ? null : { configFile: has(denseConfig) ? denseConfig : null, weightsFile: denseWeights },
    };
  }
  return null;
}

/** The files the graph is built from, relative, in a stable order. */
export function layoutSources(layout: CheckpointLayout): string[] {
  const files = [layout.configFile, layout.weightsFile];
  if (layout.dense !== null) {
    if (layout.dense.configFile !== null) files.push(layout.dense.configFile);
    files.push(layout.dense.weightsFile);
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
