/**
 * Every numeric default of plait, in one place, each with the reason for its value.
 * Options objects (`XOptions`) are resolved against these; nothing else hard-codes a number.
 */
import { checkNumber } from '../errors/index.js';

/** Encoder defaults (ColBERT conventions unless noted). */
export const ENCODER_DEFAULTS = {
  /** ColBERT's query_maxlen: queries are padded with [MASK] to exactly this many tokens. */
  queryMaxlen: 32,
  /** ColBERT's doc_maxlen for colbertv2.0 checkpoints; overridden by the checkpoint's config. */
  docMaxlen: 180,
  /** Texts per ONNX run: large enough to amortise session overhead, small enough to bound padding memory. */
  batchSize: 32,
  /**
   * Encoder worker threads when none are asked for: one per core, at most this many. onnxruntime's
   * `run` and TF.js-wasm block their thread, so encoding runs in workers; beyond 4 the encoders
   * contend for memory bandwidth. Everywhere in plait, `threads: 0` / `workers: 0` means "no worker
   * threads: run on the calling thread", never "auto"; leaving the option out means auto.
   */
  maxAutoThreads: 4,
  /**
   * onnxruntime intra-op threads when encoding in-process (threads: 0): 1, the caller's own thread.
   * With worker threads the default is ⌊cores / workers⌋ (resolveEncoderOptions), so that
   * workers × intra-op threads fits the machine: parallelism comes from the workers first.
   */
  intraOpNumThreads: 1,
  /** Longest text accepted, in UTF-16 code units (1 MiB of text); longer input is refused, not silently cut. */
  maxTextLength: 1 << 20,
} as const;

/** The bundled Universal Sentence Encoder-lite model. */
export const USE_LITE_DEFAULTS = {
  /** Hidden size of its transformer states. */
  dim: 512,
  /** The model was trained on sequences clipped at 128 tokens. */
  maxTokens: 128,
} as const;

/** Hub download defaults. */
export const HUB_DEFAULTS = {
  /** Per-request socket timeout; long enough for a slow mirror, short enough to fail visibly. */
  timeoutMs: 60_000,
  /** Retries for a dropped connection; each retry resumes with a Range request. */
  retries: 3,
} as const;

/** Index build defaults (ColBERTv2). */
export const BUILD_DEFAULTS = {
  /** Residual bits per dimension: ColBERTv2's default, 32 bytes of residual per 128-d token. */
  nbits: 2,
  /**
   * k-means iterations, at every sample size: ColBERT's `kmeans_niters` (4). Each iteration is a full
   * nearest-centroid pass over the sample (n × K × dim multiply-adds), a small corpus's largest CPU
   * cost. Until 2026-12 samples under 200k vectors ran 10 ("small corpora converge better"); measured
   * (bundled model, 2026-12-08), 4 against 10 moved nDCG@10 of exhaustive, PLAID and hybrid search by
   * at most 0.0019 either way, none significant (paired randomisation p ≥ 0.08), on cisi's first 300
   * documents (81k sample vectors) and whole cranfield, and PLAID kept 100% of the exhaustive top-10
   * at both; 10 cost 2.3–2.6× the k-means CPU (cisi 300: build 51 → 31 CPU-s; cranfield 355 → 212).
   * Table and how to re-measure (`node dist/bench/kmeans-iters.js <beir-folder> 4,6,10`):
   * bench/RESULTS.md, "k-means iterations".
   */
  kmeansIters: 4,
  /** k-means seed, so that a build is deterministic. */
  seed: 12345,
  /** Passages encoded and written per chunk: bounds memory independently of the corpus size. */
  chunkSize: 4096,
  /** Share of sampled vectors held out to fit the residual bucket cutoffs and weights (ColBERT: 5%). */
  heldoutFraction: 0.05,
  /** Cap on held-out vectors: quantiles are stable long before this. */
  heldoutMax: 50_000,
  /** Split long documents into overlapping windows; stride is this fraction of the window (128→96). */
  splitStrideFraction: 0.75,
  /**
   * Cap on the vectors k-means trains on. ColBERT trains on every vector of its passage sample (on a
   * GPU); on a CPU, 4 iterations over 2^20 vectors × 16k centroids × 512 d take ~10 minutes on 2 cores,
   * 2^18 about 2.5. The residual codec corrects centroid error, so the cap costs little.
   */
  kmeansMaxSample: 1 << 18,
} as const;

/** Search defaults (ColBERT/PLAID), chosen by k as in stanford-futuredata/ColBERT. */
export const SEARCH_DEFAULTS = {
  topK: 10,
  /** Late-interaction weight in min-max hybrid fusion: α = 0.3 was best on cranfield (bundled model). */
  hybridAlpha: 0.3,
  /** RRF constant, the usual 60 (Cormack et al. 2009). */
  rrfK: 60,
  /** How deep each ranker's list goes before fusion, at least this many or 4·topK. */
  hybridDepth: 100,
  /** Requests above this many queries in one batch are refused (server and library). */
  maxBatchQueries: 1024,
  /** Largest topK accepted. */
  maxTopK: 10_000,
  /**
   * Deepest result a page may reach: offset + topK must not pass it. A page at offset o is the slice
   * [o, o + topK) of the ranking for k = o + topK (PLAID's settings, hybrid's fusion depth and the
   * exact stage all sized for that k), so a deep page costs what a search that deep costs; the
   * window bounds it as maxTopK bounds one page (Elasticsearch's index.max_result_window is the
   * same 10,000). Equal to maxTopK: page n reaches exactly as deep as one search may.
   */
  maxResultWindow: 10_000,
  /**
   * Queries per searchBatch call when a command runs a queries file: enough to keep scoring workers
   * busy and amortise encoder calls, few enough that progress updates often and a failure loses little.
   */
  batchQueries: 32,
  /**
   * Passages scored between two deadline checks on the calling thread (exhaustive scans, PLAID's
   * centroid-interaction and exact stages). A chunk of 4096 passages × 32 query tokens × 128 d is
   * about 1 ms of MaxSim on one core, so a deadline is overshot by about that much; the check is
   * one clock read, invisible at this spacing.
   */
  deadlineCheckEvery: 4096,
  /**
   * PLAID widening rounds when the survivors hold fewer than topK distinct documents (each round
   * ×4 nIvfProbe and ndocs, no pruning); after them the search scores every passage exactly.
   */
  wideningRounds: 2,
} as const;

export interface PlaidParams {
  /** ColBERT's ncells: centroids probed per query token. */
  nIvfProbe: number;
  /** Centroids whose best score over the query is below this are ignored in pruned interaction. */
  centroidScoreThreshold: number;
  /** Candidates kept after pruned centroid interaction (ColBERT's ndocs). */
  ndocs: number;
  /**
   * plait's relative pruning rule (absent: ColBERT's absolute threshold only). A centroid is also
   * kept when it scores within this margin of some query token's own best centroid score, so a
   * token whose best centroid sits below `centroidScoreThreshold` (common for short queries with
   * the bundled model) is not pruned away entirely. Range ≥ 0; see bench/RESULTS.md (calibration).
   */
  centroidScoreMargin?: number;
  /**
   * plait's query-length-aware probing (absent: ColBERT's fixed ncells). The whole query probes at
   * least this many centroids: each token probes max(nIvfProbe, ceil(nIvfProbeTotal / qLen)), so a
   * 3-token keyword query probes as widely as a long question without making long queries pay for
   * it. Short queries lose most documents at candidate generation (bench/RESULTS.md, calibration).
   */
  nIvfProbeTotal?: number;
  /**
   * plait's query-length-aware depth (absent: ColBERT's fixed ndocs). A query of qLen tokens keeps
   * ceil(ndocs · max(1, ndocsQueryTokens / qLen)) candidates after stage 2 (and a quarter of that
   * after stage 3), so a 4-token keyword query ranks 8× deeper than a 32-token question at the same
   * exact-scoring cost (stage 4 costs ∝ passages × qLen). Short queries lose documents in the
   * centroid-only stages, where few tokens average out little of the residual error
   * (bench/RESULTS.md, calibration). A positive integer; ColBERT's query length is 32.
   */
  ndocsQueryTokens?: number;
  /**
   * How PLAID ranks candidates before exact scoring (absent: 'centroids'). 'centroids' is ColBERT's:
   * pruned centroid interaction → ndocs, full centroid interaction → ndocs/4 (q·c only: the residual,
   * much of a token's score with the bundled model, is ignored until exact scoring). 'probed-tokens'
   * ranks the candidates by WARP-style probed-token scores (the best probedTokenDepth · ndocs by
   * centroid estimates read from the IVF, then): the similarity on the codes
   * (q·c + q·r) of each document token in a cell the query token probed, the centroid estimate
   * for the query tokens that retrieved nothing from the passage (src/search/probed-token-interaction.ts).
   * Applies on indexes with code scoring (nbits 1, 2, 4) to queries within the cost rule
   * CANDIDATE_DEFAULTS.probedTokensMaxWalk; other searches use 'centroids'. bench/RESULTS.md,
   * "Candidate generation (issue 22, parts C and E)".
   */
  interactionScoring?: InteractionScoring;
  /**
   * Passages kept for exact scoring (absent: ColBERT's ndocs/4, of the query-length-aware ndocs
   * when `ndocsQueryTokens` is set). A positive integer.
   */
  nExact?: number;
}

/** How PLAID ranks candidates before exact scoring (PlaidParams.interactionScoring). */
export type InteractionScoring = 'centroids' | 'probed-tokens';
/** Search highlights (src/search/highlights.ts): the snippet and its marks. */
export const HIGHLIGHT_DEFAULTS = {
  /**
   * Snippet window in UTF-16 characters before it is cut back to word boundaries: 200 holds a
   * sentence or two around the matched tokens (scifact's abstracts run ~1,500 characters, a
   * 128-token passage ~600), where Elasticsearch's 100-character fragment_size often cuts the
   * sentence that explains the match in half; short enough for a result list's two or three lines.
   */
  snippetChars: 200,
  /** Smallest and largest snippetChars accepted: below 20 no word fits with its context; above 10,000 it is no longer a snippet. */
  minSnippetChars: 20,
  maxSnippetChars: 10_000,
  /** Elasticsearch's default pre/post tags, so that a page that styles ES highlights styles these. */
  preTag: '<em>',
  postTag: '</em>',
  /** Longest pre/post tag accepted (characters): a tag is markup, not content. */
  maxTagChars: 64,
  /**
   * Characters of an average English token plus its space, to turn snippetChars into the token count
   * SQLite FTS5's snippet() takes for BM25 snippets (scifact: 1,512 characters / 246 terms ≈ 6.1).
   */
  charsPerBm25Token: 6,
  /** FTS5's snippet() returns at most 64 tokens (its own cap). */
  maxBm25SnippetTokens: 64,
} as const;

export const INTERACTION_SCORINGS: readonly InteractionScoring[] = ['centroids', 'probed-tokens'];

/** ndocs for a query of `qLen` tokens under PlaidParams.ndocsQueryTokens (ndocs itself when absent). */
export function effectiveNdocs(ndocs: number, qLen: number, ndocsQueryTokens: number | undefined): number {
  if (ndocsQueryTokens === undefined || qLen <= 0 || qLen >= ndocsQueryTokens) return ndocs;
  return Math.ceil((ndocs * ndocsQueryTokens) / qLen);
}

/** ColBERT's k-dependent defaults: k ≤ 10 → (1, 0.5, 256); k ≤ 100 → (2, 0.45, 1024); else (4, 0.4, max(4k, 4096)). */
export function colbertDefaultsFor(topK: number): PlaidParams {
  checkNumber('topK', topK, 'a hit count (topK)');
  if (topK <= 10) return { nIvfProbe: 1, centroidScoreThreshold: 0.5, ndocs: 256 };
  if (topK <= 100) return { nIvfProbe: 2, centroidScoreThreshold: 0.45, ndocs: 1024 };
  return { nIvfProbe: 4, centroidScoreThreshold: 0.4, ndocs: Math.max(4 * topK, 4096) };
}

/**
 * plait's default PLAID settings for a search of `topK` (used when neither flags nor a calibration
 * record set them): ColBERT's table plus three query-length rules — a probe minimum per query
 * (`nIvfProbeTotal`, CANDIDATE_DEFAULTS.probesPerQuery) and relative pruning
 * (`centroidScoreMargin`, CANDIDATE_DEFAULTS.pruningMargin), so short keyword queries probe as
 * widely as ColBERT's padded 32-token queries and no query token is pruned away (on cisi keyword
 * top-10 89.1 → 90.8% for 1.00–1.08× ColBERT's p50: bench/RESULTS.md, "PLAID defaults"); and,
 * within a cost rule (CANDIDATE_DEFAULTS.probedTokensMaxWalk), candidates ranked by probed-token
 * scores instead of centroids alone (`interactionScoring`, CANDIDATE_DEFAULTS.interactionScoring).
 * Against ColBERT's own rule (`plaidDefaults: 'colbert'`, interleaved in one run) see
 * bench/RESULTS.md, "Candidate generation (issue 22, part E)".
 */
export function plaidDefaultsFor(topK: number): PlaidParams {
  checkNumber('topK', topK, 'a hit count (topK)');
  const colbert = colbertDefaultsFor(topK);
  return {
    ...colbert,
    nIvfProbeTotal: Math.max(CANDIDATE_DEFAULTS.probesPerQuery, 32 * colbert.nIvfProbe),
    centroidScoreMargin: CANDIDATE_DEFAULTS.pruningMargin,
    interactionScoring: CANDIDATE_DEFAULTS.interactionScoring,
  };
}

/** Arithmetic of PLAID's stage-1 centroid scores: int8 codes (VNNI where the CPU has it) or float32. */
export type CentroidScoring = 'int8' | 'float32';

/**
 * PLAID candidate generation (issue 22, part B: stages 1–3 of src/search/plaid.ts).
 */
export const CANDIDATE_DEFAULTS = {
  /**
   * Stage-1 centroid scores on int8 codes (src/search/centroid-quantisation.ts). Measured in
   * bench/RESULTS.md ("Candidate generation on int8"): see there for the speed-up over float32
   * and the share of probed cells and top-10 documents that change.
   */
  centroidScoring: 'int8' as CentroidScoring,
  /**
   * With int8 scores, each query token's best nIvfProbe + this many centroids (by int8) are
   * re-scored in float32 and the best nIvfProbe of them probed (plaid.ts ProbeRescore), so the probed
   * cells are float32's unless a cell falls this far in the int8 ranking. 8: the bundled model's
   * best-to-eighth centroid gap is 0.18–0.20 at the median (bench/RESULTS.md, calibration) against
   * an int8 score error under 0.01; the re-scoring costs qLen · (nIvfProbe + 8) dot products.
   */
  probeRescoreExtra: 8,
  /**
   * Default probe minimum per query (PlaidParams.nIvfProbeTotal), at least ncells · 32: ColBERT pads
   * every query to 32 tokens with [MASK], so a padded query probes ncells · 32 cells; a 3-token
   * query without padding probed 3. Calibration found the floor necessary on every judged set
   * (bench/RESULTS.md, calibration: cisi keyword queries 98.6 → 99.1% of the top-10 with it).
   */
  probesPerQuery: 32,
  /**
   * Default relative pruning margin (PlaidParams.centroidScoreMargin): a centroid within 0.05 of a
   * query token's own best centroid score is kept whatever the threshold, so a token whose best
   * centroid scores under 0.5 (the bundled model's keyword queries: p10 0.43) still counts in the
   * pruned interaction; 0.05 is about one best-to-second centroid gap (median 0.042–0.064).
   */
  pruningMargin: 0.05,
  /**
   * Cost rule of probed-token ranking (plaid.ts usesProbedTokens): a query takes it when the IVF
   * entries its centroid estimates would walk, qLen · estimateCells · (IVF entries / K), are at most
   * this many; otherwise ColBERT's centroid stages. Pair scoring is bounded by the depth
   * (probedTokenDepth · ndocs passages), so the walk is what grows with the query and the index.
   * With 48 cells: scifact keyword queries (8 tokens at the median, 169 entries a cell) 65k, its
   * natural claims (25 tokens at the median, up to 79) 203k (up to 641k), cisi natural (up to 128
   * tokens, 44 a cell) ≤ 270k, cranfield natural (up to 68 tokens, 60 a cell) ≤ 196k; the 1M MS
   * MARCO-shaped index's 32-token queries (354 a cell) 544k — where the centroid stages cost ~1 ms
   * (stage 2 reads the ~22 kept cells' IVF lists) and probed-token ranking made the search 0.58–0.79×
   * aa45c90 (part D). 393,216 (3 · 2^17) admits every keyword query, every cisi and cranfield question
   * and scifact's claims up to 48 tokens (95%), and keeps the 1M queries on the centroid stages
   * (bench/RESULTS.md, "Candidate generation (issue 22, part E)").
   */
  probedTokensMaxWalk: 3 << 17,
  /**
   * Default candidate ranking (PlaidParams.interactionScoring): probed-token scores, so a short query's
   * candidates are ranked with the residuals of the tokens it retrieved instead of by centroids
   * alone (ColBERT's stages 2–3 lost 70 of cisi's 760 keyword top-10 slots, all there: 36 to the
   * pruned ranking, 34 to the full one; with probed tokens 7). Measured against the previous
   * defaults interleaved in one run (bench/RESULTS.md, "Candidate generation (issue 22, part C)",
   * load 12–18): keyword top-10 cisi 90.8 → 99.1%, cranfield 95.1 → 99.3%, scifact 87.6 → 98.6%.
   * Part E (centroid estimates from the IVF, a depth cut, the cost rule instead of a 16-token
   * limit; bench/RESULTS.md, "Candidate generation (issue 22, part E)") has the figures against
   * ColBERT's own rule on keyword and natural queries.
   */
  interactionScoring: 'probed-tokens' as InteractionScoring,
  /**
   * Cells whose IVF lists give a candidate's missing-similarity estimate under probed-token ranking
   * (src/search/probed-token-interaction.ts, centroidEstimates): a query token's best 48 cells are
   * walked best first, so a candidate with a token in one of them gets its exact best centroid
   * score, the others the 48th cell's score (an upper bound). Keyword top-10 slots lost, with
   * probedTokenExact 1.5: cisi (760 slots) / cranfield (2,250) / scifact's first 100 claims (1,000):
   * 16 cells 10 / 11 / 18, 32 cells 5 / 6 / 10, 64 cells 6 / 5 / 7; all 300 scifact claims (3,000):
   * 32 cells ~31 (98.97% in the search API), 48 and 64 cells 26 (99.13%). The walk grows with the
   * cells (scifact keyword: 69k IVF entries a query at 32, 131k at 64). WARP's constant estimate (the
   * last probed cell's score for every unmatched candidate) lost 102 of scifact's first 1,000
   * (bench/RESULTS.md, "Candidate generation (issue 22, part E)").
   */
  estimateCells: 48,
  /**
   * Passages scored exactly after probed-token ranking, as a multiple of ColBERT's ndocs/4 (plaid.ts
   * exactDepth; 96 at k ≤ 10): its near misses rank just past 64 (cisi, cranfield, scifact: 17 of 35
   * lost keyword top-10 slots at ranks 64–95 with 1×); exact scoring on the codes costs ~7 µs a
   * scifact passage, so 32 more cost ~0.2 ms. Slots lost with 64 cells, 1× → 1.5×: cisi 9 → 6,
   * cranfield 16 → 5, scifact (100 claims) 10 → 7 (bench/RESULTS.md, part E).
   */
  probedTokenExact: 1.5,
  /**
   * Candidates scored by probed tokens, as a multiple of ndocs (plaid.ts probedTokenDepth): the best
   * 4 · ndocs by centroid estimates (1,024 at k ≤ 10). Pair scoring reads every kept candidate's codes
   * and its matched residuals, so the depth bounds the cost; scifact keyword top-10 slots lost of 1,000
   * at depth 256 / 512 / 1,024 / all (~7,000): 37 / 16 / 10 / 9 (bench/RESULTS.md, part E).
   */
  probedTokenDepth: 4,
};

/** Rerank defaults. */
export const RERANK_DEFAULTS = {
  /**
   * Bytes of passage embeddings kept in the LRU cache (by content hash), whatever the model's dim:
   * an entry costs its tokens × dim × 4 B, so 64 MiB holds ~1,100 passages of 110 tokens at 128 d
   * (colbertv2.0) and ~300 at the bundled model's 512 d, instead of a count that made the bundled
   * model's cache 4× larger than intended.
   */
  cacheBytes: 64 << 20,
  /**
   * Documents in one rerank call, at every door (the library's `rerank` / `rerankDocuments`, the
   * HTTP rerank routes' default, `startServer`'s `maxRerankDocuments`): Cohere's documented limit is 1,000, and
   * the clients plait serves batch to it; more is QUERY_TOO_LARGE (HTTP 413), not a silent slow call.
   */
  maxDocuments: 1000,
} as const;

/** HTTP server defaults (`plait serve`, src/server). */
export const SERVER_DEFAULTS = {
  /** Binds loopback only: exposing the server is a deliberate choice (`--host 0.0.0.0`), not a default. */
  host: '127.0.0.1',
  /** The usual alternate HTTP port; free on most developer machines and container images. */
  port: 8080,
  /**
   * How often the server looks for a newer generation of each served index (a living-index write by
   * another process): reading manifest.json is a few hundred bytes, so once a second costs nothing.
   * The fallback: a watcher on each folder picks a commit up when its manifest is renamed (engine.ts,
   * startRefreshing); the poll covers folders that cannot be watched (inotify limits, network file systems).
   */
  refreshIntervalMs: 1000,
  /** Largest request body accepted (1 MiB): a rerank of ~1000 short passages. Larger bodies get 413. */
  maxBodyBytes: 1 << 20,
  /**
   * Deadline of a search, rerank, explain or encode request that names none: generous, so only a
   * stuck request hits it (a search ends in milliseconds). Writes have their own, writeTimeoutMs.
   */
  timeoutMs: 30_000,
  /**
   * Deadline of a write (POST /documents, deletes; a cluster's log writes) that names none. It covers
   * the largest write the server accepts, a full body (maxBodyBytes of text): 1 MiB of scifact text in
   * 256 documents is 3,113 passages (window 128, stride 96), which the write's one encoder thread
   * (encoderThreads) encodes in 67.7 s on this 2-core machine at load 5–6 (21.7 ms a passage; 33.4 s
   * on 2 threads; bench/write-deadline.ts, bench/RESULTS.md "The largest write against the default
   * deadline"). 30 s answered such a write 504; 120 s covers it with ~1.8× to spare. Kept apart from
   * timeoutMs so that searches keep a deadline in seconds, not minutes.
   */
  writeTimeoutMs: 120_000,
  /** Longest deadline a request may ask for (5 min): a client cannot pin a slot for longer. */
  maxTimeoutMs: 300_000,
  /**
   * Time a client has to send its whole request, headers and body (Node's server.requestTimeout):
   * past it the server answers 408 and closes the connection. A full body (maxBodyBytes, 1 MiB) in
   * 60 s is 17 KiB/s, slower than any working client link; a client that trickles a body byte by
   * byte (slowloris) no longer holds its socket and buffer for ever (Fastify sets 0, no limit;
   * Node's own default is 300 s). The work's deadline (timeoutMs) starts once the body is in.
   */
  receiveTimeoutMs: 60_000,
  /**
   * Open client connections past which a request is answered 503 OVERLOADED (+ Retry-After) before
   * its body is read, and its connection closed (0: no limit). It bounds the memory that slow
   * clients can pin: each connection may buffer up to maxBodyBytes of a body for receiveTimeoutMs,
   * so 1,024 × 1 MiB is at most 1 GiB; without it 3,000 clients each trickling 60 KB of a body
   * grew a 540 MB server by 190 MB, and nothing stopped 10,000 × 1 MiB. A load balancer keeps tens
   * of upstream connections (nginx's keepalive pool, an ALB's), far below it; nginx's own
   * worker_connections defaults to 512–1,024.
   */
  maxConnections: 1024,
  /**
   * Shortest API key accepted (PLAIT_API_KEY, a key file's lines): 16 characters of `openssl rand
   * -hex` are 64 bits, past online guessing. The access log keeps a query string's parameter names
   * only when shorter than this (access-log.ts), so no name it keeps can be a key.
   */
  minApiKeyChars: 16,
  /**
   * How often Node looks for requests past receiveTimeoutMs (http.createServer's
   * connectionsCheckingInterval, 30 s by default, which let a 60 s limit run to 90 s): one pass over
   * the open connections a second costs nothing next to a request.
   */
  connectionsCheckingIntervalMs: 1000,
  /**
   * Lame-duck time after SIGTERM before the listener closes (0: close at once). Kubernetes removes
   * a terminating pod from its Service endpoints at the same time as it sends SIGTERM, and kube-proxy
   * and ingress controllers learn it a few seconds later: a server that stops listening at once
   * refuses the connections still routed to it (clients see 502s). During the delay /ready answers
   * 503 `draining` and requests are still served; behind k8s, 5000 is usual (CoreDNS's `lameduck`,
   * kube-apiserver's --shutdown-delay-duration do the same). 0 by default: outside an orchestrator
   * nothing routes by readiness, and Ctrl-C should stop at once.
   */
  shutdownDelayMs: 0,
  /**
   * Requests doing work at once (search, rerank, encode). Enough to keep the encoder and scoring
   * workers busy while another request is between stages (≈ 2 × workers on a 4-core box); more only
   * queues inside the worker pools where no deadline or shedding can see it.
   */
  maxConcurrent: 8,
  /**
   * Requests waiting for a slot. At ~100 requests/s per 8 slots, 64 waiting means ≤ ~0.6 s of queueing,
   * so admitted requests keep a bounded p99; beyond that a client is better served by an immediate 503.
   */
  maxQueue: 64,
  /**
   * Also shed when a newcomer's expected queueing time (requests ahead × mean work time ÷ slots)
   * passes this: a count alone lets the wait grow to seconds when requests are slow (100-document
   * reranks); half a second keeps admitted p99 within a few times the service time.
   */
  maxQueueWaitMs: 500,
  /**
   * Document tokens encoded at once per encoder thread (`maxInFlightTokens` defaults to this ×
   * `encoderThreads`, at least one): the admission budget of rerank, encode and write requests,
   * counted by estimate (charsPerToken). One large request already keeps an encoder thread busy
   * (its batches queue behind each other), so admitting a second only halves both one's speed:
   * eight 50-document reranks admitted at once on a 2-core machine all ran past the 30 s deadline.
   * 8,192 tokens is ~4.6 s of encoding on one thread of the bundled model (1,787 tokens/s idle,
   * "Encoding throughput" in bench/RESULTS.md): an admitted request's document encoding ends within
   * a sixth of the 30 s deadline even on a machine three times slower, and a small rerank (a few
   * hundred tokens) still fits beside a large one. Searches count no tokens.
   */
  inFlightTokensPerEncoderThread: 8192,
  /**
   * A request that needs document tokens may wait for the encoder while its expected wait and its
   * own encoding (both at the measured drain rate) end within this share of its own deadline (and
   * always `maxQueueWaitMs`): 10 s of the 30 s default. The rest is the margin for the rate's error
   * as load changes: under 10 clients of 50-document reranks on a loaded 2-core host, answers came
   * up to 1.6× the bound at p99 (20.3–23.6 s against 15 s with ½), and the rate sampled every 5 s
   * moved 1.5–2× (bench/RESULTS.md, "Admission's drain rate"); a third leaves 3× before a 504. Before
   * (admission-10) half the deadline bounded the wait alone, leaving the other half to its own
   * encoding: ample when a full budget took 5 s, not on that host, where a queue of large reranks
   * filled to 15 s of waiting and one in a run passed its deadline.
   * `maxQueueWaitMs` alone (500 ms, sized for searches) refused any rerank that would wait behind
   * another: 4 concurrent 40-document reranks from a plain client (no retries) got 2 × 503 on the
   * 2-core machine, where a queue of a few seconds serves them all; ten large reranks at once still
   * see the later ones refused (their expected waits pass half the deadline) rather than 504.
   */
  tokenWaitDeadlineShare: 1 / 3,
  /**
   * Admission's drain rate (ms per document token, admission.ts) is busy time ÷ tokens completed,
   * both summed with a decay of e^(−tokens completed ÷ this): it reads the last ~32,768 tokens the
   * server got through (four full budgets of one encoder thread, ~4.5 50-document reranks, 4–20 s
   * of encoding), so each large request's service time is one sample of several, not of two as
   * with 16,384. Sampled every 5 s under 10 clients of 50-document reranks on a loaded 2-core host
   * it still moved 1.5–2× between median and p95 (0.25–0.35 → 0.38–0.73 ms a token; 0.09 → 0.17
   * with 16,384 at a lighter load: bench/RESULTS.md, "Admission's drain rate"), most of it the
   * host's load, which it should follow; longer, and a change of load (other processes, a second
   * encoder thread) takes minutes to show. The warm-up's prior counts as this many tokens, so it
   * fades after the first few large requests; a lone 10-token request's fixed costs (20 ms) move
   * the rate by ~0.05%.
   */
  tokenDrainMemoryTokens: 32_768,
  /** Weight of the newest hold time in admission's running mean of work time (slots' expected wait): about the last 20 requests. */
  workTimeEwmaWeight: 0.05,
  /**
   * Characters of text per token when admission estimates a request's tokens without tokenizing it
   * (request-cost.ts). Measured with the bundled tokenizer: 3.54 over the first 1,000 scifact
   * abstracts cut at 500 characters (499,096 characters, 141,078 tokens); plain English runs
   * longer (4–5), so 3.5 errs towards counting more and a budget is not overrun.
   */
  charsPerToken: 3.5,
  /**
   * `Retry-After` on a 503 (seconds), at least: HTTP counts it in whole seconds, and 0 would invite
   * a client to hammer a full server. Above it, a refusal says when the refused request would be let
   * in if sent again (admission's `retryAfterMs`: the wait ahead drained to what it may wait),
   * rounded up — not the whole expected wait, which left the encoder idle before clients came back
   * (server/admission-retry.ts).
   */
  retryAfterSeconds: 1,
  /**
   * Whole seconds of jitter added to a 503's `Retry-After` at most (uniform over 0…this), and only
   * while the retry still comes before everything ahead of it is expected to be through
   * (admission's `retryLatestMs`), so it does not leave the encoder idle: clients refused in the same second are told
   * the same whole second and would return together; 1 spreads them over two seconds, small beside
   * the several seconds of queue a large rerank is refused behind (bench/RESULTS.md, "Retry-After
   * from when a request fits").
   */
  retryAfterJitterSeconds: 1,
  /** Result cache (search hits by index generation, normalised query, options): 64 MiB ≈ 60k top-10 results. */
  resultCacheBytes: 64 << 20,
  /**
   * Query-embedding cache: 32 MiB. A bundled-model query is ~10 tokens × 512 d × 4 B ≈ 20 KB, a ColBERT
   * query 32 × 128 × 4 B = 16 KB, so ~1,600–2,000 distinct queries stay warm.
   */
  queryCacheBytes: 32 << 20,
  /** Documents in one rerank request: the library's limit (RERANK_DEFAULTS.maxDocuments, Cohere's 1,000); more gets 413. */
  maxRerankDocuments: RERANK_DEFAULTS.maxDocuments,
  /**
   * Documents a Cohere search unit covers, for a rerank answer's `meta.billed_units.search_units`
   * (ceil(documents / this), at least 1): Cohere bills one search unit per query of up to 100
   * documents (docs.cohere.com, "How does Cohere pricing work"). plait bills nothing; the count is
   * Cohere's so that code that tallies units reads what Cohere would have said (it had always said 1).
   */
  cohereSearchUnitDocuments: 100,
  /**
   * Content tokens each document is cut to on /v2/rerank when `max_tokens_per_doc` is left out:
   * Cohere v2's documented default (cohere-ai's V2RerankRequest: "Defaults to `4096`. Long
   * documents will be automatically truncated"), so a v2 client ranks on what Cohere would read;
   * v1 and Jina keep no cut (their APIs score every chunk).
   */
  cohereV2MaxTokensPerDoc: 4096,
  /** Texts in one /v1/encode request: token embeddings are ~100× the text's size, so keep replies bounded. */
  maxEncodeTexts: 256,
  /** In-flight requests get this long to finish on SIGTERM/SIGINT (under Kubernetes' default 30 s grace period). */
  drainTimeoutMs: 10_000,
  /**
   * After the drain timeout, the requests still in flight are answered 503 (INDEX_CLOSED) and get
   * this long (ms) for those answers to be written before their connections are closed: an error
   * body is a few hundred bytes, so half a second is ample on loopback or a LAN, and short beside
   * Kubernetes' 30 s grace period (drainTimeoutMs + this stays under it).
   */
  drainAnswerGraceMs: 500,
  /**
   * Scoring worker threads per index: 'auto' = one per core, at most 4 (the encoder needs a core
   * too; SCORING_WORKERS_AUTO_MAX). A number is that many; 0 scores on the serving thread, as
   * openIndex's `workers: 0` does (0 had meant auto here: one value, two meanings).
   */
  scoringWorkers: 'auto',
  /** Encoder worker threads per model: 1, because requests are short and cores are shared with scoring. */
  encoderThreads: 1,
  /** Queries of a batch scored before the deadline is checked again: bounds the work left after a 504. */
  abortCheckQueries: 16,
} as const;

/** Evaluation defaults. */
export const EVAL_DEFAULTS = {
  /**
   * Results per query that `plait eval` searches (--depth): 100 covers nDCG@10, MRR@10 and R@100,
   * BEIR's headline metrics, at a tenth of the search time of 1000; pass 1000 for R@1000.
   */
  depth: 100,
  /** Randomisation-test permutations: p-values resolved to ~0.001. */
  permutations: 10_000,
} as const;

/** Document store (SQLite) and its BM25. */
export const DOCSTORE_DEFAULTS = {
  /**
   * BM25 term-frequency saturation: 0.9 is Anserini's BEIR setting, the one behind the reference figures
   * (scifact nDCG@10 0.661). Measured here: 0.665 scifact / 0.349 cranfield; FTS5's fixed k1 1.2, b 0.75
   * gives 0.670 / 0.342 at 10× the query time.
   */
  bm25K1: 0.9,
  /** BM25 length normalisation: 0.4 is Anserini's BEIR setting (weaker than Lucene's 0.75, which over-rewards short texts). */
  bm25B: 0.4,
  /**
   * BM25's stemmer for new indexes: FTS5's Porter stemmer, as Anserini's default English analyzer
   * stems (Porter) for its BEIR figures; measured here in bench/RESULTS.md ("Query rewriting").
   */
  bm25Stemmer: 'porter' as 'porter' | 'none',
  /** Rows per write transaction during a bulk load: big enough to amortise commits, small enough to bound the dirty page cache. */
  commitEvery: 50_000,
  /** Page cache during a bulk load, in KiB (SQLite's negative cache_size): 64 MiB keeps FTS5 segment merges in memory. */
  buildCacheKiB: 65_536,
} as const;

/** Spelling correction against the index's vocabulary (src/rewrite/spelling.ts). */
export const SPELLING_DEFAULTS = {
  /**
   * Shorter words are never corrected (0 edits): 3-letter words are mostly acronyms and abbreviations
   * ("tnf", "mri") that a corpus may lack without being misspelled. From 4 to 5 letters 1 edit, from 6
   * on 2 — Elasticsearch's `fuzziness: AUTO` steps (it allows 1 edit from 3 letters).
   */
  minWordLength: 4,
  /**
   * Words this long may be corrected by 2 edits (shorter ones by 1). Measured on the real queries of
   * scifact and cranfield (bench/RESULTS.md "Query rewriting"): from 6 letters (Elasticsearch's AUTO),
   * 2-edit corrections of correct words the corpus lacks ("anyone" → "alone", "mirror" → "marrow")
   * outnumbered real fixes.
   */
  twoEditsFrom: 10,
  /** SymSpell's prefix length: only a word's first 7 characters generate deletes (its default; 5–7 keep lookups exact for ≤ 2 edits at a fraction of the memory). */
  prefixLength: 7,
  /** A candidate must be in at least this many documents: a word seen once is as likely a typo in the corpus as the fix. */
  minCandidateDf: 2,
  /** A known word is corrected only when this rare (documents holding it) ... */
  rareMaxDf: 2,
  /** ... and a candidate is this many times more frequent (SymSpell's frequency ordering, made a hard bar so real rare words stay). */
  rareRatio: 50,
} as const;

/** RM3 pseudo-relevance feedback for BM25 (src/rewrite/rm3.ts): Anserini's `-rm3` defaults, the settings behind its published BEIR and MS MARCO RM3 baselines. */
export const RM3_DEFAULTS = {
  /** Feedback documents: Anserini's fbDocs. */
  fbDocs: 10,
  /** Expansion terms: Anserini's fbTerms. */
  fbTerms: 10,
  /** λ, the original query's share of the expanded query: Anserini's originalQueryWeight. */
  originalQueryWeight: 0.5,
} as const;

/**
 * RM3's accepted ranges, the same at every door (library, `plait search --rm3-*`, HTTP
 * `rewrite.rm3`): at least one feedback document and term; 1,000 each bounds a feedback pass
 * (documents tokenised, terms in the second BM25 query) at ~100× Anserini's defaults.
 */
export const RM3_LIMITS = { maxFbDocs: 1000, maxFbTerms: 1000 } as const;

/** ColBERT-PRF for late interaction (src/search/colbert-prf.ts). */
export const PRF_DEFAULTS = {
  /** Feedback documents: ColBERT-PRF's fb = 3 (Wang et al. 2021, their best MS MARCO setting). */
  fbDocs: 3,
  /** Expansion embeddings: ColBERT-PRF's fe = 10. */
  fbEmbeddings: 10,
  /** β, the expansion embeddings' mean weight against a query token's 1: the paper's β = 1 for its Ranker; measured here in bench/RESULTS.md. */
  beta: 1,
} as const;

/**
 * ColBERT-PRF's accepted ranges, the same at every door (library, `plait search --prf-*`, HTTP
 * `rewrite.prf`): 100 feedback documents and 128 expansion embeddings (a query's own 32 tokens
 * four times over) bound the k-means of the feedback tokens; β up to 10 lets the expansion outweigh
 * the query tenfold, far past the paper's 0.5–1.
 */
export const PRF_LIMITS = { maxFbDocs: 100, maxFbEmbeddings: 128, maxBeta: 10 } as const;

/** Evaluation report and significance defaults (src/eval). */
export const EVAL_REPORT_DEFAULTS = {
  /** Randomisation-test PRNG seed, so that reported p-values are reproducible run to run. */
  seed: 20_071_106,
  /** Significance level for the report's † marker: the usual 0.05 of IR papers. */
  alpha: 0.05,
} as const;

/** How the USE-lite backend groups a batch into graph calls. */
export const USE_LITE_BATCH_DEFAULTS = {
  /**
   * The graph pads every text of a call to the longest one. Texts (sorted by token count) share a call
   * while padded tokens stay within this factor of real tokens: batching 16 short texts halves their
   * time, while padding long ones costs more than the call overhead it saves (measured on TF.js-wasm).
   */
  maxPaddingRatio: 1.25,
  /**
   * Padded token rows per graph call. TF.js-wasm's heap grows to the largest call and never shrinks:
   * measured on 400 cranfield passages in one thread, calls of 32 texts (up to 4,096 rows) peaked at
   * 443 MB RSS, calls of 8 texts (≤ 1,024 rows) at 300 MB, in the same time (18.5 vs 18.8 s).
   * Two encoder workers thus hold ~280 MB less during a build (issue 9's 1 GiB build goal).
   */
  maxTokensPerCall: 1024,
} as const;

/** Model pull (hub download) limits beyond HUB_DEFAULTS. */
export const HUB_PULL_DEFAULTS = {
  /** Redirects followed per file: the hub sends LFS files through one or two CDN hops, so 10 only stops loops. */
  maxRedirects: 10,
  /** Progress callbacks at most every this many bytes, so a bar redraws ~100× for a 400 MB file, not per chunk. */
  progressEveryBytes: 1 << 22,
  /** Pause before retry n is n × this: a dropped connection usually recovers within a second. */
  retryDelayMs: 250,
} as const;

/** ColBERT ONNX checkpoints. */
export const COLBERT_ONNX_DEFAULTS = {
  /**
   * Longest a synchronous tokenize() may wait on the worker that runs non-WordPiece tokenizers:
   * far above the ~0.2 ms a call takes, so only a dead worker hits it.
   */
  tokenizerBridgeTimeoutMs: 30_000,
} as const;

/** Cross-encoder final stage (src/rerank/cross-encoder). */
export const CROSS_ENCODER_DEFAULTS = {
  /**
   * Pairs per ONNX run. Pairs are sorted by token count first, so a batch pads little; 16 pairs of
   * 256 tokens are ~4k token rows, past which a bigger batch saves no per-run overhead on a CPU,
   * while a smaller one lets a deadline stop the stage sooner (it is checked between batches).
   */
  batchSize: 16,
  /**
   * Pair length when neither tokenizer.json (truncation.max_length), tokenizer_config.json
   * (model_max_length) nor config.json (max_position_embeddings) says: BERT's 512, the length
   * ms-marco cross-encoders and bge-rerankers were trained at.
   */
  maxLength: 512,
  /**
   * Share of maxLength a query may take before it is cut (the rest is the document's): a query
   * longer than this is unusual (a pasted passage) and truncating only the document would leave
   * it no room at all.
   */
  maxQueryFraction: 0.5,
  /** Worker threads running the model: 1, so a cross-encoder leaves the other core to search; raise it for throughput. */
  threads: 1,
} as const;

/** Staged pipelines (src/pipeline) and their circuit breaker. */
export const PIPELINE_DEFAULTS = {
  /**
   * Calls the breaker remembers (a count-based sliding window, as in resilience4j): 20 is enough for
   * a failure rate to mean something and short enough that a dead model trips it within a second
   * of traffic at 20 qps.
   */
  breakerWindow: 20,
  /** Calls the window must hold before the breaker may open, so one early failure cannot trip it. */
  breakerMinimumCalls: 5,
  /** Share of failed or slow calls in the window that opens the breaker (resilience4j's default 50%). */
  breakerFailureRate: 0.5,
  /**
   * How long an open breaker refuses calls before letting one trial call through (half-open):
   * 30 s gives a restarting model worker time to come back without hammering it.
   */
  breakerCoolDownMs: 30_000,
  /** Trial calls let through while half-open; all must succeed to close the breaker again. */
  breakerHalfOpenCalls: 1,
} as const;

/** On-disk format (src/format): segment sizes and when integrity is checked in full (issue 9). */
export const FORMAT_DEFAULTS = {
  /**
   * Largest residual segment file, in bytes (codes segments are a quarter of it at 128-d 2-bit, or
   * less). 1 GiB keeps every segment far below V8's 4 GiB typed-array limit and 2^31-row Int32
   * offsets, while a 70M-token MS MARCO index still fits in 3 segments. Tests set a few KiB.
   */
  segmentBytes: 1 << 30,
  /**
   * Opening an index verifies every listed file's size always, and its CRC-32 too when all listed
   * files together are at most this many bytes: a full CRC pass reads every byte (about 1 s per GB
   * here, and it would fault a memory-mapped index wholly into RSS), so larger indexes are checked
   * in full only on request (`verify: 'full'`, `plait info`).
   */
  verifyOnOpenMaxBytes: 256 * (1 << 20),
} as const;

/** Memory bounds of an index build (issue 9): peak RSS must not grow with the corpus. */
export const BUILD_MEMORY_DEFAULTS = {
  /**
   * Float32 token vectors held per encode/compress chunk (the next chunk is encoded while this one
   * is compressed, and the chunk is staged once more for the assignment workers, so about three
   * times this is live). Passages per chunk = this ÷ (mean tokens × dim × 4), at most
   * BUILD_DEFAULTS.chunkSize: 32 MiB is ~145 passages of the bundled model (512-d, ~110 tokens),
   * still 4 encoder batches of 32 per chunk; 1,200 MS MARCO-like passages at 128-d.
   */
  chunkBytes: 32 * (1 << 20),
  /** IVF entries (4 bytes each) filled per pass over the codes: centroids are done in ranges that fit. */
  ivfBlockEntries: 1 << 24,
  /**
   * A document longer than this many UTF-16 code units is tokenized and split block by block (each
   * block ends at whitespace), so a 5 MB document streams its passages instead of hitting the
   * tokenizer's text limit (ENCODER_DEFAULTS.maxTextLength).
   */
  splitBlockChars: 1 << 16,
} as const;

/**
 * Two-level nearest-centroid assignment in the compression pass (src/indexer/two-level-assign.ts,
 * issue 9). Measured with bench/centroid-assignment.ts and two cranfield builds (bench/RESULTS.md,
 * "Two-level centroid assignment"); k-means itself always trains by exact assignment.
 */
export const TWO_LEVEL_ASSIGN_DEFAULTS = {
  /**
   * 'auto': two-level from autoMinCentroids, exact below. Adopted because the quality bar held: a
   * cranfield index built two-level (C 91, probe 16; 98.9% of tokens on the same centroid) scored
   * nDCG@10 0.3140 against 0.3125 exact (|Δ| 0.0015 ≤ 0.002), PLAID fidelity 0.9996 on both.
   */
  mode: 'auto' as 'exact' | 'two-level' | 'auto',
  /**
   * Smallest K at which 'auto' goes two-level: at K = 32,768, real 512-d vectors (cranfield, fresh
   * encodings) kept 98.7% of their centroids at probe 16 for a 5.2× faster assignment (~18–21× at
   * K = 131,072, synthetic 128-d); at K = 8,192 the same agreement (probe 16) bought only 1.3–2×.
   */
  autoMinCentroids: 32_768,
  /**
   * C = round(this · sqrt(K)) coarse centroids: the cost C + probe·K/C is lowest near sqrt(probe·K),
   * but 2·sqrt(K) measured within ±20% of sqrt(K)'s speed (load noise; real tokens crowd into the
   * large cells) and agreed slightly less (98.80% against 99.03%, K = 8,192, probe 16).
   */
  coarsePerSqrtK: 1,
  /**
   * Coarse cells searched per token: 16 is the smallest probe whose agreement (98.9% at K = 8,192,
   * 98.7% at 32,768 on real vectors) kept cranfield's nDCG@10 within 0.002; probe 8 (97.6%) moved
   * it by 0.0024 and 5.7% of the exhaustive top-10.
   */
  probe: 16,
  /** k-means iterations of the C coarse centroids over the K fine ones: 10 cost ~3 s at K = 131,072 (128-d, one loaded core). */
  coarseKmeansIters: 10,
  /**
   * 'auto' keeps two-level only when this share of the build's held-out vectors (≤ 50k, assigned
   * exactly anyway for the codec) land on brute force's centroid, doubling the probe until they do:
   * 98.9% is the agreement of the cranfield build that kept nDCG@10 within 0.002 (97.6% did not).
   * Without it, the 1M MS MARCO-shaped build (independent centres, K = 131,072 trained on 2^18
   * vectors) kept only 72.4% of its tokens' centroids at probe 16.
   */
  minAgreement: 0.989,
  /**
   * Largest probe 'auto' tries, as a share of C: past C/4 cells the ideal gain is under ~4× and the
   * measured one under 2× (the per-cell overheads), so exact assignment is as good.
   */
  maxProbeShareOfCoarse: 0.25,
} as const;

/**
 * Per-index calibration of PLAID's settings (src/calibrate): pseudo-queries drawn from the corpus
 * are searched exhaustively and replayed through PLAID over a grid; the cheapest grid point that
 * reaches the fidelity target is stored in the manifest per k bucket.
 */
export const CALIBRATION_DEFAULTS = {
  /**
   * Share of the exhaustive top-k PLAID must find: the 0.99 the project promises (bench/RESULTS.md
   * goals), now measured per index instead of assumed from MS MARCO.
   */
  target: 0.99,
  /**
   * Share of the miss budget (1 − target) held in reserve: every kind of pseudo-query must reach
   * target + headroom · (1 − target) — 0.998 for 0.99, i.e. with ~24 queries of a kind (240 top-10
   * slots) the chosen point misses nothing the sample can show. The cheapest grid point that just
   * reaches the target on a few dozen queries of a kind is chosen partly for luck, and real queries
   * differ from pseudo-queries. Measured on cisi's 76 real keyword queries (bench/RESULTS.md,
   * calibration): chosen at 0.995 the settings found 98.9% of their top-10, at 0.998 99.5%.
   */
  headroom: 0.8,
  /**
   * Wall-clock budget of `plait calibrate`, seconds. Each pseudo-query costs one exhaustive pass
   * (scifact, bundled model: ~1 s) plus the replay of the grid (2,016 points when this was measured,
   * 10,080 with the margin and probed-token ranking of plaidDefaultsFor added; not re-measured), and
   * a trusted choice needs minQueriesPerKind (20) of each of the five kinds: 100 queries, ~240 s of
   * the budget's 80% on scifact. Smaller indexes finish all `queries` sooner.
   */
  budgetS: 300,
  /**
   * Budget of the optional build-time step (`plait index --calibrate`): the on-demand one, since a
   * shorter budget measures too few queries of each kind to trust the choice (the record then says
   * "not reached"); the bundled model's scifact build takes 15–40 min on 2 cores, so this adds ~15%.
   */
  buildBudgetS: 300,
  /**
   * Cost ceiling of the chosen settings: at most this multiple of the defaults' estimated cost per
   * query (plaidDefaultsFor, same queries). Without one, calibration chose settings that cost 2–11×
   * ColBERT's defaults at k ≤ 10 (bench/RESULTS.md, calibration) and on cisi took PLAID from 95 to
   * 286 ms where exhaustive costs 387 ms (issue 27). The defaults now keep the promise themselves
   * on the judged sets (bench/RESULTS.md, "PLAID defaults that keep the promise"), so calibration
   * refines within a bounded price; `--max-cost-ratio Infinity` lifts the ceiling.
   */
  maxCostRatio: 3,
  /** Pseudo-queries drawn (before the budget cuts them): 10 hits each give 1,200 judged top-10 slots. */
  queries: 120,
  /**
   * Fewest pseudo-queries of each kind before a choice is trusted: at 10 hits a query, 20 queries
   * resolve fidelity to 0.5% (one miss in 200). Fewer, and the record says `reached: false`.
   */
  minQueriesPerKind: 20,
  /**
   * Misses in a row (sampled documents that cannot give the kind due: no title, too short, a
   * duplicate) after which a kind of pseudo-query leaves the rotation: a corpus without titles
   * still gets its other kinds. At 50, a kind that a tenth of the documents can give stays with
   * probability 1 − 0.9^50 > 0.99.
   */
  kindMisses: 50,
  /** Keyword pseudo-queries: 2–4 content words, the length of typed keyword queries (the 323 biomedical ones). */
  keywordWords: [2, 4],
  /** Span pseudo-queries: 6–20 words, the length of natural-language questions (scifact claims ~12, cranfield ~18). */
  spanWords: [6, 20],
  /** Seed of the pseudo-query sample, so that a calibration is reproducible. */
  seed: 20_260_416,
  /**
   * Largest seed taken (`seed`, `--seed`): the generator (util/random.ts, mulberry32) keeps a seed's
   * low 32 bits, so 2^32 + s had drawn the sample of s, and NaN or 'x' that of 0; past this a seed is
   * refused, not folded onto another.
   */
  maxSeed: 0xffff_ffff,
  /** Representative k of each bucket (k ≤ 10, ≤ 100, > 100): the bucket's deepest k, 1000 for the open one. */
  bucketK: [10, 100, 1000],
  /**
   * The grid. ncells from ColBERT's 1 up to 32 (the issue's held-out set needed 8); thresholds from
   * ColBERT's 0.5 down to none (-1: the bundled model's centroid scores sit lower than ColBERTv2's);
   * ndocs from ColBERT's 256 up to 16,384 (scifact has 24k passages).
   */
  grid: {
    nIvfProbe: [1, 2, 4, 8, 16, 32],
    centroidScoreThreshold: [0.5, 0.45, 0.4, 0.3, 0.2, -1],
    ndocs: [256, 512, 1024, 2048, 4096, 8192, 16_384],
    /** Relative pruning margins (PlaidParams.centroidScoreMargin); null is ColBERT's absolute rule alone. */
    centroidScoreMargin: [null] as readonly (number | null)[],
    /**
     * Query-level probe minimums (PlaidParams.nIvfProbeTotal); null would be ColBERT's fixed ncells.
     * Always at least 16: ColBERT pads every query to 32 tokens with [MASK] (query augmentation), so
     * its ncells·32 probes are a floor a model without augmentation lacks — a 3-token query would
     * probe 3 cells. Settings chosen without the floor found 98.6% of cisi's real keyword queries'
     * top-10, with it 99.1% (cranfield 99.5 → 99.8%); bench/RESULTS.md, calibration.
     */
    nIvfProbeTotal: [16, 32, 64] as readonly (number | null)[],
    /** Query-length-aware depths (PlaidParams.ndocsQueryTokens); null is ColBERT's fixed ndocs. */
    ndocsQueryTokens: [null, 32] as readonly (number | null)[],
    /**
     * Candidate rankings (PlaidParams.interactionScoring); null is ColBERT's centroid interaction.
     * Under 'probed-tokens' the threshold and margin do not apply (no stage 2) to the queries it
     * serves, so those grid points share one replay.
     */
    interactionScoring: [null, 'probed-tokens'] as readonly (InteractionScoring | null)[],
  },
} as const;

/** Living index (issue 12, src/mutate/): when a write compacts on its own, and when drift is reported. */
export const LIVING_DEFAULTS = {
  /**
   * A write compacts automatically once tombstoned passages pass this share of all passages.
   * Deleted passages still cost PLAID work (their cells are probed, then collapse skips them) and
   * space; at 25% a search scores at most a third more passages than a compact index would, and a
   * compaction (a rewrite of the live codes and residuals, no re-encoding) runs at most once per
   * quarter of the index deleted. `plait compact` runs it on demand. 1 disables it.
   */
  autoCompactShare: 0.25,
  /**
   * `plait info` recommends a rebuild when added tokens sit this much farther from their centroids
   * than the build's own held-out tokens (ratio of mean absolute residuals per dimension). ColBERT's
   * updater re-clusters on new data in the same spirit; 1.25 means residuals a quarter larger,
   * where the fixed 2-bit buckets (fitted on the build's residuals) start to clip.
   */
  driftWarnRatio: 1.25,
  /**
   * A sync (`plait add --sync`, `addCorpus(…, { sync: true })`) deletes at most this share of the
   * index's live documents unless told more (`--max-delete`, `maxDelete`), as rsync's `--max-delete`
   * bounds `--delete`. A sync given the wrong input — one note instead of the folder, `notes/2024`
   * for `notes/`, another corpus — made the index hold only that input: 332 of 333 documents deleted
   * in one generation, without a question (trial 13; only an empty input was refused). Editing a
   * notes folder removes a few notes between syncs, not most of them; half leaves that far behind.
   */
  syncMaxDeleteShare: 0.5,
  /**
   * …and never fewer than this many documents: on a small index (a folder of a dozen notes) half is
   * a handful, and removing five notes from a ten-note folder is an ordinary edit, not a wrong input.
   */
  syncMaxDeleteFloor: 10,
} as const;

/**
 * Writes that cost what they change (issue 20, src/mutate/index-updater.ts): an add writes the
 * doclens and IVF lists of its own passages as a delta (readers merge deltas after the base at
 * open) instead of rewriting the index's; a delete writes neither. Deltas are folded into a new
 * base when they grow past these bounds, so that a reader's merge stays small.
 */
export const WRITE_COST_DEFAULTS = {
  /**
   * Fold the deltas into a new base once their IVF entries pass this share of the base's. Each fold
   * rewrites the base, so with share s an entry is rewritten about 1 + 1/s times over its life
   * (geometric growth): 0.25 costs ≤ 5 writes of each entry, against one per write before, and
   * keeps the merge at open under a quarter of the base. 0 rewrites on every write (the behaviour
   * before deltas; bench/write-cost.ts measures both in one run).
   */
  deltaMergeShare: 0.25,
  /** Fold after this many deltas whatever their size: each costs three small files and a merge step at open. */
  maxDeltas: 32,
  /**
   * Pids per chunk of an in-place document store's pid → doc map (docstore/pid-doc-blob.ts): an add
   * rebuilds the chunks of its new pids from the passages table, a delete none. 65,536 pids =
   * 256 KiB a chunk: a 1M-passage map is 16 meta rows read at open, and an add scans at most 65,536
   * old passage rows, where every write scanned all of them to rebuild the single 4 MB blob
   * (bench/RESULTS.md, "Write cost": time, not bytes — SQLite skips unchanged overflow pages).
   */
  pidDocChunk: 65_536,
} as const;

/** Segments of a living index (trial of issue 20's writes; src/mutate/index-updater.ts, trailingSegmentsToMerge). */
export const SEGMENT_MERGE_DEFAULTS = {
  /**
   * F of the log merge policy: an add merges the last F − 1 segments of its level with its own, so
   * an index keeps at most F − 1 segments a level (log_F of its added tokens levels) and each token is
   * rewritten about once a level. 10 is Lucene's and tantivy's LogMergePolicy merge factor; cisi, 100
   * one-document adds: 105 segments without a policy.
   */
  mergeFactor: 10,
} as const;

/** Waiting for an index's write lock (src/mutate/lock-wait.ts): `plait add / delete / compact` and addCorpus. */
export const LOCK_WAIT_DEFAULTS = {
  /**
   * How long a writer waits for another writer's lock before INDEX_LOCKED, in ms. A `plait add`
   * that has spent minutes encoding must not lose that work to a writer that holds the lock for
   * seconds: a compaction or `plait backup` of a 1M-passage index holds it for seconds to a minute
   * (bench/RESULTS.md, "Write cost"), so one minute covers them; SQLite's busy_timeout plays the same
   * role. 0: fail at once (updateIndex itself never waits: it is synchronous and would block).
   */
  waitMs: 60_000,
  /** First pause between tries (ms), doubled up to maxPauseMs, with ±50% jitter so two waiters do not retry in step. */
  firstPauseMs: 25,
  /** Longest pause between tries (ms): a freed lock is taken within half a second. */
  maxPauseMs: 500,
} as const;

/** The write thread (src/mutate/write-thread.ts): deletes and compactions off the calling thread. */
export const WRITE_THREAD_DEFAULTS = {
  /**
   * Idle write threads kept for the next write, unreferenced. 1: a thread's start (the write path's
   * imports, SQLite and the addon) is paid once a process, not per delete; a second thread exists
   * only while two writes run at once (two indexes of one server) and ends with its write.
   */
  idleThreads: 1,
} as const;

/**
 * Filtered search (issue 12, src/search/filtered-search.ts exactFilter): when the allowed passages
 * are scored exactly instead of PLAID with the filter's marks. The exact scan costs ~5 µs a passage
 * (bundled model, 512-d, 2-bit); PLAID's cost grows with k (ndocs) and its top-k drifts from the
 * exhaustive filtered top-k as the filter gets selective (the filter removes the candidates its
 * probes find). Measured on cisi (3,157 passages) and scifact (24,014), filters passing ~100% to one
 * document, k 10 and 100: bench/RESULTS.md, "Filtered search by selectivity (polish6)".
 * The rule: exact when allowed ≤ exactPerNdocs × ndocs (no dearer than PLAID at this k), or when
 * allowed ≤ exactMaxShare of the index's passages and ≤ exactMaxPassages (selective and bounded).
 */
export const FILTER_DEFAULTS = {
  /**
   * The bound on a selective filter's exact scan (4,096 passages ≈ 20 ms): past it a filter is
   * served by PLAID with widening, whatever its share (a 5% filter of a 1M-passage index is 50k passages).
   */
  exactMaxPassages: 4096,
  /**
   * A filter passing at most this share of the index's passages is selective: PLAID's probes then
   * find too few allowed candidates and its top-10 matched the exhaustive filtered top-10 on 19/30
   * (cisi) and 22/30 (scifact) queries at 5%, against 27–29/30 unfiltered; the exact scan is exact.
   * Vespa's approximate-threshold (0.05) plays the same role; 10% because PLAID had already lost
   * that much at 5% (bench/RESULTS.md).
   */
  exactMaxShare: 0.1,
  /**
   * Whatever the share, the exact scan is taken while the allowed passages are at most this many
   * times PLAID's ndocs: PLAID's p50 cost equalled the exact scan of 3.7 × ndocs passages (cisi,
   * k 10), 1.5–2.8 × (cisi, k 100, two runs), 7.1 × (scifact, k 10) and 3.0 × (scifact, k 100);
   * at 2 the exact scan costs at most ~1.3× PLAID in the worst case measured, less in the others,
   * and is exact.
   */
  exactPerNdocs: 2,
} as const;

/** The client contract (issue 21): unknown-token warnings and filter limits (src/server, src/encoder/unknown-tokens.ts, src/docstore/metadata-filter.ts). */
export const CONTRACT_DEFAULTS = {
  /**
   * A query or document whose content tokens are unknown to the model above this share gets a
   * MOSTLY_UNKNOWN_TOKENS warning ("most": more than half). The bundled model maps each run of
   * characters it has no piece for (CJK, emoji) to one unknown token, so such texts embed alike
   * and tie; at half, a mixed "Tokyo 東京" (1 of 2 unknown) is not flagged, a text in a script the
   * model lacks always is.
   */
  unknownTokenShare: 0.5,
  /**
   * Values of one `$in`/`$nin`/`$all` list. Lists travel as ONE bound JSON parameter read with
   * `json_each`, so SQLite's limits (SQLITE_MAX_VARIABLE_NUMBER 32,766, SQLITE_MAX_EXPR_DEPTH
   * 1,000) do not bound them; 10,000 keeps a filter's compile and scan cost bounded (an id allow-list
   * of 10,000 doc_ids, a common case, fits).
   */
  maxFilterList: 10_000,
  /**
   * Bound parameters of one compiled filter: below SQLite's SQLITE_MAX_VARIABLE_NUMBER (32,766 since
   * 3.32) with room for the search's own parameters; each field test binds 1–3.
   */
  maxFilterParams: 30_000,
  /**
   * Nesting of $and/$or/$not in a filter. `$and`/`$or` lists compile to balanced trees (depth
   * log2(n)), so long lists never approach SQLite's SQLITE_MAX_EXPR_DEPTH of 1,000; each nesting
   * level costs up to ~8 expression levels, so 32 levels stay far inside it.
   */
  maxFilterDepth: 32,
} as const;

/** Learning to rank (issue 25, src/ltr/): LambdaMART training through XGBoost, and the candidate list it re-ranks. */
export const LTR_DEFAULTS = {
  /**
   * XGBoost objective. The issue asks for LambdaMART's rank:ndcg; rank:pairwise (RankNet's pairwise
   * loss without the ΔnDCG weight) measured better on both collections in 5-fold CV (nDCG@10 0.365
   * vs 0.359 on cranfield, 0.352 vs 0.348 on cisi; MRR@10 0.573 vs 0.563, 0.565 vs 0.553;
   * bench/RESULTS.md, "Learning to rank"), so it is the default; `--objective rank:ndcg` chooses
   * LambdaMART proper. Re-measure: `node dist/bench/ltr-cv.js <index> <beir-folder> cv`.
   */
  objective: 'rank:pairwise',
  /** Shrinkage: XGBoost's usual 0.1; with early stopping a smaller step only costs rounds. */
  eta: 0.1,
  /** Tree depth: 4 (16 leaves) is enough for a dozen features and a few thousand judged pairs; deeper trees overfit 76–225 queries. */
  maxDepth: 4,
  /**
   * Minimum hessian per leaf. XGBoost's default of 1 stops every split of a ranking objective on
   * small collections (a query's pairwise hessians sum well below 1: on a 30-query toy set no tree
   * grew), so plait lowers it; 0.1 still refuses leaves made of a single pair.
   */
  minChildWeight: 0.1,
  /** Most boosting rounds tried; early stopping usually ends far sooner. */
  maxRounds: 500,
  /** Early stopping: stop when the validation metric has not improved for this many rounds (XGBoost's usual 10–50). */
  earlyStoppingRounds: 30,
  /** Share of training queries held out (grouped by query) as the validation fold for early stopping. */
  validFraction: 0.2,
  /** Validation metric: nDCG@10, the figure plait reports first. */
  evalMetric: 'ndcg@10',
  /** Seed of the query split and of XGBoost, so that training is repeatable. */
  seed: 42,
  /** Candidates a trained model sees when `plait ltr train` is given no --pipeline: hybrid retrieval's top 100 (R@100 is where fusion already recalls most judged documents). */
  candidates: 'hybrid:100',
} as const;

/** Dynamic batching of concurrent encode calls (src/encoder/dynamic-batching.ts, issue 23). */
export const DYNAMIC_BATCHING_DEFAULTS = {
  /**
   * Most estimated token rows merged into one encoder call: TEI's default max_batch_tokens
   * (text-embeddings-inference, 16,384). 512 ColBERT queries of 32 tokens, or ~55 documents of 300;
   * a chunk also holds at most the inner encoder's batch (ENCODER_DEFAULTS.batchSize texts), which
   * binds first for ColBERT's 180-token documents. A request larger than this goes in chunks; one
   * text larger than this still goes, alone.
   */
  maxBatchTokens: 16_384,
} as const;

/**
 * PLAID's exact stage (stage 4) on the compressed codes (issue 22; src/codec/code-scorer.ts).
 * PLAIT_EXACT_SCORING=decompress|codes|codes-normalized|fastscan overrides `method` for one process (for
 * comparisons, like PLAIT_SIMD for the kernels).
 */
export const EXACT_SCORING_DEFAULTS = {
  /**
   * 'fastscan' (issue 22): q·c from candidate generation + q·r from 16-entry uint8 tables per query
   * token and residual nibble (pshufb / tbl over 64-token blocks), divided by the token's exact
   * ‖c + r‖ (cached per token on first use), as ColBERT's decompression normalises. Measured within
   * |ΔnDCG@10| ≤ 0.0015 of 'decompress' on cranfield, cisi and scifact, PLAID and hybrid, with 0.995–1.000
   * of each query's top-10 shared (bundled model, 2 bits; bench/RESULTS.md, "Fast-scan"), the bar
   * being 0.002; 1.9–2.5× the float MaxSim kernel per document token at 128 d × 32 q and 3.3–4.3×
   * at 512 d × 9 q (bench/code-scoring.ts). Explanations use the same similarities (src/search/explain.ts).
   * 'decompress': ColBERT's decompression and float MaxSim (the reference). 'codes': the int16
   * per-byte table without a norm (−0.0021 … +0.0040 there); 'codes-normalized': ‖c‖² + ‖r‖².
   * The default was 'decompress' for a while: after the merges a cluster's hybrid RRF top-10 differed
   * from one index's at rank 10 under fast-scan. That was a tie of fused scores (RRF ranks 9/51
   * against 51/9) broken by rowid on one index and by arrival number at the coordinator, not a score
   * that moved: every path scores a passage with the same bits (test/exact-paths.test.ts), and ties
   * now fall in document-id order on both (src/search/fusion.ts).
   */
  method: 'fastscan' as 'decompress' | 'codes' | 'codes-normalized' | 'fastscan',
} as const;

/**
 * Synonyms in a search request (`rewrite.synonyms` on POST /v1/indexes/{name}/search and /explain;
 * src/server/routes/search.ts). A request's lines are parsed on every request, so they are bounded
 * well below what a `plait serve --synonyms` file (parsed once, unbounded) may hold.
 */
export const REQUEST_SYNONYMS_DEFAULTS = {
  /** Lines one request may carry: a few hundred is what a per-tenant or per-query list holds; larger sets belong in a file. */
  maxLines: 1_000,
  /** Characters in one line: Solr lines are a handful of terms; a longer one is a mistake or abuse. */
  maxLineChars: 1_000,
} as const;

/** The cluster (src/cluster/, issue 24): replicas and the coordinator on NATS. */
export const CLUSTER_DEFAULTS = {
  /**
   * Wait for one replica's answer before the same request also goes to another replica of the
   * shard (a replica killed mid-request never answers; NATS moves later requests to the live ones
   * at once). A shard's search takes milliseconds to tens of ms, so 2 s means a replica is gone or
   * stuck, or the machine is loaded: the earlier attempt keeps waiting for its answer until the
   * deadline (a batch of 30 hybrid queries at load 15–18 took longer, and dropping each attempt at
   * 2 s left the shard missing), and each further retry waits twice as long; a request's own
   * deadline, when shorter, wins.
   */
  attemptTimeoutMs: 2000,
  /**
   * Query rewriting's `tokenize` (cluster-rewrite.ts) goes to one shard (any can answer: a build's
   * shards share the tokenizer); when none answered within this, the next shard is asked too, the
   * earlier ones still waited for, and the first answer wins. A tokenize is a few ms of work, so a
   * quarter second means the shard is slow or stuck; asking each shard in turn until the deadline
   * let a slow shard 0 fail every rewriting search (test/cluster-slow-rounds.test.ts).
   */
  tokenizeHedgeMs: 250,
  /**
   * Time kept back from the request's deadline for the merge and the HTTP answer: shards are asked
   * to answer by the deadline less this, so a shard that misses it leaves a degraded answer that
   * still goes out on time. A 10-shard merge of 100-hit lists takes well under 1 ms here.
   */
  answerMarginMs: 50,
  /**
   * Pause before asking a shard again when no replica is subscribed (NATS answers "no responders"
   * at once): a replica that is restarting re-subscribes within a few hundred ms, so a few tries
   * fit a normal deadline without spinning.
   */
  noRespondersBackoffMs: 50,
  /**
   * Share of a request's remaining time the statistics round may take (the search round gets the
   * rest): the round is a few ms when replicas are live, so a half only matters when a shard has
   * none — it is then given up at half time, and the other shards still have half to search.
   */
  statsBudgetShare: 0.5,
  /** How often the coordinator counts each shard's live replicas (the `replicas seen` gauge). */
  pingIntervalMs: 2000,
  /** How long one count waits for replicas' answers on loopback or a LAN. */
  pingWaitMs: 250,
  /** How long a coordinator waits at start for every shard's first `info` answer (replicas may start after it). */
  startWaitMs: 60_000,
  /**
   * With the cluster's folder at hand (its cluster.json gives the shard count and codebook), how
   * long after the first shard's answer the coordinator waits for the others before it starts and
   * answers without them (degraded): a replica that is up answers in milliseconds, so 2 s only
   * waits out replicas that are still loading their index.
   */
  startGraceMs: 2000,
  /**
   * How long leaving NATS (a replica's or coordinator's stop) waits for the drain to send in-flight
   * answers and acks before it closes the connection anyway: answers on loopback or a LAN take
   * milliseconds, so 5 s only waits out a server that stopped answering (the drain can then wait
   * for a reconnect that never comes).
   */
  natsDrainWaitMs: 5000,
} as const;

/**
 * Cluster writes (issue 24, src/cluster/ and src/server/routes/documents.ts): bounds of an HTTP
 * write, of a write-log entry, and of a replica's apply batches.
 */
export const CLUSTER_WRITE_DEFAULTS = {
  /**
   * Documents in one HTTP add/upsert request (more: 413 WRITE_TOO_LARGE). A write is encoded and
   * committed as one generation while it holds an admission slot. What bounds its work is its text,
   * not this count: the body limit (SERVER_DEFAULTS.maxBodyBytes, 1 MiB) holds ~3,100 passages
   * whether in 1 document or 256, and SERVER_DEFAULTS.writeTimeoutMs is sized for that full body.
   */
  maxDocuments: 256,
  /** Ids in one HTTP delete request: a delete costs an id lookup each, so far more than adds. */
  maxDeleteIds: 10_000,
  /**
   * Bytes of a write-log message kept free for NATS headers (write id, part numbers, dedupe id) and
   * the subject under the server's max_payload (1 MiB by default): the headers are ~150 bytes.
   */
  payloadHeadroomBytes: 1024,
  /**
   * Tries to publish a multi-part write with its parts contiguous in the stream (each part expects
   * the previous part's sequence): another writer's entry in between restarts the write.
   */
  publishAttempts: 8,
  /**
   * Backoff before a restarted multi-part write, in ms: uniform in [0, this · 2^attempt), so two
   * writers that cut each other's parts fall out of step (the full 8 tries wait ≤ ~5 s at most).
   */
  publishBackoffMs: 10,
  /**
   * A replica folds at most this many consecutive log writes into one commit. Each commit copies the
   * document store and writes a tombstone bitmap whatever its size, so batching is what makes
   * catch-up fast; 256 keeps one commit's memory (the batch's embeddings) to tens of MiB.
   */
  applyBatchWrites: 256,
  /** …and at most this many bytes of entries (the batch's embeddings live in memory until the commit). */
  applyBatchBytes: 64 << 20,
  /** Wait before retrying a batch that failed for a reason that may pass (the index locked by another writer). */
  applyRetryMs: 200,
  /**
   * Lifetime of a replica's pull request on its write stream (`expires` of the ordered consumer's
   * `consume()`; its idle heartbeat is half of it). After a NATS server restart the client checks
   * the consumer and, while JetStream is still recovering, backs off for this long before trying
   * again: at nats.js's default of 30 s a replica applied nothing for ~45 s after every restart
   * (trial 7, test/cluster-nats-restart.test.ts); at 5 s it resumes within ~6 s. The cost is one
   * pull request every 5 s per idle replica.
   */
  consumeExpiresMs: 5000,
  /**
   * Transactions and tracked writes (a delete with `--wait`) whose applied counts a replica
   * remembers for a writer's `--wait` (the last ones it applied; ~100 bytes each, a filter's
   * warnings a few hundred more, an add's type counts ~40 bytes per metadata field its documents
   * hold). A writer waits seconds, not 64 transactions, for its own.
   */
  appliedTransactionsKept: 64,
  /**
   * How often `plait cluster add --wait` (and `delete --wait`) asks the shards' replicas (ping, every replica answers) how
   * far they applied: a round costs one request per shard; replicas apply in ms to seconds.
   */
  waitPollMs: 250,
  /**
   * How long a filter delete published without a wait (`plait cluster delete --filter`, a
   * coordinator's POST …/documents/delete) first waits for one replica per shard to count what the
   * filter matches (filter-preview.ts): a count is one SQLite query on a replica, ms on loopback or
   * a LAN; past this the shard is "not asked" and the delete goes ahead without the preview.
   */
  filterPreviewMs: 2000,
  /**
   * How long a waited add (`plait cluster add --wait`, a coordinator's add with wait_ms) waits, after
   * its replicas applied it, for one replica of each other shard to answer its counts of the fields
   * the add touched (`types`, replica-wait.ts clusterAddTypes): a read of a few rows of the shard's
   * `metadata_types` table, plus one example document per type found, ms on loopback or a LAN; past
   * this the cluster's types are "unknown" and each shard's own METADATA_TYPE_MIXED is said instead.
   */
  typeCountsMs: 2000,
} as const;

/**
 * Loose ends of the living index found by a new user's trial (issue 20's polish): how much an error
 * quotes of the documents `--skip-invalid` skipped, and how many added tokens `plait info` needs
 * before it judges drift.
 */
export const CORPUS_REPORT_DEFAULTS = {
  /**
   * Skipped documents whose reasons the corpus report keeps (report.firstSkipped) and an error that
   * names the skipped count quotes (EMPTY_CORPUS after every line was skipped): the first few show
   * whether one mistake repeats (a wrong --text-field) or the lines are broken in different ways,
   * and three keep the message on a terminal's screen.
   */
  firstSkipped: 3,
} as const;

export const DRIFT_DEFAULTS = {
  /**
   * Added tokens still indexed (manifest.drift.liveAddedTokens) below which `plait info` does not judge drift ("too few added
   * tokens to judge") and never recommends a rebuild. The drift ratio compares the mean |residual|
   * of the added tokens with the build's held-out tokens (thousands: 5% of the k-means sample, up to
   * 50,000); the tokens of one passage share its topic and are far from independent, so a handful of
   * added documents (the trial's 3 documents, 87 tokens) measure those documents, not a shift of the
   * corpus. 4,096 tokens is about 40 passages of the bundled model's ~100-token passages — dozens of
   * independent texts — and 1/12 of the held-out cap, while still a small share of any index that is
   * worth re-clustering. Below it the figures are still recorded (manifest.drift) and shown.
   */
  minAddedTokens: 4096,
  /**
   * A build's mean |residual| (manifest.drift.buildMeanDistance, the codec's avgResidual) below which
   * `plait info` gives no drift ratio: the build had as many centroids as tokens (a corpus of a few
   * short documents), so every residual was zero up to float rounding (7.4e-7 measured for the
   * bundled model's 2 documents of 12 tokens, 1.5e-5 for test/info-tiny-index.test.ts's 16-d
   * synthetic index) and the ratio read "59179.36×". Builds with residuals measure 0.024–0.027 (the
   * bundled model on 20–500 cisi documents), 240× this bound; the rounding is 6× below it or more.
   */
  zeroBuildDistance: 1e-4,
} as const;

/**
 * `plait eval <BEIR folder> --index <existing index>` reuses the index without rebuilding it; these
 * bound the check that it holds the folder's corpus (cli/corpus-match.ts), found in a new user's
 * trial: cisi's qrels evaluated on a cranfield index (ids 1…1,460 and 1…1,400 overlap) gave nDCG@10
 * 0.022 without a word.
 */
export const EVAL_CORPUS_CHECK_DEFAULTS = {
  /**
   * Leading documents of corpus.jsonl compared (id, title and text) with the index's stored ones:
   * read as a stream, so a 3 GB corpus costs 16 lines; one matching document shows the index was
   * built from this corpus (a later add or delete changes few), none of 16 that it was not.
   */
  documents: 16,
} as const;

/**
 * Upper bounds of PLAID's count settings (polish5): ncells (nIvfProbe, n_ivf_probe), ndocs, and the
 * library's nIvfProbeTotal and nExact. A value past the bound is refused with INVALID_ARGUMENT
 * (search-options.ts resolveSearch, the CLI's flags, the HTTP schema); before, any integer was taken —
 * 1e20 and 2^53 + 1 (printed back rounded) alike. Past an index's size a setting changes nothing:
 * ncells ≥ K probes every centroid and ndocs ≥ the passages keeps every candidate (ColBERT's searcher
 * clamps ndocs the same way, `if config.ndocs < len(approx_scores)` in colbert/search/index_storage.py,
 * while an ncells past K fails there in torch.topk), so a bound well past any index costs no search.
 */
export const PLAID_LIMITS = {
  /**
   * 2^22 = 4,194,304: 4× the passages of the largest index measured (1M, bench/RESULTS.md "The 1M
   * goal"), 256× the largest K built here (16,384), and small enough that the two widening rounds'
   * ×4 each (late-ranking.ts) keep every depth PLAID derives (2^26 at most) within the native
   * kernels' counts, int32 (native-kernels/src/addon.cc `count`).
   */
  maxCount: 4_194_304,
} as const;

/** The warm-up of a search's one-time setup (src/search/warm-up.ts; `PlaitIndex.warmUp`, the server's warm-up). */
export const WARM_UP_DEFAULTS = {
  /**
   * Rows of the warm-up query (the index's first centroids): ColBERT's query length (query_maxlen
   * 32), so the query-sized scratch buffers and LUTs are the size a user's query needs.
   */
  queryTokens: 32,
  /**
   * How long a worker's warm-up task waits for the pool's other workers at the barrier that gives
   * each worker one task (warm-up.ts arriveAndWait): workers start in tens of ms; past this one goes
   * on alone rather than hang a server's start on a worker that did not come up.
   */
  barrierTimeoutMs: 10_000,
} as const;

/**
 * A living index's refresh onto its next generation (src/search/plait-index.ts refresh,
 * src/search/generation-carry.ts): the work it does on the serving thread is cut into steps of
 * these sizes, the event loop running between them, so that no step holds a server's requests
 * (its /health probes) much past a few ms. Measured: bench/RESULTS.md, "Refresh off the serving
 * thread's critical path".
 */
export const REFRESH_DEFAULTS = {
  /**
   * Bytes of the centroids compared per step when deciding whether the next generation's int8
   * centroids can be carried over (scifact's are 32 MiB): memcmp runs at ≥ 1 GB/s even on the
   * loaded 2-core dev machine, so 4 MiB is ≤ 4 ms a step, 8 steps for scifact.
   */
  compareBytesPerStep: 4 * 1024 * 1024,
  /**
   * Rows of the document store read per step when the next generation's BM25 length table and
   * query-token IDF table are loaded before it is served (docstore-reader.ts loadTables): reading
   * scifact's 5,183 lengths took 20–90 ms in one block under load (≈ 5–15 µs a row through
   * better-sqlite3, up to 10 µs at load 15); 1,024 rows is 3–10 ms a step.
   */
  tableRowsPerStep: 1024,
} as const;

/** Tables an index's scoring threads derive once and share (src/search/shared-tables.ts, src/util/shared-once.ts). */
export const SHARED_TABLES_DEFAULTS = {
  /**
   * How long a thread that needs a shared table (the int8 centroids, the exact stage's norm cache)
   * waits for the thread filling it before it fills a private copy instead: a fill takes seconds at
   * most (scifact's 16,384 × 512 int8 centroids: ~0.1 s at load 3–4, 1.5 s at load 15 on 2 cores;
   * bench/RESULTS.md, "Scoring workers' start, shared tables"), so 20× that is only reached when the
   * filling thread was terminated mid-fill (its pool closed); the results are the same, only the
   * memory is not shared.
   */
  fillWaitMs: 30_000,
} as const;

/** Worker pools that run onnxruntime graphs (src/util/onnx-pool.ts). */
export const POOL_DEFAULTS = {
  /** An idle encoder or cross-encoder worker keeps its loaded session this long (ms): a minute spans the gaps between a server's requests without holding memory for good. */
  onnxIdleTimeoutMs: 60_000,
  /**
   * How long a pool's close waits for the graphs still running (ms) before it terminates their
   * workers anyway (which aborts the process if a run is still going). One batch of 32 documents of
   * 512 tokens takes seconds on a slow core; two minutes leaves a wide margin over any batch.
   */
  onnxCloseTimeoutMs: 120_000,
} as const;

/** Fusion bounds a search's options are checked against (library and HTTP alike). */
export const FUSION_LIMITS = {
  /**
   * Largest RRF constant k (1/(k + rank) per list). The paper's is 60 (Cormack, Clarke & Büttcher
   * 2009, which tried values up to 500); by a million every rank of a 10,000-deep list weighs the
   * same to within 1%, so fusion has become a count of the lists holding a document. Unbounded,
   * `rrfK: 1e20` scored every document 2e-20 (an arbitrary tie), -5 gave Infinity and NaN gave NaN.
   */
  maxRrfK: 1_000_000,
} as const;

/** Bounds on worker-thread counts (encoder, cross-encoder, scoring workers), library, CLI and server alike. */
export const THREAD_LIMITS = {
  /**
   * Most worker threads one pool may be asked for. Each encoder or cross-encoder worker loads its own
   * onnxruntime session (tens to hundreds of MB) and each scoring worker maps the index: a typo such
   * as `--threads 100000` would try to start them all. The largest x86 servers today have 384–512
   * hardware threads (2 × 192-core EPYC), so 1,024 refuses only mistakes.
   */
  maxThreads: 1024,
  /**
   * Scoring workers when 'auto' (`plait serve`'s default, `openIndex(…, { workers: 'auto' })`): one per
   * core up to this many: the query encoder and the HTTP thread need a core too, and each scoring
   * thread per served index costs a worker's memory; the server's cap since its first release (a
   * caller wanting more gives the number; search/scoring-workers.ts).
   */
  autoScoringWorkersMax: 4,
} as const;
