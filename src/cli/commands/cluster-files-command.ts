/**
 * `plait cluster publish <name> --nats <url>` uploads a sharded index's committed shards (and its
 * cluster.json) to the cluster's JetStream object store; `plait cluster fetch <name> --shard <i>
 * --nats <url>` downloads one shard into an empty `<name>/shard-<i>` on another machine, where
 * `plait serve <name>/shard-<i> --nats <url>` then replays the writes made since the publish
 * (src/cluster/shard-files.ts, issue 24).
 */
import type { Command } from 'commander';
import { connect } from '@nats-io/transport-node';
import { fetchClusterShard, publishCluster, type ShardFilesResult } from '../../cluster/shard-files.js';
import { PlaitError } from '../../errors/index.js';
import { parseIntArg, plural, printJson } from '../options.js';

interface PublishCliOptions {
  nats: string;
  shard?: number;
  json?: boolean;
}

async function withNats<T>(url: string, work: (nc: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
  let nc;
  try {
    nc = await connect({ servers: url, name: 'plait-cluster-files' });
  } catch (e) {
    throw new PlaitError('OFFLINE', { message: `cannot reach NATS at ${url}: ${(e as Error).message}`, url }, { cause: e });
  }
  try {
    return await work(nc);
  } finally {
    await nc.close();
  }
}

function describe(r: ShardFilesResult, verb: string): string {
  const mb = (r.bytes / (1 << 20)).toFixed(1);
  return `shard ${r.shard}: generation ${r.generation}, ${plural(r.files, 'file')} (${mb} MiB), ${r.transferred} ${verb}${r.appliedSequence === undefined ? '' : `; write log applied to ${r.appliedSequence}`}`;
}

export function registerClusterFilesCommand(program: Command): void {
  const cluster = program.command('cluster').description('a sharded index on NATS: publish its shards to the object store, fetch one on another machine');
  cluster
    .command('publish')
    .description("upload the shards' committed files (and cluster.json) to the cluster's JetStream object store; unchanged files are not uploaded again")
    .argument('<name>', 'the sharded index folder (its name is the cluster name)')
    .requiredOption('--nats <url>', 'NATS server URL, e.g. nats://127.0.0.1:4222')
    .option('--shard <i>', 'publish only this shard', parseIntArg('shard', 0))
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: PublishCliOptions) => {
      const r = await withNats(o.nats, (nc) => publishCluster(nc, name, o.shard === undefined ? undefined : [o.shard]));
      if (o.json) return printJson(r);
      process.stdout.write(`published cluster ${r.cluster}: ${r.shards.map((s) => describe(s, 'uploaded')).join('; ')}\n`);
    });
  cluster
    .command('fetch')
    .description('download one published shard into <name>/shard-<i> (an empty or new folder; the manifest is written last)')
    .argument('<name>', 'the sharded index folder to fetch into (its name is the cluster name)')
    .requiredOption('--shard <i>', 'the shard to fetch', parseIntArg('shard', 0))
    .requiredOption('--nats <url>', 'NATS server URL')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: PublishCliOptions & { shard: number }) => {
      const r = await withNats(o.nats, (nc) => fetchClusterShard(nc, name, o.shard));
      if (o.json) return printJson(r);
      process.stdout.write(`fetched cluster ${r.cluster} ${describe(r, 'downloaded')}\n`);
    });
}
