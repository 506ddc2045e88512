/**
 * Counts the synchronous node:fs calls that change files (and the opens and closes around them) and
 * lets a crash test kill its own process right after the n-th: the index transaction's create /
 * write / fsync / rename / unlink all go through these calls. Import this module BEFORE plait (a
 * dynamic `import()` of plait afterwards): `syncBuiltinESMExports` makes the ESM named imports of
 * node:fs that load later see the wrappers. Used by the children of test/cancel-crash.test.ts.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const realWriteSync = fs.writeSync;

/** Writes a line to stdout at once (a pipe write that is done before a kill that follows), outside the count. */
export function say(line: string): void {
  realWriteSync(1, `${line}\n`);
}

/** SIGKILLs this process: a crash between two file operations. */
export function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

export interface OpCounter {
  /** Whether calls are being counted. */
  counting: boolean;
  /** Calls counted so far. */
  ops: number;
  /** Printed with each counted call when `record` is on (`op <n> <fn> <phase>`). */
  phase: string;
}

/**
 * Wraps the calls; while `counter.counting`, each one is counted, printed when `record`, and the
 * process killed right after the `killAt`-th (-1: never).
 */
export function countFsOps(killAt: number, record: boolean): OpCounter {
  const counter: OpCounter = { counting: false, ops: 0, phase: 'write' };
  type Fn = (...args: never[]) => unknown;
  for (const name of ['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync', 'rmSync', 'unlinkSync', 'copyFileSync', 'writeFileSync', 'ftruncateSync'] as const) {
    const real = fs[name] as unknown as Fn;
    (fs as unknown as Record<string, Fn>)[name] = (...args: never[]) => {
      const out = real(...args);
      if (counter.counting) {
        counter.ops++;
        if (record) say(`op ${counter.ops} ${name} ${counter.phase}`);
        if (counter.ops === killAt) die();
      }
      return out;
    };
  }
  syncBuiltinESMExports();
  return counter;
}
