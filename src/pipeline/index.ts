export { SearchPipeline, runPipeline } from './search-pipeline.js';
export type { PipelineResult, PipelineWarning, StageReport, Degradation, DegradeReason, SearchPipelineOptions, PipelineRunOptions } from './search-pipeline.js';
export { parsePipeline, validateStages, formatPipeline, stageLabel, STAGE_NAMES, RETRIEVAL_STAGES } from './pipeline-spec.js';
export type { PipelineStage, StageName } from './pipeline-spec.js';
export { CircuitBreaker } from './circuit-breaker.js';
export type { BreakerState, BreakerSnapshot, BreakerPermit, CallOutcome, CircuitBreakerOptions } from './circuit-breaker.js';
export { passageTexts, localPipelineIndex } from './pipeline-index.js';
export type { PipelineIndex, PipelineDocument, PassageRef } from './pipeline-index.js';
export type { Candidate, StageSearchOptions, CandidateSignals, CandidateRanker } from './stages.js';
