/**
 * A model's fingerprint: SHA-256 over the files that decide its output (the ONNX graph and its
 * weights, the tokenizer, the settings files; for the bundled model its graph JSON, weight shards
 * and vocabulary) and the spec's overrides. Names, dims and query lengths cannot tell two
 * checkpoints of one family and shape apart (a fine-tuned colbertv2.0 has the same config); their
 * weights can. The index records the fingerprint at build time and search refuses an encoder
 * whose fingerprint differs (MODEL_MISMATCH).
 *
 * Cost: every byte is hashed (a partial hash would miss a checkpoint that changes only its last
 * layers); SHA-256 runs at ~1 GB/s here, ~0.4 s for a 440 MB colbertv2.0 ONNX file, paid once per
 * process per file (cached by path, size and mtime) next to the seconds onnxruntime takes to load
 * the same file. Missing files are skipped: loading the model reports them properly.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ModelSpec } from './types.js';
import { CONFIG_FILES, ONNX_FILE_CANDIDATES, TOKENIZER_FILE } from './colbert-onnx/checkpoint-config.js';
import { resolveModelDir } from './use-lite/model-files.js';

const fileHashes = new Map<string, Promise<string>>();

function hashFile(file: string): Promise<string> {
  const st = statSync(file);
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  let h = fileHashes.get(key);
  if (h === undefined) {
    h = new Promise<string>((resolve, reject) => {
      const hash = createHash('sha256');
      createReadStream(file)
        .on('data', (chunk) => hash.update(chunk))
        .on('error', reject)
        .on('end', () => resolve(hash.digest('hex')));
    });
    h.catch(() => fileHashes.delete(key));
    fileHashes.set(key, h);
  }
  return h;
}

/**
 * The sha256 (hex) of `file` when a fingerprint has already hashed it as it is now (same size and
 * mtime), else undefined: createEncoder checks a pulled model's files against its manifest with it
 * at no extra read.
 */
export function knownFileSha256(file: string): Promise<string> | undefined {
  try {
    // Keyed as modelFingerprint hashes it: by absolute path.
    const abs = path.resolve(file);
    const st = statSync(abs);
    return fileHashes.get(`${abs}\0${st.size}\0${st.mtimeMs}`);
  } catch {
    return undefined;
  }
}

/** The files (relative to `dir`) that decide the model's output. */
function modelFiles(spec: ModelSpec): { dir: string; files: string[] } {
  if (spec.family === 'colbert-onnx') {
    const onnx = spec.onnxFile !== undefined ? [spec.onnxFile] : ONNX_FILE_CANDIDATES.filter((f) => existsSync(path.join(spec.dir, f))).slice(0, 1);
    return { dir: spec.dir, files: [...onnx, TOKENIZER_FILE, ...CONFIG_FILES] };
  }
  const dir = resolveModelDir(spec.dir);
  const files = ['model.json', 'vocab.json'];
  try {
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest?: Array<{ paths?: string[] }> };
    for (const group of json.weightsManifest ?? []) files.push(...(group.paths ?? []));
  } catch {
    // Unreadable model.json: the loader reports it; the fingerprint covers what exists.
  }
  return { dir, files };
}

/** Hex SHA-256 fingerprint of the model behind `spec` (see the module header). */
export async function modelFingerprint(spec: ModelSpec): Promise<string> {
  const { dir, files } = modelFiles(spec);
  const hash = createHash('sha256');
  hash.update(`plait-model-fingerprint-v1\0${spec.family}\0`);
  if (spec.family === 'colbert-onnx' && spec.overrides !== undefined) hash.update(`overrides ${JSON.stringify(spec.overrides)}\0`);
  for (const f of files) {
    // resolve, not join: a graph converted into the model cache is named by its absolute path.
    const file = path.resolve(dir, f);
    if (!existsSync(file) || !statSync(file).isFile()) continue;
    hash.update(`${f}\0${await hashFile(file)}\0`);
  }
  return hash.digest('hex');
}
