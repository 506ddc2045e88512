/**
 * `pullModel(repoId)`: fetches the files a ColBERT ONNX checkpoint needs from the Hugging Face hub
 * (`${endpoint}/${repoId}/resolve/${revision}/${file}`) into the model cache, one verified file at
 * a time, then writes a manifest; a folder with a manifest is reused without any request.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PlaitError } from '../../errors/index.js';
import { downloadFile } from './download-file.js';
import { DEFAULT_REVISION, defaultCacheDir, hubEndpoint, hubToken, isOffline, repoCacheDir } from './hub-env.js';

export interface PullProgress {
  file: string;
  bytesDone: number;
  /** Null while the server has not said how large the file is. */
  bytesTotal: number | null;
}

export interface PullOptions {
  cacheDir?: string;
  revision?: string;
  endpoint?: string;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
  /** Never touch the network (also PLAIT_OFFLINE=1 or HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** ONNX graphs to try, first found wins (default HUB_ONNX_CANDIDATES; cross-encoders pass their own). */
  onnxCandidates?: readonly string[];
  /** Settings files fetched when present (default HUB_OPTIONAL_FILES). */
  optionalFiles?: readonly string[];
}

export interface PulledFile {
  file: string;
  bytes: number;
  sha256: string;
}

export interface PulledModel {
  repoId: string;
  revision: string;
  dir: string;
  files: PulledFile[];
  /** True when the cache already held the model and nothing was requested. */
  fromCache: boolean;
}

/** The ONNX graph, first one found wins (PyLate and Optimum exports use onnx/model.onnx, Vespa's answerai export vespa_colbert.onnx). */
export const HUB_ONNX_CANDIDATES = ['model.onnx', 'onnx/model.onnx', 'vespa_colbert.onnx'] as const;
export const HUB_REQUIRED_FILES = ['tokenizer.json'] as const;
/** Settings files, each optional. */
export const HUB_OPTIONAL_FILES = ['config.json', 'artifact.metadata', 'config_sentence_transformers.json', '1_Dense/config.json'] as const;
export const MANIFEST_FILE = 'plait-manifest.json';

export function offlineAlternatives(repoId: string): string {
  return (
    `${repoId} is not in the model cache and downloads are off (offline mode). ` +
    'Use a local model folder with --model <dir>, use the bundled model (leave out --model), ' +
    `or go online (unset PLAIT_OFFLINE / HF_HUB_OFFLINE) and run "plait model pull ${repoId}"`
  );
}

/** The cached folder of repoId at revision when a complete pull is there, else null. */
export function cachedModel(repoId: string, opts: { cacheDir?: string; revision?: string } = {}): PulledModel | null {
  const revision = opts.revision ?? DEFAULT_REVISION;
  const dir = repoCacheDir(opts.cacheDir ?? defaultCacheDir(), repoId, revision);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) return null;
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files?: PulledFile[] };
    const files = m.files ?? [];
    if (files.length === 0 || !files.every((f) => existsSync(path.join(dir, f.file)))) return null;
    return { repoId, revision, dir, files, fromCache: true };
  } catch {
    return null;
  }
}

export async function pullModel(repoId: string, opts: PullOptions = {}): Promise<PulledModel> {
  const revision = opts.revision ?? DEFAULT_REVISION;
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const dir = repoCacheDir(cacheDir, repoId, revision);
  const candidates = opts.onnxCandidates ?? HUB_ONNX_CANDIDATES;
  const cached = cachedModel(repoId, { cacheDir, revision });
  // A cached pull serves only if it holds one of the graphs asked for (a quantised variant is another file).
  if (cached !== null && cached.files.some((f) => candidates.includes(f.file))) return cached;
  if (isOffline(opts.offline)) throw new PlaitError('OFFLINE', { message: offlineAlternatives(repoId), repoId });

  const endpoint = hubEndpoint(opts.endpoint);
  const token = hubToken();
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const files: PulledFile[] = [];
  const fetchOne = async (file: string): Promise<boolean> => {
    const url = `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
    const dest = path.join(dir, ...file.split('/'));
    const result = await downloadFile(url, dest, {
      headers,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      onProgress: (bytesDone, bytesTotal) => opts.onProgress?.({ file, bytesDone, bytesTotal }),
    });
    if (result.found) files.push({ file, bytes: result.bytes, sha256: result.sha256 });
    return result.found;
  };

  let onnx: string | undefined;
  for (const candidate of candidates) {
    if (await fetchOne(candidate)) {
      onnx = candidate;
      break;
    }
  }
  if (onnx === undefined) {
    throw new PlaitError('MODEL_NOT_FOUND', {
      message: `${repoId}@${revision} on ${endpoint} has no ONNX graph (tried ${candidates.join(', ')}); is it a ColBERT ONNX export?`,
      repoId,
    });
  }
  // Large graphs keep their weights beside them (ONNX external data).
  await fetchOne(`${onnx}_data`);
  for (const file of HUB_REQUIRED_FILES) {
    if (!(await fetchOne(file))) {
      throw new PlaitError('MODEL_FILE_MISSING', { message: `${repoId}@${revision} has no ${file}`, repoId, missing: [file] });
    }
  }
  for (const file of opts.optionalFiles ?? HUB_OPTIONAL_FILES) await fetchOne(file);
  // Files of an earlier pull into the same folder (another variant) stay listed.
  for (const f of cached?.files ?? []) if (!files.some((g) => g.file === f.file)) files.push(f);

  const manifest = { repoId, revision, endpoint, pulledAt: new Date().toISOString(), files };
  const tmp = path.join(dir, `${MANIFEST_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(manifest, null, 2));
  await rename(tmp, path.join(dir, MANIFEST_FILE));
  return { repoId, revision, dir, files, fromCache: false };
}
