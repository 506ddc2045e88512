/**
 * `plait cluster add <name> <corpus> --nats <url>` and `plait cluster delete <name> --ids <file>
 * | --filter <json> --nats <url>` write to the cluster's write logs (encoded once here; every
 * replica applies them: src/cluster/cluster-writer.ts); with `--wait <s>` both then wait for the
 * replicas and print what each did (src/cluster/replica-wait.ts). `plait cluster publish <name> --nats <url>` uploads a sharded index's committed shards (and its
 * cluster.json) to the cluster's JetStream object store; `plait cluster fetch <name> --shard <i>
 * --nats <url>` downloads one shard into an empty `<name>/shard-<i>` on another machine, where
 * `plait serve <name>/shard-<i> --nats <url>` then replays the writes made since the publish
 * (src/cluster/shard-files.ts, issue 24).
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { fetchClusterShard, publishCluster, type ShardFilesResult } from '../../cluster/shard-files.js';
import { findClusterRoot } from '../../cluster/cluster-manifest.js';
import { addCorpusToCluster, deleteFromCluster, type ClusterAddResult, type ClusterDeleteResult } from '../../cluster/cluster-writer.js';
import { shardCounts, type ReplicasWait } from '../../cluster/replica-wait.js';
import type { TransactionApplied } from '../../cluster/write-transaction.js';
import type { FilterWarning } from '../../docstore/metadata-catalogue.js';
import type { CorpusWarning } from '../../indexer/corpus/types.js';
import { parseFilter } from '../../docstore/metadata-filter.js';
import { LOCK_WAIT_OPTION, corpusReadOptions, lockWait, readIdFile, type AddCliOptions } from './living-commands.js';
import { SKIP_INVALID_HELP, skippedNote, withCorpusOptions } from './index-commands.js';
import { PlaitError } from '../../errors/index.js';
import { withCorpusInput } from '../stdin-corpus.js';
import { parseIntArg, plural, printJson } from '../options.js';
import { natsCore } from '../../cluster/nats-modules.js';
import type { NatsConnection } from '@nats-io/transport-node';

interface PublishCliOptions {
  nats: string;
  shard?: number;
  json?: boolean;
  lockWaitS?: number;
}

async function withNats<T>(url: string, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  let nc;
  try {
    nc = await natsCore().connect({ servers: url, name: 'plait-cluster-files' });
  } catch (e) {
    // CLUSTER_UNAVAILABLE, as `plait serve --nats` says it (OFFLINE means PLAIT_OFFLINE forbade the network).
    throw new PlaitError('CLUSTER_UNAVAILABLE', { message: `cannot reach the NATS server at ${url}: ${(e as Error).message}`, url, reason: 'natsUnreachable' }, { cause: e });
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

/** Where a cluster delete landed: its write id and the last stream sequence per shard. */
function describeWrite(r: ClusterDeleteResult): string {
  return `${plural(r.writes, 'write')} acknowledged by the write logs of cluster ${r.cluster} (write ${r.write}; last sequence ${r.sequences.map((s) => `shard ${s.shard}: ${s.sequence}`).join(', ')})`;
}

/** What `plait cluster add` published: per shard its documents and its entries' sequence range (staged entries to the commit entry). */
function describeAdd(r: ClusterAddResult): string {
  const shards = r.published.map((s) => `shard ${s.shard}: ${plural(s.documents, 'document')}, sequences ${s.firstSequence}–${s.sequence}`).join('; ');
  return `published ${plural(r.documents, 'document')} to cluster ${r.cluster} as one write (${plural(r.writes, 'batch', 'batches')}, transaction ${r.transaction}), stored by its write logs: ${shards}${skippedNote(r.report.skipped)}`;
}

/** An add's counts on one replica. */
const addCounts = (t: TransactionApplied): string => `${t.added} added, ${t.replaced} replaced, ${t.unchanged} unchanged, ${t.deleted} deleted`;

/**
 * A delete's counts on one replica: deleted, its shard's ids not found, why its filter matched
 * nothing (its shard's FILTER_TYPE_MIXED is left out: the corpus's is said once, on stderr).
 */
const deleteCounts = (t: TransactionApplied): string => {
  const why = (t.filterWarnings ?? []).filter((w) => w.code !== 'FILTER_TYPE_MIXED');
  return `${t.deleted} deleted${t.notFound === undefined ? '' : `, ${t.notFound} not found`}${why.length === 0 ? '' : ` (filter: ${why.map((w) => `${w.message} [${w.code}]`).join('; ')})`}`;
};

/**
 * A waited add's METADATA_TYPE_MIXED, on stderr as plait add prints it: over the cluster, once a
 * field (every shard's counts summed: `r.metadataWarnings`; `--json` carries them there). When a
 * shard's counts did not come (a replica before them, or none answering), one line says the
 * cluster's types are unknown, then each shard's own, once per shard and field (from the shard's
 * first replica that counted it: replicas of a shard apply alike; `--json`: each replica's
 * `transaction.metadataWarnings`), which cannot see a field of numbers on one shard and strings on another.
 */
function warnMixedTypes(r: ClusterAddResult, w: ReplicasWait): void {
  for (const m of r.metadataWarnings ?? []) process.stderr.write(`plait: warning: ${m.message} [${m.code}]\n`);
  // A wait that ran out (TIMEOUT follows) sums nothing: what the shards that applied it said, as before.
  if (r.metadataTypesUnknown === undefined && w.complete) return;
  if (r.metadataTypesUnknown !== undefined) process.stderr.write(`plait: metadata field types over the cluster unknown (counts unknown from shard ${r.metadataTypesUnknown.join(', ')}: a replica restarted since, of a version before this, or not answering): a field mixed across shards is not said; each shard's own follow\n`);
  for (const s of w.shards) {
    const t = s.replicas.find((x) => x.transaction?.metadataWarnings !== undefined)?.transaction;
    for (const m of t?.metadataWarnings ?? []) process.stderr.write(`plait: warning: shard ${s.shard}: ${m.message} [${m.code}]\n`);
  }
}

/**
 * What the replicas did with it (`--wait`): per shard, each replica's counts, or how far it got.
 * `unknown`: why a replica that applied it may answer no counts.
 */
function describeReplicas(w: ReplicasWait, counts: (t: TransactionApplied) => string = addCounts, unknown = 'restarted since'): string {
  return w.shards
    .map((s) => {
      if (s.replicas.length === 0) return `shard ${s.shard}: no replica answered`;
      const each = s.replicas.map((x) => {
        const t = x.transaction;
        if (t === null) return x.applied !== null && x.applied >= s.sequence ? `replica ${x.pid} applied it (counts unknown: ${unknown})` : `replica ${x.pid} applied up to ${x.applied ?? 'no log'}, not ${s.sequence}`;
        if (t.refused !== undefined) return `replica ${x.pid} refused it (${t.refused})`;
        return `replica ${x.pid}: ${counts(t)}`;
      });
      return `shard ${s.shard}: ${each.join(', ')}`;
    })
    .join('; ');
}

/**
 * A waited delete's totals over the shards (`deleted 3 documents; 2 of the 5 ids found on no shard`);
 * null when a shard's counts are unknown.
 */
function deleteTotals(w: ReplicasWait, ids: number): string | null {
  const per = shardCounts(w);
  if (per.some((t) => t === undefined)) return null;
  const known = per as TransactionApplied[];
  const deleted = known.reduce((a, t) => a + t.deleted, 0);
  const notFound = known.reduce((a, t) => a + (t.notFound ?? 0), 0);
  return `deleted ${plural(deleted, 'document')}${ids === 0 ? '' : notFound === 0 ? `; all ${plural(ids, 'id')} found` : `; ${notFound} of the ${plural(ids, 'id')} found on no shard`}`;
}

/**
 * A cluster filter delete's warnings on stderr, as plait delete prints its own: why the filter
 * matched nothing on any shard (`counted`: said of the preview, taken before the delete), then each
 * field of several JSON types over the corpus that it compares (FILTER_TYPE_MIXED).
 */
function warnFilter(warnings: readonly FilterWarning[], counted: string): void {
  const why = warnings.filter((w) => w.code !== 'FILTER_TYPE_MIXED');
  if (why.length > 0) process.stderr.write(`plait: no document passes --filter on any shard${counted}${reasonsOf(why)}\n`);
  for (const w of warnings) if (w.code === 'FILTER_TYPE_MIXED') process.stderr.write(`plait: warning: ${w.message} [${w.code}]\n`);
}

/** `: <message> [CODE]; …` for a filter's reasons, as plait delete prints them (FILTER_NO_MATCH alone says nothing more: ''). */
function reasonsOf(warnings: readonly FilterWarning[]): string {
  const reasons = warnings.filter((x) => x.code !== 'FILTER_NO_MATCH');
  return reasons.length === 0 ? '' : `: ${reasons.map((x) => `${x.message} [${x.code}]`).join('; ')}`;
}

const QUIET_HELP = 'no progress output (this command prints only its result)';

/** Why a replica that applied a delete may answer no counts: restarted since, or it runs a version before tracked writes (write-log.ts TRACK_HEADER). */
const DELETE_COUNTS_UNKNOWN = 'restarted since, or a version before this';

/** `plait cluster delete --filter` without --wait, when a shard did not answer the filter's preview: what the filter matches is not known to the writer. */
const FILTER_UNKNOWN_WITHOUT_WAIT = 'what a filter matches is known to the replicas only, after this answer (a shard did not answer its count before the delete): --wait <s> prints what each deleted (and why a filter matched nothing)';

export function registerClusterWriteCommands(program: Command): void {
  const cluster = program.command('cluster').description('a sharded index on NATS: write to its logs, publish its shards to the object store, fetch one on another machine');
  const add = cluster
    .command('add')
    .description("add documents (upsert by id) to a cluster: encoded here with the cluster's model, published to the shards' write logs as one transaction (every replica applies its shard's part of the whole input in one commit, or nothing of it; a refused input publishes nothing)")
    .argument('<name>', 'the sharded index folder (as given or under the index home), or the name of a published cluster')
    .argument('<input>', 'corpus file or folder (the formats of plait index), or - for standard input (read whole first; its format: --format, else its first line)')
    .requiredOption('--nats <url>', 'NATS server URL')
    .option('--skip-invalid', SKIP_INVALID_HELP)
    .option('--wait <s>', 'after the write is stored, wait up to this many seconds for every replica answering to apply it, and print what each did (added, replaced, unchanged, deleted); TIMEOUT (exit 1) when they had not, the write stored all the same (default: none, answer once the write logs stored it)', parseIntArg('wait', 1));
  withCorpusOptions(add)
    .option('-q, --quiet', QUIET_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, input: string, o: Omit<AddCliOptions, 'replace'> & { nats: string; wait?: number }) => {
      if (input !== '-' && !existsSync(input)) throw new PlaitError('FILE_NOT_FOUND', { message: `no corpus at ${input}`, path: input });
      const { wait, ...read } = o;
      // `-`: standard input, read whole before NATS is reached and anything is published (stdin-corpus.ts), as plait add reads it.
      // The corpus's warnings (ignored fields, untyped CSV columns, unread files) on stderr, as plait add prints them (--json: report).
      const r = await withCorpusInput(input, 'plait cluster add', (path, shown) =>
        withNats(o.nats, (nc) => addCorpusToCluster(nc, findClusterRoot(name) ?? name, path, {
          ...corpusReadOptions(read),
          ...(wait === undefined ? {} : { waitMs: wait * 1000 }),
          ...(o.json ? {} : { onWarning: (w: CorpusWarning) => process.stderr.write(`plait: warning: ${shown(w.message)}\n`) }),
        })),
      );
      if (o.json) printJson(r);
      else process.stdout.write(`${describeAdd(r)}${r.replicas === undefined ? '' : `\nreplicas: ${describeReplicas(r.replicas)}`}\n`);
      if (r.replicas !== undefined && !o.json) warnMixedTypes(r, r.replicas);
      if (r.replicas !== undefined && !r.replicas.complete) {
        throw new PlaitError('TIMEOUT', {
          message: `the write is stored in the write logs (transaction ${r.transaction}), but not every replica had applied it within ${wait} s: ${describeReplicas(r.replicas)}`,
          transaction: r.transaction,
          sequences: r.sequences,
        });
      }
    });
  cluster
    .command('delete')
    .description("delete documents from a cluster by id (routed to their shards) and/or metadata filter (every shard), through the write logs")
    .argument('<name>', 'the sharded index folder (as given or under the index home), or the name of a published cluster')
    .requiredOption('--nats <url>', 'NATS server URL')
    .option('--ids <file>', 'file with one document id a line (- reads them from standard input)')
    .option('--filter <json>', 'delete every document whose metadata match this filter (the syntax of plait search --filter)')
    .option('--wait <s>', 'after the delete is stored, wait up to this many seconds for every replica answering to apply it, and print what each did (deleted, ids not found, why a filter matched nothing); TIMEOUT (exit 1) when they had not, the delete stored all the same (default: none, answer once the write logs stored it)', parseIntArg('wait', 1))
    .option('-q, --quiet', QUIET_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: { nats: string; ids?: string; filter?: string; wait?: number; quiet?: boolean; json?: boolean }) => {
      if (o.ids === undefined && o.filter === undefined) throw new PlaitError('USAGE', { message: 'give --ids <file> and/or --filter <json>', reason: 'missingArgument' });
      const ids = o.ids === undefined ? [] : await readIdFile(o.ids, `plait cluster delete ${name} --nats ${o.nats}`);
      const filter = o.filter === undefined ? undefined : parseFilter(o.filter);
      const wait = o.wait;
      const r = await withNats(o.nats, (nc) => deleteFromCluster(nc, findClusterRoot(name) ?? name, { ids, ...(filter === undefined ? {} : { filter }) }, wait === undefined ? {} : { waitMs: wait * 1000 }));
      const replicas = r.replicas;
      const totals = replicas === undefined ? null : deleteTotals(replicas, ids.length);
      if (o.json) printJson(r);
      else {
        process.stdout.write(
          `sent ${plural(r.documents, 'id')}${filter === undefined ? '' : ' and a filter'} for deletion: ${describeWrite(r)}\n` +
            (replicas === undefined ? '' : `replicas: ${describeReplicas(replicas, deleteCounts, DELETE_COUNTS_UNKNOWN)}\n`) +
            (r.filterPreview?.matches == null || r.filterPreview.matches === 0 ? '' : `the filter matched ${plural(r.filterPreview.matches, 'document')} before the delete (${r.filterPreview.shards.map((x) => `shard ${x.shard}: ${x.matches}`).join(', ')}); each replica deletes them as it applies the write (--wait <s> waits for that)\n`) +
            (totals === null ? '' : `${totals}\n`),
        );
      }
      // A filter that matched nothing says why, as plait delete does (a typo, a number where text is stored),
      // and one comparing a field of several JSON types over the corpus says which values it cannot take:
      // with --wait from the replicas' own counts; without, from the count a replica per shard made before
      // the delete was published — and when a shard could not answer, that only --wait tells.
      const preview = r.filterPreview;
      warnFilter(r.filterWarnings ?? [], preview === undefined ? '' : ' (counted before the delete)');
      if (preview !== undefined && preview.matches === null && o.quiet !== true) process.stderr.write(`plait: ${FILTER_UNKNOWN_WITHOUT_WAIT}\n`);
      if (replicas !== undefined && !replicas.complete) {
        throw new PlaitError('TIMEOUT', {
          message: `the delete is stored in the write logs (write ${r.write}), but not every replica had applied it within ${wait} s: ${describeReplicas(replicas, deleteCounts, DELETE_COUNTS_UNKNOWN)}`,
          write: r.write,
          sequences: r.sequences,
        });
      }
    });
  cluster
    .command('publish')
    .description("upload the shards' committed files (and cluster.json) to the cluster's JetStream object store; unchanged files are not uploaded again")
    .argument('<name>', 'the sharded index folder, as given or under the index home (its cluster.json names the cluster)')
    .requiredOption('--nats <url>', 'NATS server URL, e.g. nats://127.0.0.1:4222')
    .option('--shard <i>', 'publish only this shard', parseIntArg('shard', 0))
    .option(...LOCK_WAIT_OPTION)
    .option('-q, --quiet', QUIET_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: PublishCliOptions) => {
      // A shard whose store is changed in place is copied under its write lock: wait for it as add and delete do.
      const r = await withNats(o.nats, (nc) => publishCluster(nc, findClusterRoot(name) ?? name, o.shard === undefined ? undefined : [o.shard], lockWait(o)));
      if (o.json) return printJson(r);
      process.stdout.write(`published cluster ${r.cluster}: ${r.shards.map((s) => describe(s, 'uploaded')).join('; ')}\n`);
    });
  cluster
    .command('fetch')
    .description('download one published shard into <name>/shard-<i> (an empty or new folder; the manifest is written last)')
    .argument('<name>', 'the sharded index folder to fetch into (its cluster.json names the cluster; a new folder\'s name does)')
    .requiredOption('--shard <i>', 'the shard to fetch', parseIntArg('shard', 0))
    .requiredOption('--nats <url>', 'NATS server URL')
    .option('-q, --quiet', QUIET_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: PublishCliOptions & { shard: number }) => {
      const r = await withNats(o.nats, (nc) => fetchClusterShard(nc, findClusterRoot(name) ?? name, o.shard));
      if (o.json) return printJson(r);
      process.stdout.write(`fetched cluster ${r.cluster} ${describe(r, 'downloaded')}\n`);
    });
}
