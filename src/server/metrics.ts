/**
 * Prometheus metrics for one server instance, on its own registry (no prom-client global state, so
 * two servers in one process — tests — count separately). Names follow Prometheus conventions:
 * `_total` counters (and only counters), `_seconds` for durations, base units (seconds, bytes),
 * never `_ms`; test/metrics-names.test.ts checks every family this file and the cluster's declare,
 * and test/server-operations.test.ts a real server's /metrics, line by line. prom-client's
 * default families keep their standard, unprefixed names (a few of them, such as the gauge
 * `nodejs_active_handles_total`, break the `_total` rule, but dashboards query them by those names).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SERVER_DEFAULTS } from '../config/defaults.js';

/**
 * Latency buckets (seconds): 1 ms up to the longest deadline a request may ask for, dense around the
 * 10–100 ms the server aims for. They had stopped at 30 s while writes run to 120 s by default
 * (SERVER_DEFAULTS.writeTimeoutMs) and any request to 300 s (maxTimeoutMs): every slower request
 * fell in +Inf alone, and histogram_quantile put a 100 s write's p99 at 30 s.
 */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, SERVER_DEFAULTS.writeTimeoutMs / 1000, SERVER_DEFAULTS.maxTimeoutMs / 1000];

export interface GaugeSources {
  inFlight: () => number;
  queued: () => number;
  /** Estimated document tokens of the admitted requests (admission's token budget in use). */
  tokensInFlight: () => number;
  /** Admission's drain rate: ms per estimated document token (its prior until requests with tokens have completed). */
  tokenDrainMs?: () => number;
  /** Admission's busy time: wall ms with document-token work in flight, summed over the server's life. */
  tokenBusyMs?: () => number;
  /** Admission's budget occupancy: ∫ min(tokens in flight, budget) ÷ budget dt, ms. */
  tokenBudgetMs?: () => number;
  caches: () => { name: string; bytes: number; entries: number }[];
  rerankCachedDocuments: () => { model: string; documents: number }[];
  /** Scoring worker threads of each served index (0: it scores on the serving thread). */
  scoringWorkers?: () => { index: string; workers: number }[];
  /** Each served index's generation (manifest.generation: 0 for the build, one more per commit) and live documents. */
  indexes?: () => { index: string; generation: number; documents: number }[];
  /** Circuit breakers of the served cross-encoders (pipelines' cross stage). */
  breakers?: () => { model: string; state: 'closed' | 'open' | 'half-open' }[];
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly duration: Histogram<'route'>;
  readonly stage: Histogram<'index' | 'stage'>;
  readonly shed: Counter<'route'>;
  readonly timedOut: Counter<'route'>;
  readonly clientClosed: Counter<'route'>;
  /** Open client connections (app.ts counts them against --max-connections). */
  readonly openConnections: Gauge;
  readonly cacheHits: Counter<'cache'>;
  readonly cacheMisses: Counter<'cache'>;
  readonly encoderBusy: Counter<'model'>;
  readonly encoderInFlight: Gauge<'model'>;
  readonly scoringBusy: Counter<'index'>;
  readonly scoringInFlight: Gauge<'index'>;
  readonly unknownText: Counter<'text' | 'route'>;
  readonly queryRewrites: Counter<'index' | 'kind'>;

  constructor(sources: GaugeSources, defaultMetrics = true) {
    const registers = [this.registry];
    // prom-client's process and Node.js families under their standard names (process_cpu_seconds_total,
    // process_resident_memory_bytes, nodejs_heap_size_used_bytes, nodejs_eventloop_lag_seconds, …), which
    // node_exporter-style dashboards and alerts query by name; a `plait_` prefix had renamed them all
    // (plait_process_cpu_seconds_total), so those panels showed nothing. A job label tells plait apart.
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'plait_http_requests_total', help: 'HTTP requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers });
    this.duration = new Histogram({ name: 'plait_http_request_duration_seconds', help: 'Time from request to reply, by route', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers });
    this.stage = new Histogram({
      name: 'plait_search_stage_seconds',
      help: 'Time per search stage (encode, late, bm25, fusion; PLAID: candidates, prune, interaction, exact), per query',
      labelNames: ['index', 'stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.shed = new Counter({ name: 'plait_requests_shed_total', help: 'Requests refused with 503 OVERLOADED by admission control', labelNames: ['route'], registers });
    this.timedOut = new Counter({ name: 'plait_requests_timed_out_total', help: 'Requests answered 504 TIMEOUT (deadline passed while queued or working)', labelNames: ['route'], registers });
    this.clientClosed = new Counter({
      name: 'plait_requests_client_closed_total',
      help: 'Requests whose client closed the connection before the answer (their work stopped; a write committed nothing unless its commit had begun)',
      labelNames: ['route'],
      registers,
    });
    this.cacheHits = new Counter({ name: 'plait_cache_hits_total', help: 'Cache hits (result: search results; query: query embeddings)', labelNames: ['cache'], registers });
    this.cacheMisses = new Counter({ name: 'plait_cache_misses_total', help: 'Cache misses', labelNames: ['cache'], registers });
    this.encoderBusy = new Counter({ name: 'plait_encoder_busy_seconds_total', help: 'Summed duration of encode calls, per model (its rate approximates busy encoder threads)', labelNames: ['model'], registers });
    this.openConnections = new Gauge({ name: 'plait_http_open_connections', help: 'Open client connections; past --max-connections their requests are answered 503 OVERLOADED (shed, route as asked)', registers });
    this.encoderInFlight = new Gauge({ name: 'plait_encoder_calls_in_flight', help: 'Encode calls in flight, per model', labelNames: ['model'], registers });
    this.scoringBusy = new Counter({ name: 'plait_scoring_busy_seconds_total', help: 'Summed duration of scoring calls, per index (its rate approximates busy scoring workers)', labelNames: ['index'], registers });
    this.scoringInFlight = new Gauge({ name: 'plait_scoring_calls_in_flight', help: 'Scoring calls in flight, per index', labelNames: ['index'], registers });
    this.unknownText = new Counter({
      name: 'plait_unknown_text_total',
      help: 'Queries and documents answered with a MOSTLY_UNKNOWN_TOKENS warning (most content tokens unknown to the model), by text (query, document) and route',
      labelNames: ['text', 'route'],
      registers,
    });
    // Rewrites by kind, never their words (queries stay out of logs and metrics): how often spelling
    // changes what users typed, whether synonyms fire at all.
    this.queryRewrites = new Counter({
      name: 'plait_query_rewrites_total',
      help: 'Queries searched as rewritten, by index and kind (spelling, synonym, rm3, prf; a query with two kinds counts once in each)',
      labelNames: ['index', 'kind'],
      registers,
    });
    new Gauge({ name: 'plait_admission_in_flight', help: 'Requests holding an admission slot', registers, collect() { this.set(sources.inFlight()); } });
    new Gauge({ name: 'plait_admission_queue_depth', help: 'Requests waiting for an admission slot', registers, collect() { this.set(sources.queued()); } });
    new Gauge({ name: 'plait_admission_tokens_in_flight', help: 'Estimated document tokens being encoded by admitted requests (against --max-in-flight-tokens)', registers, collect() { this.set(sources.tokensInFlight()); } });
    const drain = sources.tokenDrainMs;
    // Seconds, Prometheus' base unit (it had been `plait_admission_token_drain_ms`, the one family
    // of this file named in another unit; test/metrics-names.test.ts holds every family to the rules).
    if (drain !== undefined) new Gauge({ name: 'plait_admission_token_drain_seconds', help: 'Admission\'s drain rate: seconds of time with token work in flight per estimated document token completed (the expected wait of a request for tokens is the tokens ahead of it times this)', registers, collect() { this.set(drain() / 1000); } });
    const busyMs = sources.tokenBusyMs;
    if (busyMs !== undefined)
      new Counter({
        name: 'plait_admission_token_busy_seconds_total',
        help: 'Wall time with document-token work admitted and in flight (its rate is the share of time the encoder had token work; 1 − rate under overload is encoder time lost to refusals)',
        registers,
        collect() {
          this.reset();
          this.inc(busyMs() / 1000);
        },
      });
    const budgetMs = sources.tokenBudgetMs;
    if (budgetMs !== undefined)
      new Counter({
        name: 'plait_admission_token_budget_seconds_total',
        help: 'Seconds of the whole token budget in use: the integral of min(tokens in flight, --max-in-flight-tokens) / --max-in-flight-tokens (its rate is the budget\'s occupancy; a small rerank alone uses a tenth of it)',
        registers,
        collect() {
          this.reset();
          this.inc(budgetMs() / 1000);
        },
      });
    new Gauge({
      name: 'plait_cache_bytes',
      help: 'Bytes held by each cache',
      labelNames: ['cache'],
      registers,
      collect() {
        for (const c of sources.caches()) this.set({ cache: c.name }, c.bytes);
      },
    });
    new Gauge({
      name: 'plait_cache_entries',
      help: 'Entries held by each cache',
      labelNames: ['cache'],
      registers,
      collect() {
        for (const c of sources.caches()) this.set({ cache: c.name }, c.entries);
      },
    });
    new Gauge({
      name: 'plait_rerank_cached_documents',
      help: "Document embeddings in each reranker's LRU cache",
      labelNames: ['model'],
      registers,
      collect() {
        for (const r of sources.rerankCachedDocuments()) this.set({ model: r.model }, r.documents);
      },
    });
    const scoringWorkers = sources.scoringWorkers;
    if (scoringWorkers !== undefined) {
      new Gauge({
        name: 'plait_scoring_workers',
        help: 'Scoring worker threads per served index (--workers resolved: auto is one per core, at most 4; 0: the serving thread scores)',
        labelNames: ['index'],
        registers,
        collect() {
          for (const w of scoringWorkers()) this.set({ index: w.index }, w.workers);
        },
      });
    }
    const indexes = sources.indexes;
    if (indexes !== undefined) {
      // What an operator alerts on after a write or a `plait add` from another process: did the
      // served generation move, and does every replica serve the same one.
      new Gauge({
        name: 'plait_index_generation',
        help: 'Generation each served index answers from (0: as built; each commit adds one; the server switches within a second of a commit by any process)',
        labelNames: ['index'],
        registers,
        collect() {
          for (const i of indexes()) this.set({ index: i.index }, i.generation);
        },
      });
      new Gauge({
        name: 'plait_index_documents',
        help: 'Live documents in the generation each served index answers from (deleted ones not counted)',
        labelNames: ['index'],
        registers,
        collect() {
          for (const i of indexes()) this.set({ index: i.index }, i.documents);
        },
      });
    }
    const breakers = sources.breakers;
    if (breakers !== undefined) {
      new Gauge({
        name: 'plait_circuit_breaker_state',
        help: "State of each served cross-encoder's circuit breaker (pipelines' cross stage): 0 closed, 1 half-open, 2 open",
        labelNames: ['model'],
        registers,
        collect() {
          for (const b of breakers()) this.set({ model: b.model }, b.state === 'closed' ? 0 : b.state === 'half-open' ? 1 : 2);
        },
      });
    }
  }

  /** Runs `work`, counting it as busy time of `counter`/`gauge` under `label`. */
  async track<T>(busy: Counter<string>, inFlight: Gauge<string>, labels: Record<string, string>, work: () => Promise<T>): Promise<T> {
    const t = performance.now();
    inFlight.inc(labels);
    try {
      return await work();
    } finally {
      inFlight.dec(labels);
      busy.inc(labels, (performance.now() - t) / 1000);
    }
  }
}
