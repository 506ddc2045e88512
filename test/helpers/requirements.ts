/**
 * What a test needs from outside the repository, and what happens when it is missing.
 *
 * - Evaluation data (`../shared/data` beside the repository, or PLAIT_DATA_DIR): CI lays it beside
 *   the clone, so in CI (env CI set and not "false") a missing data set FAILS the test that needs
 *   it; outside CI the test is skipped with the path it looked at, and a warning is printed once so
 *   the skip is seen. A read or parse error is never turned into a skip: only absence is.
 * - The native addon: required when PLAIT_KERNELS=native (as .ci/run sets) or in CI; skipped,
 *   loudly, elsewhere.
 *
 * Use as `test(name, { skip: needsData('scifact') }, () => { const dir = dataPath('scifact') ... })`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelsStatus, nativeKernels } from '../../src/kernels/index.js';

/** The repository root (this file is dist/test/helpers/requirements.js when it runs). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function inCi(): boolean {
  const v = (process.env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== 'false' && v !== '0';
}

/** The evaluation data folder: PLAIT_DATA_DIR, else ../shared/data beside the repository. */
export function dataRoot(): string {
  return process.env.PLAIT_DATA_DIR ?? join(REPO_ROOT, '..', 'shared', 'data');
}

const warned = new Set<string>();

function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(message, { code: 'PLAIT_TEST_SKIPPED' });
}

/**
 * `false` when `name` (a folder or file under the data root, e.g. 'scifact' or
 * 'scifact/qrels/test.tsv') exists or when running in CI (the test then runs and fails on the
 * missing data); otherwise the skip reason.
 */
export function needsData(...names: string[]): string | false {
  const missing = names.map((n) => join(dataRoot(), n)).filter((p) => !existsSync(p));
  if (missing.length === 0 || inCi()) return false;
  const reason = `evaluation data not found: ${missing.join(', ')} (set PLAIT_DATA_DIR, or lay ../shared/data beside the repository; in CI this fails)`;
  warnOnce(missing.join(','), `SKIPPED: ${reason}`);
  return reason;
}

/** The path of `name` under the data root; throws a clear error when it is missing. */
export function dataPath(name: string): string {
  const p = join(dataRoot(), name);
  if (!existsSync(p)) {
    throw new Error(`evaluation data missing: ${p}${inCi() ? ' (CI=true: tests that need ../shared/data fail instead of skipping)' : ''}`);
  }
  return p;
}

/** `false` when the native addon loads, or when it is required (the test then fails); else the skip reason. */
export function needsNative(): string | false {
  if (nativeKernels() !== null) return false;
  if (inCi() || (process.env.PLAIT_KERNELS ?? '').trim().toLowerCase() === 'native') return false;
  const reason = `native addon not built (${kernelsStatus().nativeError ?? 'unknown'}); run npm run build:native (in CI or with PLAIT_KERNELS=native this fails)`;
  warnOnce('native', `SKIPPED: ${reason}`);
  return reason;
}

/** The native kernels; throws when the addon did not load (for tests that needsNative() let run). */
export function requireNative(): NonNullable<ReturnType<typeof nativeKernels>> {
  const k = nativeKernels();
  if (k === null) throw new Error(`native kernels required but not loaded: ${kernelsStatus().nativeError ?? 'unknown'}`);
  return k;
}

/**
 * XGBoost's command-line program (Debian's `xgboost`; $PLAIT_XGBOOST when set), which the
 * learning-to-rank tests train with and use as the oracle of plait's tree scorer: `false` when it
 * runs or in CI (the test then fails on its absence; .ci/run installs it), else the skip reason.
 */
export function needsXgboost(): string | false {
  const program = process.env.PLAIT_XGBOOST ?? 'xgboost';
  const found = spawnSync(program, ['--help'], { stdio: 'ignore' }).error === undefined;
  if (found || inCi()) return false;
  const reason = `the XGBoost program "${program}" was not found (apt-get install xgboost; in CI this fails)`;
  warnOnce('xgboost', `SKIPPED: ${reason}`);
  return reason;
}

/**
 * Debian's nats-server (2.9, with JetStream), which the cluster tests start on a random loopback
 * port: `false` when it runs or in CI (the test then fails on its absence; .ci/run installs it),
 * else the skip reason.
 */
export function needsNatsServer(): string | false {
  const found = spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).error === undefined;
  if (found || inCi()) return false;
  const reason = 'nats-server was not found (apt-get install nats-server; in CI this fails)';
  warnOnce('nats-server', `SKIPPED: ${reason}`);
  return reason;
}

/**
 * jq, which README's shell examples pipe plait's `--json` through (test/cli-stdin-inputs.test.ts runs
 * one as README writes it): `false` when it runs or in CI (the test then fails on its absence;
 * .ci/run installs it), else the skip reason.
 */
export function needsJq(): string | false {
  const found = spawnSync('jq', ['--version'], { stdio: 'ignore' }).error === undefined;
  if (found || inCi()) return false;
  const reason = 'jq was not found (apt-get install jq; in CI this fails)';
  warnOnce('jq', `SKIPPED: ${reason}`);
  return reason;
}
