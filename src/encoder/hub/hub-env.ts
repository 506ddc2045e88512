/**
 * Where pulled models live and how the hub is reached, from options first, then the environment:
 * PLAIT_CACHE_DIR (else $XDG_CACHE_HOME/plait/models, else ~/.cache/plait/models), HF_ENDPOINT,
 * HF_TOKEN, and PLAIT_OFFLINE=1 / HF_HUB_OFFLINE=1.
 */
import os from 'node:os';
import path from 'node:path';
import { PlaitError, checkObject } from '../../errors/index.js';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  checkObject('env', env, 'an environment (like process.env)');
  if (env['PLAIT_CACHE_DIR']) return path.resolve(env['PLAIT_CACHE_DIR']);
  const base = env['XDG_CACHE_HOME'] ? env['XDG_CACHE_HOME'] : path.join(os.homedir(), '.cache');
  return path.join(base, 'plait', 'models');
}

export function hubEndpoint(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return (option ?? env['HF_ENDPOINT'] ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
}

export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const t = env['HF_TOKEN'];
  return t !== undefined && t.length > 0 ? t : undefined;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
}

export function isOffline(option?: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return option ?? (truthy(env['PLAIT_OFFLINE']) || truthy(env['HF_HUB_OFFLINE']));
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function isRepoId(s: string): boolean {
  return REPO_ID.test(s) && !s.includes('..');
}

/**
 * "org/name@revision" → its repo id and revision (as `--model` and `resolveModelSpec` read it);
 * `revision` is the option given beside it, if any: one that differs from the id's is refused
 * rather than one of them silently winning.
 * @throws PlaitError INVALID_ARGUMENT when both name a revision and they differ
 */
export function splitRepoRevision(ref: string, revision?: string): { repoId: string; revision: string | undefined } {
  const at = ref.indexOf('@');
  if (at < 0) return { repoId: ref, revision };
  const repoId = ref.slice(0, at);
  const own = ref.slice(at + 1);
  if (revision !== undefined && revision !== own) {
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `Expected one revision but received two: ${JSON.stringify(ref)} names ${JSON.stringify(own)} and the revision option ${JSON.stringify(revision)}; give one of them`,
      name: 'revision',
    });
  }
  return { repoId, revision: own };
}

/** A branch, tag or commit: "/"-separated segments of letters, digits, "_", "." and "-" (the hub's PR refs are refs/pr/<n>). */
const REVISION = /^[\w.-]+(\/[\w.-]+)*$/;

/**
 * The name of a revision's folder in the model cache: the revision as the hub's resolve URL carries
 * it, each "/" written %2F (`refs/pr/1` → `refs%2Fpr%2F1`, as huggingface_hub's hf_hub_url quotes
 * it with quote(revision, safe="")). A revision without "/" is its own name, so every folder pulled
 * before revisions could hold "/" keeps its name. huggingface_hub nests such a ref instead
 * (refs/refs/pr/1, a file naming the commit whose snapshots/<sha> folder holds the files); plait
 * keeps one folder a revision, where nesting would put refs/pr/1 inside the folder of a branch
 * named "refs". The mapping is one-to-one: no revision may hold "%" itself.
 */
export function revisionFolderName(revision: string): string {
  return revision.split('/').join('%2F');
}

/**
 * The folder of one repo at one revision: <cache>/<org>--<name>/<revisionFolderName(revision)>.
 * @throws PlaitError INVALID_ARGUMENT for a malformed repo id or revision (empty, "..", "%", spaces, a leading or doubled "/")
 */
export function repoCacheDir(cacheDir: string, repoId: string, revision: string): string {
  if (!isRepoId(repoId)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a hub repo id like "org/name" but received ${JSON.stringify(repoId)}`, name: 'repoId' });
  }
  if (!REVISION.test(revision) || revision.includes('..') || revision === '.') {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a branch, tag or commit (e.g. main, v2, refs/pr/1) for revision but received ${JSON.stringify(revision)}`, name: 'revision' });
  }
  return path.join(cacheDir, repoId.replace('/', '--'), revisionFolderName(revision));
}
