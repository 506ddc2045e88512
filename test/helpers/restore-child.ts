/**
 * Child process for test/index-restore-crash.test.ts: restores <backup> over <target> (replace) and
 * SIGKILLs itself right after the target's transaction reports file operation number <killAt>
 * (0-based; -1: never), so that the parent reopens the folder exactly as that operation left it.
 * Prints `ops <n>` when the restore returned (the count of operations it made).
 * argv: <backup> <target> <killAt>
 */
import { writeSync } from 'node:fs';
import { restoreIndex } from '../../src/mutate/index-restore.js';

async function main(): Promise<void> {
  const [backup, target, killAtArg] = process.argv.slice(2);
  const killAt = Number(killAtArg);
  let n = 0;
  await restoreIndex(backup!, target!, {
    replace: true,
    onOp: () => {
      if (n++ === killAt) process.kill(process.pid, 'SIGKILL');
    },
  });
  writeSync(1, `ops ${n}\n`);
}

void main();
