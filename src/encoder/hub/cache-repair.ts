/**
 * The way out of a damaged model cache. A pulled folder's plait-manifest.json records each file's
 * size and sha256 as pulled; a file that no longer matches (a truncated model.onnx, a corrupt
 * tokenizer.json, a config.json that is not JSON) had made the model fail to load with
 * MODEL_LOAD_FAILED (or, a graph that still loads, MODEL_MISMATCH against the index built with
 * it) saying nothing of the cure: pulling the model again, which re-checks every file's sha256
 * and re-fetches the damaged ones (pullModel; `plait model pull <id>[@rev]`).
 * resolveModelGraph / resolveModelSpec and createEncoder pass every loader's error through
 * withCacheRepair, which names the damaged files and the repair (details.repairWith: the id to pull,
 * "org/name" or "org/name@revision"; the CLI prints `plait model pull <it>` as its hint).
 */
import { existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { extendedError, PlaitError } from '../../errors/index.js';
import { DEFAULT_REVISION } from './hub-env.js';
import { sha256File } from '../../util/file-sha256.js';

/** The manifest's name in a pulled folder (pull-model.ts writes it). */
export const MANIFEST_FILE = 'plait-manifest.json';

/** A pulled folder as its manifest describes it. */
export interface PulledFolder {
  repoId: string;
  revision: string;
  /** What to pull it again with: "org/name", or "org/name@revision" for another revision than main. */
  ref: string;
  dir: string;
  files: { file: string; bytes: number; sha256: string }[];
  /** The graph plait built from the weights, when it did (rebuilt by the converter, so not checked against the pull). */
  convertedGraph?: string;
}

/** The pulled model `dir` holds (its plait-manifest.json), or null for any other folder or an unreadable manifest. */
export function pulledFolder(dir: string): PulledFolder | null {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return null;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as { repoId?: unknown; revision?: unknown; files?: unknown; converted?: { graph?: unknown } };
    if (typeof m.repoId !== 'string' || !Array.isArray(m.files)) return null;
    const revision = typeof m.revision === 'string' ? m.revision : DEFAULT_REVISION;
    const ref = revision === DEFAULT_REVISION ? m.repoId : `${m.repoId}@${revision}`;
    const graph = m.converted?.graph;
    return { repoId: m.repoId, revision, ref, dir, files: m.files as PulledFolder['files'], ...(typeof graph === 'string' ? { convertedGraph: graph } : {}) };
  } catch {
    return null;
  }
}

export interface DamageCheckOptions {
  /**
   * A file's sha256 when the caller has it at no cost, else undefined: the file is then checked by
   * its size only (createEncoder passes the hashes its fingerprint computed, so that a working model
   * is not re-hashed, 440 MB of weights included). Default: every file hashed.
   */
  sha256Of?: (file: string) => Promise<string> | undefined;
  /** Leave out the graph plait converted (its own plait-convert.json guards it, and a newer converter rebuilds it). */
  skipConvertedGraph?: boolean;
}

/**
 * The files (as the manifest names them) whose size or sha256 is no longer what was pulled,
 * missing ones included. A recorded sha256 that is not a 64-hex digest is not compared.
 */
export async function damagedPulledFiles(pulled: Pick<PulledFolder, 'dir' | 'files' | 'convertedGraph'>, opts: DamageCheckOptions = {}): Promise<string[]> {
  const damaged: string[] = [];
  for (const f of pulled.files) {
    if (opts.skipConvertedGraph === true && f.file === pulled.convertedGraph) continue;
    const file = path.join(pulled.dir, ...f.file.split('/'));
    const size = await stat(file).then((st) => st.size, () => -1);
    if (size !== f.bytes) {
      damaged.push(f.file);
      continue;
    }
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) continue;
    const sha = opts.sha256Of === undefined ? sha256File(file) : opts.sha256Of(file);
    if (sha !== undefined && (await sha) !== f.sha256) damaged.push(f.file);
  }
  return damaged;
}

/** What the library says to do (no flag: library, HTTP and CLI readers alike). */
function repairAdvice(pulled: PulledFolder, damaged: string[]): string {
  const what = `${damaged.join(', ')} in ${pulled.dir} ${damaged.length === 1 ? 'differs' : 'differ'} from what was pulled of ${pulled.ref} (size or sha256)`;
  return `${what}: pull ${pulled.ref} again (pullModel) to re-check every file's sha256 and re-fetch the damaged ones`;
}

/**
 * DOWNLOAD_CORRUPT for a pulled folder whose files (checked cheaply, see DamageCheckOptions) no
 * longer match its manifest, with the repair; null when they match or `dir` is no pulled folder.
 */
export async function cacheDamageError(dir: string, opts: DamageCheckOptions = {}): Promise<PlaitError | null> {
  const pulled = pulledFolder(dir);
  if (pulled === null) return null;
  const damaged = await damagedPulledFiles(pulled, opts);
  if (damaged.length === 0) return null;
  return new PlaitError('DOWNLOAD_CORRUPT', {
    message: repairAdvice(pulled, damaged),
    file: path.join(dir, ...damaged[0]!.split('/')),
    damaged,
    repairWith: pulled.ref,
  });
}

/**
 * Codes a damaged model file can cause while loading; others (ABORTED, OFFLINE, and ENCODE_FAILED,
 * which a text can cause: each would re-hash the folder) pass untouched.
 */
const MODEL_FAILURES = new Set(['MODEL_LOAD_FAILED', 'MODEL_FILE_MISSING', 'MODEL_MISMATCH', 'MODEL_UNSUPPORTED', 'MODEL_UNSAFE']);

/**
 * `err` with the repair appended (message, details.damaged, details.repairWith) when `dir` is a
 * pulled folder some of whose files differ from what was pulled; else `err` as it is. Every file
 * is hashed: this runs only on the way out of a failure.
 */
export async function withCacheRepair(err: unknown, dir: string | undefined): Promise<unknown> {
  if (!(err instanceof PlaitError) || dir === undefined || !MODEL_FAILURES.has(err.code) || err.details?.['repairWith'] !== undefined) return err;
  const pulled = pulledFolder(dir);
  if (pulled === null) return err;
  const damaged = await damagedPulledFiles(pulled, { skipConvertedGraph: true }).catch(() => []);
  if (damaged.length === 0) return err;
  return extendedError(err, `; ${repairAdvice(pulled, damaged)}`, { damaged, repairWith: pulled.ref });
}

/**
 * ENCODE_FAILED (onnxruntime failing a run, or a graph answering in the wrong shape) from a model
 * pulled into the hub cache, with the repair named as a load failure names it (details.repairWith;
 * the CLI prints `plait model pull <it>`). It had said only onnxruntime's words. A run's failure is
 * not hashed for (withCacheRepair's full check would re-hash the folder at each failing batch): the
 * files are checked by size (a stat each) and, when none differs, the repair is named as what
 * re-checks them. Any other error, or a model that is no pulled folder (`pulled` null), passes as it is.
 */
export async function withRunRepair(err: unknown, pulled: PulledFolder | null): Promise<unknown> {
  if (!(err instanceof PlaitError) || err.code !== 'ENCODE_FAILED' || pulled === null || err.details?.['repairWith'] !== undefined) return err;
  const damaged = await damagedPulledFiles(pulled, { sha256Of: () => undefined, skipConvertedGraph: true }).catch(() => []);
  if (damaged.length > 0) return extendedError(err, `; ${repairAdvice(pulled, damaged)}`, { damaged, repairWith: pulled.ref });
  return extendedError(
    err,
    `; the model is ${pulled.ref} from the hub cache (${pulled.dir}): if its files changed since the pull, pull it again (pullModel) to re-check every file's sha256 and re-fetch the damaged ones`,
    { repairWith: pulled.ref },
  );
}
