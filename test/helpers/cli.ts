/** The plait CLI run as a child process, the way the CLI tests drive it. */
import assert from 'node:assert/strict';
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

/** `r`, after asserting that it exited 0 (its stderr as the message). */
export function succeeded(r: CliResult): CliResult {
  assert.equal(r.code, 0, r.stderr);
  return r;
}

/** A hit of `plait search --text --json`. */
export interface TextHit {
  docId: string;
  title: string;
  text: string;
  metadata: Record<string, unknown> | null;
}

/** `plait search <index> <query> --mode bm25 --text --json …extra` run in `dir`, which must exit 0: its hits. */
export function bm25Hits(dir: string, index: string, query: string, extra: readonly string[] = []): TextHit[] {
  return (JSON.parse(succeeded(runPlait(dir, ['search', index, query, '--mode', 'bm25', '--text', '--json', ...extra])).stdout) as { hits: TextHit[] }).hits;
}
