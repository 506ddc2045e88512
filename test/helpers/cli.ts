/** The plait CLI run as a child process, the way the CLI tests drive it. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/plait.js of this checkout (tests run from dist/test/). */
export const PLAIT_BIN = fileURLToPath(new URL('../../../bin/plait.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `plait ...args` in `dir`, with the index home at `dir`/indexes; exit code -1 when killed by a signal. */
export function runPlait(dir: string, args: readonly string[]): CliResult {
  const r = spawnSync(process.execPath, [PLAIT_BIN, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
