/**
 * `pullModel(repoId)`: fetches the files a ColBERT ONNX checkpoint needs from the Hugging Face hub
 * (`${endpoint}/${repoId}/resolve/${revision}/${file}`) into the model cache, one verified file at
 * a time, then writes a manifest; a folder with a manifest is reused without any request.
 * A repository without an ONNX graph (colbert-ir/colbertv2.0 ships safetensors / PyTorch weights)
 * is pulled as a checkpoint instead: config.json first (so an unsupported architecture is refused
 * before hundreds of megabytes are fetched), then the weights of its layout (modules.json says
 * where a sentence-transformers / PyLate model keeps its transformer and `1_Dense` projection), and
 * the graph is built into the same folder by encoder/convert (model.onnx + plait-convert.json).
 * A repository with `vocab.txt` but no `tokenizer.json` gets one built from it (BertConverter's recipe).
 * Asked to pull a model the cache holds, pullModel checks every file against the manifest's size and
 * sha256 and re-fetches only those that differ (a damaged cache file is repaired, the rest kept).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { PlaitError, checkNonEmptyString } from '../../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../../util/option-keys.js';
import { downloadFile } from './download-file.js';
import { writeCacheFile } from '../cache-write.js';
import { damagedPulledFiles, MANIFEST_FILE } from './cache-repair.js';
import { DEFAULT_REVISION, defaultCacheDir, hubEndpoint, hubToken, isOffline, repoCacheDir, splitRepoRevision } from './hub-env.js';
import { modelArchitecture } from '../convert/model-architecture.js';
import { DENSE_DIR, moduleFolders, MODULES_FILE, readJsonObject, WEIGHT_FILES } from '../convert/checkpoint-layout.js';
import { ensureConvertedGraph, CONVERT_MANIFEST_FILE } from '../convert/convert-checkpoint.js';
import { wordpieceTokenizerJson } from '../convert/wordpiece-tokenizer-json.js';

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
  /**
   * When the repository has none of the graphs, pull its weights and build model.onnx from them
   * (encoder/convert; default true). False refuses with MODEL_NOT_FOUND instead (a named variant).
   */
  convertIfMissing?: boolean;
}

/** PullOptions' keys: pullModel refuses any other (`{ revison: 'v2' }` pulled main without a word). */
export const PULL_OPTION_KEYS = {
  cacheDir: true, revision: true, endpoint: true, onProgress: true, signal: true, offline: true, onnxCandidates: true, optionalFiles: true, convertIfMissing: true,
} as const satisfies OptionKeys<PullOptions>;
/** cachedModel's keys. */
const CACHED_MODEL_OPTION_KEYS = { cacheDir: true, revision: true } as const satisfies OptionKeys<CachedModelOptions>;

/** Where cachedModel looks: the cache root (default defaultCacheDir()) and the revision (default main). */
export interface CachedModelOptions {
  cacheDir?: string;
  revision?: string;
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
  /** Set when the repository had no ONNX graph and plait built model.onnx from its weights. */
  converted?: { graph: string; manifest: string; seconds: number };
}

/** The ONNX graph, first one found wins (PyLate and Optimum exports use onnx/model.onnx, Vespa's answerai export vespa_colbert.onnx). */
export const HUB_ONNX_CANDIDATES = ['model.onnx', 'onnx/model.onnx', 'vespa_colbert.onnx'] as const;
export const HUB_REQUIRED_FILES = ['tokenizer.json'] as const;
/** Settings files, each optional. */
export const HUB_OPTIONAL_FILES = ['config.json', 'artifact.metadata', 'config_sentence_transformers.json', '1_Dense/config.json'] as const;
export { MANIFEST_FILE };

export function offlineAlternatives(repoId: string): string {
  return (
    `${repoId} is not in the model cache and downloads are off (offline mode). ` +
    'Use a local model folder or the bundled model instead, ' +
    `or go online (unset PLAIT_OFFLINE / HF_HUB_OFFLINE) and pull it once (pullModel, or "plait model pull ${repoId}")`
  );
}

/**
 * The cached folder of repoId ("org/name", or "org/name@revision" as `--model` takes it) at
 * revision when a complete pull is there, else null.
 * @throws PlaitError INVALID_ARGUMENT for a malformed id, or an "@revision" that differs from opts.revision
 */
export function cachedModel(ref: string, opts: CachedModelOptions = {}): PulledModel | null {
  checkOptionKeys(opts, CACHED_MODEL_OPTION_KEYS, 'cachedModel option');
  checkNonEmptyString('ref', ref, 'a hub repo id ("org/name")');
  const split = splitRepoRevision(ref, opts.revision);
  const repoId = split.repoId;
  const revision = split.revision ?? DEFAULT_REVISION;
  const dir = repoCacheDir(opts.cacheDir ?? defaultCacheDir(), repoId, revision);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) return null;
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files?: PulledFile[]; converted?: PulledModel['converted'] };
    const files = m.files ?? [];
    if (files.length === 0 || !files.every((f) => existsSync(path.join(dir, f.file)))) return null;
    return { repoId, revision, dir, files, fromCache: true, ...(m.converted === undefined ? {} : { converted: m.converted }) };
  } catch {
    return null;
  }
}

/**
 * Pulls `ref` ("org/name", or "org/name@revision" as `--model` takes it; opts.revision is the same
 * thing, default main) into the model cache; see the module header.
 * @throws PlaitError INVALID_ARGUMENT (a malformed id or revision, or two revisions that differ),
 *   OFFLINE, MODEL_NOT_FOUND, MODEL_FILE_MISSING, DOWNLOAD_FAILED, DOWNLOAD_CORRUPT, ABORTED, and the converter's errors
 */
export async function pullModel(ref: string, opts: PullOptions = {}): Promise<PulledModel> {
  checkOptionKeys(opts, PULL_OPTION_KEYS, 'pullModel option');
  checkNonEmptyString('ref', ref, 'a hub repo id ("org/name")');
  const split = splitRepoRevision(ref, opts.revision);
  const repoId = split.repoId;
  const revision = split.revision ?? DEFAULT_REVISION;
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const dir = repoCacheDir(cacheDir, repoId, revision);
  const candidates = opts.onnxCandidates ?? HUB_ONNX_CANDIDATES;
  const cached = cachedModel(repoId, { cacheDir, revision });
  // Files of a cached pull that still match what was pulled; a pull asked for again re-fetches only the others.
  const intact = new Map<string, PulledFile>();
  // A cached pull serves only if it holds one of the graphs asked for (a quantised variant is another file),
  // and, asked for explicitly, only if its files are still the bytes pulled (a damaged file had no way out but rm -rf).
  if (cached !== null && cached.files.some((f) => candidates.includes(f.file))) {
    const damaged = await damagedPulledFiles({ dir: cached.dir, files: cached.files });
    if (damaged.length === 0) return cached;
    if (isOffline(opts.offline)) {
      throw new PlaitError('DOWNLOAD_CORRUPT', {
        message: `${damaged.join(', ')} in ${dir} differ from what was pulled (size or sha256); go online (unset PLAIT_OFFLINE / HF_HUB_OFFLINE) and pull ${repoId} again to re-fetch them`,
        file: path.join(dir, damaged[0]!),
        damaged,
      });
    }
    for (const f of cached.files) if (!damaged.includes(f.file) && f.file !== cached.converted?.graph) intact.set(f.file, f);
    for (const f of damaged) await unlink(path.join(dir, ...f.split('/'))).catch(() => undefined);
  } else if (isOffline(opts.offline)) throw new PlaitError('OFFLINE', { message: offlineAlternatives(repoId), repoId });

  const endpoint = hubEndpoint(opts.endpoint);
  const token = hubToken();
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const files: PulledFile[] = [];
  const fetchOne = async (file: string): Promise<boolean> => {
    const kept = intact.get(file);
    if (kept !== undefined) {
      files.push(kept);
      return true;
    }
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
  let converted: PulledModel['converted'];
  if (onnx !== undefined) {
    // Large graphs keep their weights beside them (ONNX external data).
    await fetchOne(`${onnx}_data`);
  } else if (opts.convertIfMissing === false) {
    // A graph asked for by name (a quantised variant) is never replaced by one built from the weights.
    throw new PlaitError('MODEL_NOT_FOUND', {
      message: `${repoId}@${revision} on ${endpoint} has no ONNX graph (tried ${candidates.join(', ')})`,
      repoId,
    });
  } else {
    await fetchCheckpoint(repoId, revision, endpoint, dir, fetchOne);
  }
  for (const file of HUB_REQUIRED_FILES) {
    if (files.some((f) => f.file === file || f.file.endsWith(`/${file}`))) continue;
    if (await fetchOne(file)) continue;
    // Older BERT repositories ship only the slow tokenizer's vocab.txt: build the fast tokenizer's file from it.
    if (file === 'tokenizer.json' && (await fetchOne('vocab.txt'))) {
      await fetchOne('tokenizer_config.json');
      await fetchOne('special_tokens_map.json');
      const json = (f: string): Record<string, unknown> | null => (existsSync(path.join(dir, f)) ? readJsonObject(path.join(dir, f)) : null);
      const text = wordpieceTokenizerJson(readFileSync(path.join(dir, 'vocab.txt'), 'utf8'), json('tokenizer_config.json'), json('special_tokens_map.json'), `${repoId} vocab.txt`);
      await writeCacheFile(path.join(dir, file), text, 'a later run builds it again');
      files.push({ file, bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') });
      continue;
    }
    throw new PlaitError('MODEL_FILE_MISSING', { message: `${repoId}@${revision} has no ${file} (nor vocab.txt)`, repoId, missing: [file] });
  }
  for (const file of opts.optionalFiles ?? HUB_OPTIONAL_FILES) if (!files.some((f) => f.file === file)) await fetchOne(file);
  // Files of an earlier pull into the same folder (another variant) stay listed.
  for (const f of cached?.files ?? []) if (!files.some((g) => g.file === f.file) && existsSync(path.join(dir, ...f.file.split('/')))) files.push(f);

  if (onnx === undefined) {
    opts.onProgress?.({ file: 'model.onnx (building from weights)', bytesDone: 0, bytesTotal: null });
    const graph = await ensureConvertedGraph(dir, { outDir: dir });
    // An earlier pull's entry for the graph (listed above) gives way to the graph as built now.
    const earlier = files.findIndex((f) => f.file === graph.manifest.graph.file);
    if (earlier >= 0) files.splice(earlier, 1);
    files.push({ file: graph.manifest.graph.file, bytes: graph.manifest.graph.bytes, sha256: graph.manifest.graph.sha256 });
    converted = { graph: graph.manifest.graph.file, manifest: CONVERT_MANIFEST_FILE, seconds: graph.manifest.convertSeconds };
    opts.onProgress?.({ file: 'model.onnx (building from weights)', bytesDone: graph.manifest.graph.bytes, bytesTotal: graph.manifest.graph.bytes });
  }

  const manifest = { repoId, revision, endpoint, pulledAt: new Date().toISOString(), files, ...(converted === undefined ? {} : { converted }) };
  // Written last, and whole or not at all: a folder without it is no complete pull (cachedModel), so a later run pulls again.
  await writeCacheFile(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2), 'the files already fetched are kept, and a later pull checks them and fetches the rest');
  return { repoId, revision, dir, files, fromCache: false, ...(converted === undefined ? {} : { converted }) };
}

/** Downloads the checkpoint files a conversion needs (config first, so unsupported models fail before the weights). */
async function fetchCheckpoint(repoId: string, revision: string, endpoint: string, dir: string, fetchOne: (file: string) => Promise<boolean>): Promise<void> {
  const modulesFound = await fetchOne(MODULES_FILE);
  const folders = moduleFolders(modulesFound ? readFileSync(path.join(dir, MODULES_FILE), 'utf8') : null, `${repoId} (${MODULES_FILE})`) ?? { transformer: '', dense: [DENSE_DIR] };
  const sub = (f: string): string => (folders.transformer === '' ? f : `${folders.transformer}/${f}`);
  if (!(await fetchOne(sub('config.json')))) {
    throw new PlaitError('MODEL_NOT_FOUND', {
      message: `${repoId}@${revision} on ${endpoint} has no ONNX graph (tried ${HUB_ONNX_CANDIDATES.join(', ')}) and no ${sub('config.json')} to build one from`,
      repoId,
    });
  }
  const configPath = path.join(dir, ...sub('config.json').split('/'));
  modelArchitecture(readJsonObject(configPath), `${repoId} (${sub('config.json')})`);
  let weights = false;
  for (const f of WEIGHT_FILES) if (!weights) weights = await fetchOne(sub(f));
  if (!weights) {
    throw new PlaitError('MODEL_FILE_MISSING', {
      message: `${repoId}@${revision} has no ONNX graph and no weights to convert (tried ${WEIGHT_FILES.map(sub).join(', ')})`,
      repoId,
      missing: WEIGHT_FILES.map(sub),
    });
  }
  // The Dense projections modules.json lists, in order (1_Dense/ when there is no modules.json).
  for (const dense of folders.dense) {
    if (await fetchOne(`${dense}/config.json`)) {
      let found = false;
      for (const f of WEIGHT_FILES) if (!found) found = await fetchOne(`${dense}/${f}`);
    }
  }
  if (folders.transformer !== '') await fetchOne(sub('tokenizer.json'));
}
