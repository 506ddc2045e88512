/**
 * plait's public API. Everything a library user needs is re-exported here by name; deeper imports
 * are not part of the API.
 */

// Errors and defaults
export { PlaitError, isPlaitError, ERROR_TEMPLATES } from './errors/index.js';
export type { ErrorCode, ErrorDetails } from './errors/index.js';
export {
  ENCODER_DEFAULTS,
  BUILD_DEFAULTS,
  SEARCH_DEFAULTS,
  RERANK_DEFAULTS,
  EVAL_DEFAULTS,
  plaidDefaultsFor,
} from './config/defaults.js';
export type { PlaidParams } from './config/defaults.js';

// Candidate generation (issue 22, part B): ColBERT's table as the baseline, int8 stage-1 settings
export { CANDIDATE_DEFAULTS, colbertDefaultsFor } from './config/defaults.js';
export type { CentroidScoring } from './config/defaults.js';

// Candidate ranking (issue 22, part C): WARP-style probed-token scores
export { INTERACTION_SCORINGS } from './config/defaults.js';
export type { InteractionScoring } from './config/defaults.js';
export { probedTokenScores } from './search/probed-token-interaction.js';

// Encoders
export { createEncoder } from './encoder/create-encoder.js';
export { resolveModelSpec, resolveModelGraph } from './encoder/resolve-model.js';
export type { ResolveModelOptions, ResolvedModelGraph } from './encoder/resolve-model.js';
export { pullModel, cachedModel, defaultCacheDir } from './encoder/hub/index.js';
export type { PullOptions, PullProgress, PulledModel } from './encoder/hub/index.js';
export type {
  Encoder,
  EncoderOptions,
  ModelInfo,
  ModelSpec,
  TokenEmbeddings,
  TokenizedText,
  TextKind,
} from './encoder/types.js';

// Checkpoint conversion (BERT weights → ONNX graph, cached with a manifest)
export { ensureConvertedGraph, convertManifestFor, isConvertibleCheckpoint, CONVERT_MANIFEST_FILE } from './encoder/convert/index.js';
export type { ConvertedGraph, ConvertManifest, ConvertOptions, ConvertedHead } from './encoder/convert/index.js';
// ModernBERT and int8 graphs (issue 23)
export { DynamicBatchingEncoder } from './encoder/dynamic-batching.js';
export type { DynamicBatchingOptions } from './encoder/dynamic-batching.js';
export type { ModelArchitecture, BertArchitecture, ModernBertArchitecture, GraphQuantization } from './encoder/convert/index.js';

// Kernels
export { getKernels, kernelsStatus, typescriptKernels, nativeKernels } from './kernels/index.js';
export type { Kernels, KernelsName, KernelsStatus } from './kernels/index.js';
// fast-scan's lookup path, as KernelsStatus.fastScanPath names it (issue 22, part F)
export type { FastScanPathName } from './kernels/index.js';

// Codec
export { ResidualCodec, residualBytes } from './codec/residual-codec.js';
export type { Nbits, CompressedVectors } from './codec/residual-codec.js';
// Ternary codec (issue 22): nbits = TERNARY_NBITS selects it in buildIndex / buildIndexFromEmbeddings.
export { TERNARY_NBITS, parseNbits, nbitsName } from './kernels/validate.js';
export { fitTernary, type TernaryLevels } from './codec/ternary-fit.js';
export { TERNARY_FORMAT_VERSION } from './format/manifest.js';

// Building indexes
export { buildIndex } from './indexer/build-index.js';
export type { BuildOptions, BuildProgress, BuildResult, BuildPhase } from './indexer/build-index.js';
export { buildIndexFromEmbeddings } from './indexer/build-from-embeddings.js';
export type { EmbeddingsBuildOptions } from './indexer/build-from-embeddings.js';
export type { EmbeddingSource } from './indexer/compress-passages.js';
export { openCorpus, countDocuments } from './indexer/corpus/index.js';
export type { CorpusDocument, CorpusFormat, CorpusInput, CorpusReader, CorpusReaderOptions, CorpusReadReport } from './indexer/corpus/index.js';
export { splitIntoPassages } from './indexer/split-passages.js';

// Index format and document store
export { readManifest } from './format/index-reader.js';
export { FORMAT_VERSION, INDEX_FILES } from './format/manifest.js';
export type { IndexManifest } from './format/manifest.js';
export { resolveIndexPath, indexHome } from './format/index-path.js';
export { DocStoreReader, DocStoreWriter } from './docstore/index.js';
export type { StoredDocument, StoredPassage, Bm25Hit } from './docstore/index.js';

// Search and rerank
export { openIndex, PlaitIndex, checkModel } from './search/plait-index.js';
export type { OpenIndexOptions, SearchHit, SearchMode, SearchOptions, SearchResult, SearchTimings } from './search/plait-index.js';
export type { ExplainOptions, Explanation, TokenMatch, ExplainedToken, HybridParts } from './search/plait-index.js';
export type { HighlightOptions, HitHighlights, LateHighlights, LateSpan, Bm25Highlights, TextSpan, Snippet, HighlightField } from './search/highlights.js';
export type { RowToken, TokenRole } from './encoder/types.js';
export type { Bm25TermMatch } from './docstore/index.js';
export { Reranker, rerank, closeRerankers } from './rerank/reranker.js';
// Search edge cases (engine, issue 8): why a query got no hits; MaxSim of a token-less document.
export type { EmptyReason } from './search/query-text.js';
export { MAXSIM_EMPTY_TOKEN } from './kernels/types.js';
export type { RerankDocument, RerankOptions, RerankResult, RerankUsage, RerankerOptions } from './rerank/reranker.js';
// The library's rerank document model, the HTTP routes' (strings, { id?, text }, any object by rankFields).
export { rerankDocuments } from './rerank/rerank-documents.js';
export type { RerankInput, RankedDocument, RankedDocuments, RerankDocumentsOptions, RerankWarning } from './rerank/rerank-documents.js';
export type { MissingRankFieldsWarning } from './rerank/field-lines.js';

// Cross-encoder final stage and staged pipelines (issue 11)
export { CROSS_ENCODER_DEFAULTS, PIPELINE_DEFAULTS } from './config/defaults.js';
export { CrossEncoder, crossEncoderFiles, resolveCrossEncoder, relevantClass } from './rerank/cross-encoder/index.js';
export type { CrossEncoderOptions, CrossScoreOptions, CrossScoreStats, CrossScorer, CrossEncoderFiles, CrossEncoderVariant, ResolveCrossEncoderOptions } from './rerank/cross-encoder/index.js';
export { SearchPipeline, runPipeline, parsePipeline, validateStages, formatPipeline, CircuitBreaker, STAGE_NAMES } from './pipeline/index.js';
export type {
  PipelineResult,
  PipelineWarning,
  PipelineStage,
  PipelineRunOptions,
  SearchPipelineOptions,
  StageName,
  StageReport,
  Degradation,
  DegradeReason,
  BreakerState,
  BreakerSnapshot,
  CircuitBreakerOptions,
} from './pipeline/index.js';

// Evaluation
export {
  readQueries,
  readQrels,
  readRun,
  writeRun,
  // The readers' and writer's in-memory twins (text in, text out), which README lists beside them.
  parseQueries,
  parseQrels,
  parseRun,
  formatRun,
  evaluateRun,
  pairedRandomizationTest,
  pairedTTest,
  latencyStats,
  buildComparison,
  renderTable,
  renderReportHtml,
} from './eval/index.js';
export type { EvalQuery, Qrels, Run, RunHit, EvalResult, MetricName, MetricValues, LatencyStats, Comparison } from './eval/index.js';

// Calibration of PLAID settings per index (issue 16)
export { calibrateIndex } from './calibrate/calibrate-index.js';
export type { CalibrateOptions, CalibrationResult } from './calibrate/calibrate-index.js';
export { drawPseudoQueries, queryLogSample } from './calibrate/pseudo-queries.js';
export type { PseudoQuery, PseudoQueryKind, PseudoQueryOptions } from './calibrate/pseudo-queries.js';
export { calibratedPlaidParams, writeCalibration } from './format/calibration-record.js';
export type { IndexCalibration, CalibratedBucket } from './format/calibration-record.js';
// CLI and files hardening (issue 8): index name lookup, build clean-up, skipped queries, report provenance
export { locateIndex, indexCandidates } from './format/index-path.js';
export { cleanStaleBuilds, removeActiveBuildDirs } from './format/publish.js';
export type { SkippedQuery, ComparisonMeta } from './eval/index.js';
// Index format 2 and scale (issue 9): segments, memory mapping, integrity checks, long documents
export { verifyIndex, loadIndexData } from './format/index-reader.js';
export type { IndexData, IndexSegment, LoadIndexOptions, VerifyMode } from './format/index-reader.js';
export { segmentFileName, listedFiles } from './format/manifest.js';
export type { SegmentEntry, FileEntry } from './format/manifest.js';
export { splitLongText } from './indexer/split-passages.js';

// Living index (issue 12): generations, add/upsert/delete, compaction, write lock, metadata filters
export { updateIndex, compactIndex, needsCompaction } from './mutate/index-updater.js';
export type { EncodedDocument, UpdateRequest, UpdateResult, UpdateOptions } from './mutate/index-updater.js';
// The same writes on the write thread: the caller's event loop keeps running (mutate/write-thread.ts).
export { updateIndexOffThread, compactIndexOffThread } from './mutate/write-thread.js';
export type { OffThreadWriteOptions } from './mutate/write-thread.js';
// What a write's `metadataWarnings` and a search's `filterWarnings` hold (METADATA_TYPE_MIXED, FILTER_*).
export type { MetadataTypeWarning, MixedTypeCount } from './docstore/metadata-types.js';
export type { FilterWarning, FilterWarningCode, JsonType } from './docstore/metadata-catalogue.js';
// A consistent copy of a serving, changing index (plait backup; trial of issue 20's writes).
export { backupIndex } from './mutate/index-backup.js';
export { withLockWait } from './mutate/lock-wait.js';
export type { LockWaitOptions } from './mutate/lock-wait.js';
export { LOCK_WAIT_DEFAULTS } from './config/defaults.js';
export type { BackupResult } from './mutate/index-backup.js';
// The way back from a backup (plait restore): checked whole first, one commit over the target.
export { restoreIndex, verifyBackup } from './mutate/index-restore.js';
export type { RestoreOptions, RestoreResult } from './mutate/index-restore.js';
export { addCorpus } from './mutate/add-corpus.js';
export type { AddCorpusOptions, AddCorpusResult } from './mutate/add-corpus.js';
export { encodeDocuments } from './mutate/encode-documents.js';
export { acquireWriteLock, lockKind, LOCK_FILE, LOCK_RECORD_FILE, LOCK_BREAK_FILE } from './format/write-lock.js';
export type { WriteLock, LockKind } from './format/write-lock.js';
// One door into an index folder (issue 20): the index transaction every change goes through.
export { IndexTransaction, withTransaction, commitIdOf, contentCommitOf, genFileName, genSegmentStem, MANAGED_FILE } from './format/index-transaction.js';
export type { FsOp, TransactionOptions, CommitParticipant } from './format/index-transaction.js';
// The document store changed in place (issue 20): readers pinned to a commit, the store's commit record.
export type { DocStoreOpenOptions } from './docstore/docstore-reader.js';
export { readCommitRecord, COMMIT_RECORD_KEY } from './docstore/store-commit.js';
export type { WriteCalibrationOptions } from './format/calibration-record.js';
export type { ArraysDelta, NamedFile } from './format/manifest.js';
export { WRITE_COST_DEFAULTS } from './config/defaults.js';
export { compileFilter, parseFilter } from './docstore/metadata-filter.js';
export type { MetadataFilter, FilterCondition, FilterScalar, CompiledFilter } from './docstore/metadata-filter.js';
export type { AddOptions, WriteOptions } from './search/plait-index.js';
export type { DriftFigures } from './format/manifest.js';

// Two-level centroid assignment in the build (issue 9): the option and its manifest record
export type { CentroidAssignment, CentroidAssignmentOptions } from './indexer/two-level-assign.js';
export type { CentroidAssignmentRecord, CorpusFieldNames } from './format/manifest.js';

// Framework integrations (issue 21) are subpath exports, deliberately not re-exported here, so that
// `import 'plait'` never loads a framework (they are optional peer dependencies):
// 'plait/langchain' → src/integrations/langchain.ts, 'plait/ai-sdk' → src/integrations/ai-sdk.ts.
// Query rewriting (issue 26): BM25 stemming, spelling correction, synonyms, RM3 and ColBERT-PRF.
export { QueryRewriter, resolveRewrite } from './rewrite/query-rewriter.js';
export type { QueryRewrite, RewriteOptions, RewrittenQuery } from './rewrite/query-rewriter.js';
export { SpellingCorrector } from './rewrite/spelling.js';
export { editDistance } from './util/edit-distance.js';
export type { SpellingCorrection } from './rewrite/spelling.js';
export { parseSynonyms, readSynonyms } from './rewrite/synonyms.js';
export type { SynonymMap, SynonymRule, ParseSynonymsOptions } from './rewrite/synonyms.js';
export type { Rm3Options } from './rewrite/rm3.js';
export { BM25_STEMMERS } from './docstore/schema.js';
export type { Bm25Stemmer } from './docstore/schema.js';
export type { Bm25Query, WordVocabulary } from './docstore/docstore-reader.js';
export { SPELLING_DEFAULTS, RM3_DEFAULTS } from './config/defaults.js';
// The client contract (issue 21): unknown-token warnings, the owned deadline, breaker permits
export { CONTRACT_DEFAULTS } from './config/defaults.js';
export { countUnknownTokens, unknownTokenWarning } from './encoder/unknown-tokens.js';
export type { TextWarning, UnknownTokenCount } from './encoder/unknown-tokens.js';
export { OwnedAbort } from './search/deadline.js';
export type { BreakerPermit } from './pipeline/index.js';
// Learning to rank (issue 25): LambdaMART through XGBoost, scored in TypeScript; the pipeline's ltr stage
export { TreeEnsemble, LtrModel, LTR_MODEL_FORMAT, LTR_MODEL_VERSION, LTR_FEATURE_SET_VERSION, LTR_BASE_FEATURES, LTR_META_PREFIX, featureNames, computeFeatures, trainXgboost, collectLtrGroups, trainLtrModel, explainLtr, queryFolds } from './ltr/index.js';
export type { RegressionTree, FeatureContributions, LtrModelFile, LtrTrainingRecord, LtrExplanation, CandidateSignals, FeatureCandidate, LtrBaseFeature, LtrGroup, XgboostTrainOptions, XgboostTrainResult, CollectOptions, LtrDocExplanation } from './ltr/index.js';
export { LTR_DEFAULTS } from './config/defaults.js';
// Exact scoring on the stored codes (issue 22, part A): PLAID's stage 4 without decompression
export { EXACT_SCORING_DEFAULTS } from './config/defaults.js';
export { EXACT_SCORING_METHODS, exactScoringMethod, prepareCodeQuery, scoreOnCodes, supportsCodeScoring, supportsFastScan, centroidNormsSq, codeLutLanes } from './codec/code-scorer.js';
export type { ExactScoringMethod, CodeScoringMethod, CodeQuery, LutCodeQuery, FastScanCodeQuery, CodeScoringCodec } from './codec/code-scorer.js';
// Ternary scored on its codes (issue 22): prepareCodeQuery's answer for a ternary index.
export type { TernaryCodeQuery } from './codec/code-scorer.js';
export { FAST_SCAN_MAX_BYTES } from './kernels/fast-scan.js';
// Loose ends of issues 21–26 (polish): the server passes its rewrites to searchEncodedBatch
export type { EncodedSearchOptions } from './search/plait-index.js';
// … and the corpus reader's warning for top-level fields it does not read (they belong under "metadata")
export type { CorpusWarning, IgnoredField } from './indexer/corpus/index.js';
// … and the bounds of a search request's own synonym lines
export { REQUEST_SYNONYMS_DEFAULTS } from './config/defaults.js';
// The cluster (issue 24): sharded build, replicas and coordinator on NATS (src/cluster/)
export { CLUSTER_DEFAULTS } from './config/defaults.js';
export { shardOf, shardKeyOf, jumpConsistentHash } from './cluster/shard-of.js';
export { clusterSubjects } from './cluster/subjects.js';
export type { ClusterSubjects } from './cluster/subjects.js';
export { buildShardedIndex } from './cluster/sharded-build.js';
export type { ShardedBuildOptions, ShardedBuildResult } from './cluster/sharded-build.js';
export { readClusterManifest, codebookChecksum, shardDir, CLUSTER_MANIFEST_FILE } from './cluster/cluster-manifest.js';
export type { ClusterManifest } from './cluster/cluster-manifest.js';
export { ShardReplica, natsConnect } from './cluster/shard-replica.js';
export type { ShardReplicaOptions } from './cluster/shard-replica.js';
export { ClusterIndex, mergeLists, mergeHybrid } from './cluster/cluster-index.js';
export type { ClusterSearchOptions } from './cluster/cluster-index.js';
export { ShardClient } from './cluster/shard-client.js';
export type { ShardOutcome } from './cluster/shard-client.js';
// ColBERT-PRF in three steps that one index and a cluster's coordinator share (EncodedSearchOptions.prfRows carries the chosen rows)
export { prfCodeCounts, choosePrfCentroids, appendPrfRows, prfCellSizes } from './search/colbert-prf.js';
export type { PrfRows } from './search/colbert-prf.js';
export type { GlobalStats } from './search/search-options.js';
export type { Bm25CorpusStats } from './docstore/bm25.js';
// Cluster writes (issue 24): the JetStream write log per shard, the replica's applier, read-your-writes, shard files in the object store
export { CLUSTER_WRITE_DEFAULTS } from './config/defaults.js';
export { WriteLog, ensureWriteStream, WRITE_HEADER, PART_HEADER, TXN_HEADER, COMMIT_HEADER } from './cluster/write-log.js';
export { WriteTransaction } from './cluster/write-transaction.js';
export type { ShardCommitAck, TransactionAck, TransactionApplied } from './cluster/write-transaction.js';
export { waitForReplicas } from './cluster/replica-wait.js';
export type { ReplicasWait, ReplicaApplied } from './cluster/replica-wait.js';
export type { WriteLogOptions, WriteAck, ShardAck, AppendOptions } from './cluster/write-log.js';
// WRITE_PARTIAL's details.stored / details.failed entries (a write stored on some shards' logs only).
export type { PartialShard } from './cluster/partial-write.js';
export type { TypesRoundOptions, ClusterAddTypes } from './cluster/replica-wait.js';
export { checkWrite, splitWrite, encodeWrite, decodeWrite, foldWrites } from './cluster/write-entry.js';
export type { ClusterWrite } from './cluster/write-entry.js';
export { encodeClusterWrite } from './cluster/encode-write.js';
export type { DocumentsWrite } from './cluster/encode-write.js';
export { LogApplier } from './cluster/log-applier.js';
export type { LogApplierOptions, AppliedBatch } from './cluster/log-applier.js';
export { AppliedSequence } from './cluster/applied-sequence.js';
export type { WaitOptions, WaitResult } from './cluster/applied-sequence.js';
export { publishShard, fetchShard, publishCluster, fetchClusterShard, shardObjectName, clusterLayout } from './cluster/shard-files.js';
export type { ShardFilesResult, ClusterLayout } from './cluster/shard-files.js';
// trial3: the cluster a folder belongs to (its cluster.json's name; copies keep it), and where a
// cluster's folder is (as given, then under the index home)
export { clusterNameAt } from './cluster/shard-files.js';
export { findClusterRoot, resolveShardPath } from './cluster/cluster-manifest.js';
export { addCorpusToCluster, deleteFromCluster } from './cluster/cluster-writer.js';
export type { ClusterAddOptions, ClusterAddResult, ClusterDeleteOptions, ClusterDeleteResult, ClusterWriteResult } from './cluster/cluster-writer.js';
export type { AppliedLog } from './format/manifest.js';

// Loose ends of the living index (issue 20's polish): interrupted writes, a new folder's
// destination, what --skip-invalid skipped, the drift sample, the in-place check of a build's store.
export { observeTransactions, abortOpenTransactions } from './format/index-transaction.js';
export type { TransactionEvent } from './format/index-transaction.js';
export { abortActiveBackups } from './mutate/index-backup.js';
export { checkFolderDestination, occupiedDestination } from './format/index-path.js';
export type { FolderDestination } from './format/index-path.js';
export { emptyCorpusError } from './indexer/corpus/index.js';
export type { SkippedDocument } from './indexer/corpus/index.js';
export { inPlaceUnchecked } from './format/manifest.js';
export { CORPUS_REPORT_DEFAULTS, DRIFT_DEFAULTS } from './config/defaults.js';
// Pipelines and query rewriting on a cluster's coordinator (issue 24): the index the stages ask, and the rewriter's source
export { localPipelineIndex } from './pipeline/pipeline-index.js';
export type { PipelineIndex, PipelineDocument, PassageRef } from './pipeline/pipeline-index.js';
export type { ClusterCallOptions } from './cluster/cluster-index.js';
export type { RewriteSource } from './rewrite/query-rewriter.js';
// PLAID baselines (issue 22): which table fills the PLAID search fields left out ('colbert' = ColBERT's searcher exactly)
export { PLAID_DEFAULTS_TABLES } from './search/search-options.js';
export type { PlaidDefaultsTable } from './search/search-options.js';

// Loose ends of the new user's trial (polish4): the corpus reader's skip reasons and the error code each stands for.
export { SKIP_REASON_CODES } from './indexer/corpus/index.js';

// Search speed's user-facing side (polish5): each round of late ranking as it ran (SearchTimings.rounds).
export type { LateRound } from './search/late-ranking.js';
export type { WarmUpOptions } from './search/plait-index.js';

// Cancellable writes and encodes: `add(docs, { signal })`, `encodeDocuments(texts, { signal })`; strict number text.
export type { EncodeOptions } from './encoder/types.js';
export { parseInteger, parseDecimal } from './config/parse-number.js';
// Unknown option keys refused by name (polish6): each options type's key table and the checker's types.
export { SEARCH_OPTION_KEYS } from './search/search-options.js';
export type { OptionKeys } from './util/option-keys.js';
// Defects left open (left7): a sharded build's shard count rule, and the option types whose keys are now checked.
export { shardCountFor } from './cluster/sharded-build.js';
export type { CrossRerankOptions } from './rerank/cross-encoder/index.js';
export type { RerankEncodedOptions } from './search/plait-index.js';
export type { CompactOptions } from './mutate/index-updater.js';
export type { ClusterDeletion } from './cluster/cluster-writer.js';
export type { ExplainLtrOptions } from './ltr/explain-ltr.js';
// Which search option applies where (modes7): the one table the library, HTTP and the CLI refuse by, and the trim for one mode.
export { SEARCH_OPTION_RULES, EXPLAIN_OPTION_SCOPES, applicableSearchOptions, checkOptionsApply, scopeApplies } from './search/option-scope.js';
export type { OptionScope, OptionRule, PipelineScope, RuledOption, SearchShape, OptionScopes } from './search/option-scope.js';
// left8: a pipeline setting that reaches no stage is refused (pipeline/pipeline-settings.ts); IndexTransaction.commit's options type.
export { checkSearchSettingsReachStages, checkStageSettings } from './pipeline/pipeline-settings.js';
export type { CommitOptions } from './format/index-transaction.js';
// The options types of exported functions and methods that had no exported name (lib8): a caller
// building its options apart (`const opts: RerankCallOptions = …`) had to reach for Parameters<>.
export type { RerankCallOptions } from './rerank/reranker.js';
export type { IndexRerankOptions } from './search/plait-index.js';
export type { CrossEncoderFilesOptions } from './rerank/cross-encoder/cross-encoder-files.js';
export type { EncodeDocumentsOptions } from './mutate/encode-documents.js';
export type { EncodeClusterWriteOptions } from './cluster/encode-write.js';
export type { LoadIndexDataOptions } from './format/index-reader.js';
export type { EvaluateOptions, ReadRunOptions, WriteRunOptions } from './eval/index.js';
// buildIndex from documents held in memory (lib8): `buildIndex([{ docId, text, title?, metadata? }], { index })`.
export type { CorpusDocumentInput } from './indexer/corpus/index.js';
