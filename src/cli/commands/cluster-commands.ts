/**
 * The cluster's commands (issue 24): `plait index … --shards <n>` (a sharded build), `plait serve
 * <index>/shard-<i> --nats <url>` (a replica, HTTP too when --port is given) and `plait serve --nats
 * <url> --coordinate <name>` (the coordinator's HTTP API). Both serve modes log JSON lines on stdout
 * ("ready" once joined) and leave on SIGTERM/SIGINT: the replica leaves its queue group first, so
 * NATS sends its share of requests to the other replicas.
 */
import { warnLtrModelIndexes } from '../open-index.js';
import { warnOpenPort } from '../open-port.js';
import { buildShardedIndex, type ShardedBuildResult } from '../../cluster/sharded-build.js';
import { ShardReplica, closeNats, natsConnect, shardOfFolder } from '../../cluster/shard-replica.js';
import { findClusterRoot, resolveShardPath } from '../../cluster/cluster-manifest.js';
import { fetchClusterShard } from '../../cluster/shard-files.js';
import { MANIFEST_FILE } from '../../format/manifest.js';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LogApplier } from '../../cluster/log-applier.js';
import { openIndex, type PlaitIndex } from '../../search/plait-index.js';
import type { BuildOptions } from '../../indexer/build-index.js';
import { closeOnSignals, openEngine, serveEngine, type RunningServer } from '../../server/lifecycle.js';
import { resolveServerOptions, type ServerOptions } from '../../server/options.js';
import { clusterNameOf, openCoordinatorEngine, watchNats } from '../../server/coordinator-engine.js';
import { checkListenAddress } from '../../server/lifecycle.js';
import { PlaitError, isPlaitError } from '../../errors/index.js';
import type { ProgressReporter } from '../progress.js';
import { plural, printJson } from '../options.js';
import { drainingLine, endServe, exitCleanlyOnSignals } from '../interrupt.js';
import { withHint } from '../report-error.js';
import { describeSkipped, skipInvalidApplies } from './index-commands.js';

/** `plait index <corpus> --index <name> --shards <n>`: the build, its progress, and a summary line (or JSON). */
export async function runShardedCliBuild(input: string, options: Omit<BuildOptions, 'onProgress'>, shards: number, ui: { progress: ProgressReporter; json: boolean; quiet: boolean }): Promise<ShardedBuildResult> {
  const restore = exitCleanlyOnSignals(ui.progress, ui.json);
  let result: ShardedBuildResult;
  try {
    result = await buildShardedIndex(input, { ...options, shards, onProgress: (p) => ui.progress.update(p.phase, p.done, p.total, p.elapsedMs) });
  } catch (err) {
    if (skipInvalidApplies(err, options.skipInvalid)) throw withHint(err, 'add --skip-invalid to skip such documents and report their counts by reason');
    throw err;
  } finally {
    ui.progress.done();
    restore();
  }
  const { cluster, path } = result;
  // The build clamps a count past the corpus's documents (shardCountFor): say so.
  if (cluster.shards < result.requestedShards) {
    process.stderr.write(`plait: warning: --shards ${result.requestedShards} but the corpus has ${plural(cluster.shards, 'document')}: built ${plural(cluster.shards, 'shard')} instead (more would be empty; documents go to shards by a hash of their id, so a few may still be)\n`);
  }
  if (ui.json) {
    printJson({ path, cluster, requestedShards: result.requestedShards, counts: result.shards.map((m) => m.counts), ...(result.metadataWarnings === undefined ? {} : { metadataWarnings: result.metadataWarnings }) });
    return result;
  }
  // A field the corpus holds with several JSON types, over all shards (docstore/metadata-types.ts): built, and said as plait index says it.
  for (const w of result.metadataWarnings ?? []) process.stderr.write(`plait: warning: ${w.message} [${w.code}]\n`);
  const skipped = describeSkipped(result.shards[0]?.skipped);
  const perShard = cluster.shardInfo.map((s, i) => `shard ${i}: ${plural(s.documents, 'document')}`).join(', ');
  process.stdout.write(`indexed ${plural(cluster.shardInfo.reduce((a, s) => a + s.documents, 0), 'document')} into ${plural(cluster.shards, 'shard')} under ${path} (${perShard}; one codebook of ${plural(result.shards[0]!.counts.centroids, 'centroid')})${skipped === '' ? '' : `; skipped ${skipped}`}\n`);
  return result;
}

export interface ClusterServeOptions {
  nats: string;
  coordinate?: string;
  /** Whether --port was given (a replica serves HTTP only then). */
  http: boolean;
}

/** What a coordinator or replica prints when it loses NATS and when it is back (it had said nothing: trial 12c). */
function natsStatusLine(url: string, meanwhile: string): (event: 'disconnected' | 'reconnected') => void {
  return (event) =>
    process.stderr.write(event === 'disconnected' ? `plait: lost the NATS server at ${url}, reconnecting: ${meanwhile}\n` : `plait: reconnected to the NATS server at ${url}\n`);
}

/** The serve command's cluster modes: a replica of `indexes[0]`, or the coordinator of `o.coordinate`. */
export async function runClusterServe(indexes: string[], server: ServerOptions, o: ClusterServeOptions): Promise<void> {
  if (o.coordinate !== undefined) {
    if (indexes.length > 0) throw new PlaitError('USAGE', { message: '--coordinate serves a cluster: give no index paths with it', reason: 'conflictingArguments' });
    const resolved = resolveServerOptions(server);
    await checkListenAddress(resolved.host, resolved.port);
    // Said before NATS is reached, as the address is known: the coordinator's path had not said it.
    warnOpenPort(resolved.host, resolved.apiKey);
    const target = findClusterRoot(o.coordinate) ?? o.coordinate; // indexes/<name> too, where a sharded build of a bare name goes
    const { engine, writes } = await openCoordinatorEngine(target, resolved, { servers: o.nats, onNatsStatus: natsStatusLine(o.nats, 'searches answer 503 CLUSTER_UNAVAILABLE, /ready 503, and writes fail (TIMEOUT) until it is back') });
    const running = await serveEngine(engine, { clusterWrites: writes });
    const name = clusterNameOf(target); // the name in the API's paths, not the folder given
    warnLtrModelIndexes(running.engine);
    running.app.log.info({ url: running.url, cluster: name, nats: o.nats, apiKeys: running.engine.options.apiKeys.length }, 'ready');
    process.stderr.write(`plait: coordinating cluster ${name} on ${running.url} (NATS ${o.nats}); Ctrl-C stops\n`);
    await untilSignal(running, async () => {});
    return;
  }
  if (indexes.length !== 1) throw new PlaitError('USAGE', { message: 'a replica serves one shard: plait serve <index>/shard-<i> --nats <url>', reason: 'conflictingArguments' });
  // <cluster>/shard-<i> as given, or under the index home (where `plait index … --index <name> --shards <n>` builds).
  const shardPath = resolveShardPath(indexes[0]!);
  await fetchIfEmpty(shardPath, o.nats);
  const where = shardOfFolder(shardPath); // a clear refusal before the index is opened
  let running: RunningServer | null = null;
  let index: PlaitIndex;
  if (o.http) {
    // startServer's steps, with the document routes refusing writes that would bypass the shard's log.
    const resolved = resolveServerOptions(server);
    await checkListenAddress(resolved.host, resolved.port);
    running = await serveEngine(await openEngine([shardPath], resolved), { shardReplica: { cluster: where.cluster, shard: where.shard } });
    index = running.engine.plaitIndex([...running.engine.indexes.values()][0]!);
  } else {
    index = await openIndex(shardPath, { workers: resolveServerOptions(server).scoringWorkers });
  }
  let replica: ShardReplica;
  let applier: LogApplier;
  try {
    replica = await ShardReplica.start(index, { servers: o.nats });
    // The shard's write log, applied in order from where this folder stopped (the write side's
    // LogApplier); each commit is served before read-your-writes waits see its sequence.
    const r = replica;
    applier = await LogApplier.start(index.path, {
      nc: r.nc,
      cluster: r.subjects.cluster,
      shard: r.shard,
      afterCommit: async (c) => {
        // A write acknowledged at its log append cannot carry the warning back: the replica's log says it (docstore/metadata-types.ts).
        for (const w of c.result.metadataWarnings ?? []) process.stderr.write(`plait: shard ${r.shard}: warning: write at sequence ${c.lastSequence}: ${w.message} [${w.code}]\n`);
        await index.refresh();
      },
      onRejected: (e) => process.stderr.write(`plait: shard ${r.shard}: write at sequence ${e.sequence} refused by every replica and skipped: ${e.error.message}\n`),
      onError: (e) => process.stderr.write(`plait: shard ${r.shard}: applying the write log failed (retrying): ${e instanceof Error ? e.message : String(e)}\n`),
    }).catch(async (err: unknown) => {
      await r.close();
      throw err;
    });
    replica.attachLog(applier);
    watchNats(replica.nc, natsStatusLine(o.nats, 'this replica answers no search and applies no write until it is back'));
  } catch (err) {
    if (running !== null) await running.close();
    else await index.close();
    throw err;
  }
  const ready = { msg: 'ready', shard: replica.shard, shards: replica.shards, cluster: replica.subjects.cluster, nats: o.nats, pid: process.pid, ...(running === null ? {} : { url: running.url }) };
  if (running !== null) warnOpenPort(running.engine.options.host, running.engine.options.apiKey);
  if (running !== null) running.app.log.info(ready, 'ready');
  else process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), ...ready })}\n`);
  process.stderr.write(`plait: replica of shard ${replica.shard}/${replica.shards} of cluster ${replica.subjects.cluster} on NATS ${o.nats}${running === null ? '' : `; HTTP ${running.url}`}; Ctrl-C stops\n`);
  const leave = async (): Promise<void> => {
    await applier.stop();
    await replica.close();
    if (running === null) await index.close();
  };
  if (running !== null) {
    await untilSignal(running, leave);
    return;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      leave().then(resolve, () => {
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * A replica that starts on an empty machine: when `<root>/shard-<i>` holds no index yet, its files
 * (and cluster.json) are fetched from the cluster's object store (`plait cluster publish`), and the
 * log applier then replays the writes made since that publish.
 */
async function fetchIfEmpty(path: string, servers: string): Promise<void> {
  const m = /^shard-(\d+)$/.exec(basename(path));
  if (m === null || existsSync(join(path, MANIFEST_FILE))) return;
  const nc = await natsConnect(servers, 'plait-fetch');
  try {
    const r = await fetchClusterShard(nc, dirname(path), Number(m[1]));
    process.stderr.write(`plait: fetched shard ${m[1]} of cluster ${r.cluster} from the object store into ${path}\n`);
  } finally {
    await closeNats(nc);
  }
}

/** Waits for SIGTERM/SIGINT, runs `before` (leave NATS), then drains and closes the HTTP server. */
function untilSignal(running: RunningServer, before: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const closing = running.close.bind(running);
    running.close = async () => {
      await before().catch(() => {});
      return closing();
    };
    const remove = closeOnSignals(
      running,
      (code, signal) => {
        remove();
        resolve();
        endServe(code, signal);
      },
      (signal) => process.stderr.write(drainingLine(signal, running.engine.options.drainTimeoutMs, running.engine.options.shutdownDelayMs)),
    );
  });
}
