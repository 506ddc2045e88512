/**
 * Child process of the applier crash test: applies shard 0 of cluster <cluster> to <index> until
 * it reached <target>, printing `applied <sequence>` after each commit. With <die-at-step> (an
 * updateIndex step name) it SIGKILLs itself at that step of its <die-after>-th commit, so the crash
 * test can place a kill at every step of a commit as well as at random times.
 * argv: <index> <nats url> <cluster> <target> <batch writes> [<die-at-step> <die-after>]
 */
import { writeSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { LogApplier } from '../../src/cluster/log-applier.js';

async function main(): Promise<void> {
  const [index, url, cluster, target, batch, dieAt, dieAfter] = process.argv.slice(2);
  const nc = await connect({ servers: url! });
  let commits = 0;
  const applier = await LogApplier.start(index!, {
    nc,
    cluster: cluster!,
    shard: 0,
    batchWrites: Number(batch),
    afterCommit: (b) => void writeSync(1, `applied ${b.lastSequence}\n`),
    updateOptions: {
      onStep: (step) => {
        // The first step of every commit: the store copied (the first write on a built index) or opened in place.
        if (step === 'docstore-copied' || step === 'docstore-opened') commits++;
        if (step === dieAt && commits === Number(dieAfter)) process.kill(process.pid, 'SIGKILL');
      },
    },
  });
  writeSync(1, `ready ${applier.applied.value}\n`);
  await applier.waitFor(Number(target), { timeoutMs: 120_000 });
  await applier.stop();
  await nc.close();
  writeSync(1, 'done\n');
}

// `node --test dist/test/` also runs this file, without arguments: then it does nothing.
if (process.argv.length > 2) {
  main().catch((e: unknown) => {
    writeSync(2, `${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
