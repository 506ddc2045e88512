/**
 * A child of test/sharded-rebuild.test.ts: rebuilds the sharded index `root` from `corpus` with
 * `shards` shards, counting the file operations of the rebuild (fs-op-counter.ts) and killing itself
 * right after the `killAt`-th (-1: never; then it prints `done <ops>`).
 * argv: root corpus model shards killAt
 */
import { countFsOps, say } from './fs-op-counter.js';

const [root, corpus, model, shards, killAt] = process.argv.slice(2) as [string, string, string, string, string];
const counter = countFsOps(Number(killAt), false);
const { buildShardedIndex } = await import('../../src/cluster/sharded-build.js');
counter.counting = true;
await buildShardedIndex(corpus, { index: root, shards: Number(shards), model, encoderOptions: { threads: 0 } });
counter.counting = false;
say(`done ${counter.ops}`);
