/**
 * Per-shard metrics of a coordinator, on the server's registry (so `/metrics` shows them beside
 * the HTTP ones): latency of each answered request, attempts that timed out or found no replica,
 * shards missing from answers, the replicas each shard had at the last count, and whether NATS is
 * reachable at all.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class ClusterMetrics {
  readonly latency: Histogram<'shard' | 'verb'>;
  readonly timeouts: Counter<'shard' | 'verb'>;
  readonly noResponders: Counter<'shard' | 'verb'>;
  readonly missing: Counter<'shard'>;
  readonly replicas: Gauge<'shard'>;
  readonly streamLag: Gauge<'shard'>;
  readonly natsConnected: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.latency = new Histogram({ name: 'plait_cluster_shard_request_seconds', help: 'Time from asking a shard to its answer (retries included), by shard and verb', labelNames: ['shard', 'verb'], buckets: BUCKETS, registers });
    this.timeouts = new Counter({ name: 'plait_cluster_shard_timeouts_total', help: 'Attempts on a shard that got no answer in time (then retried on another replica while the deadline allowed)', labelNames: ['shard', 'verb'], registers });
    this.noResponders = new Counter({ name: 'plait_cluster_shard_no_responders_total', help: 'Attempts that found no live replica of the shard', labelNames: ['shard', 'verb'], registers });
    this.missing = new Counter({ name: 'plait_cluster_shard_missing_total', help: 'Queries answered degraded without this shard', labelNames: ['shard'], registers });
    this.replicas = new Gauge({ name: 'plait_cluster_replicas_seen', help: 'Replicas of the shard that answered the last ping', labelNames: ['shard'], registers });
    this.streamLag = new Gauge({ name: 'plait_cluster_stream_lag', help: "Writes in the shard's write log that its slowest live replica has not applied yet (last stream sequence − lowest applied), at the last ping", labelNames: ['shard'], registers });
    this.natsConnected = new Gauge({ name: 'plait_cluster_nats_connected', help: 'Whether the coordinator is connected to the NATS server (1) or reconnecting (0): while 0 no shard can answer', registers });
    this.natsConnected.set(1);
  }
}
