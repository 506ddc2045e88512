/**
 * A pipeline's settings must reach a stage: a setting no stage of the pipeline reads is refused by
 * name (INVALID_ARGUMENT, naming the setting and the stages there are), at every door — the library
 * (SearchPipeline, runPipeline), HTTP (`pipeline` with its body fields) and `plait search
 * --pipeline` (its flags) — each in its own spelling. They had been taken and ignored: a
 * `crossEncoder` or `ltrModel` given to a pipeline without that stage, a breaker under a stage name
 * the pipeline lacks (or under its first stage, which has no breaker), breaker settings for a
 * pipeline with nothing to re-score, and search settings that apply to no stage
 * (`"bm25:100 > late:10"` with PLAID settings: its late stage only re-scores a list, exactly).
 *
 * Which stage reads which search setting follows stages.ts:
 * - the first stage searches in its mode (bm25/rm3: bm25; late/prf: late; exhaustive: late,
 *   exhaustive; hybrid: hybrid) and passes on what applies to that mode (option-scope.ts);
 * - a late or exhaustive stage after the first reads `idfWeighting` (exact MaxSim of the list);
 * - a hybrid stage after the first reads `idfWeighting`, `fusion`, and `alpha` (min-max) or `rrfK` (RRF);
 * - bm25, cross and ltr stages after the first read no search setting.
 */
import { PlaitError, checkArray, checkObject } from '../errors/index.js';
import { SEARCH_OPTION_RULES, LIBRARY_SPELLING, scopeApplies, type OptionScope, type OptionSpelling, type RuledOption } from '../search/option-scope.js';
import { formatPipeline, type PipelineStage, type StageName } from './pipeline-spec.js';
import { retrievalShape, type StageSearchOptions } from './stages.js';

/** Whether a re-scoring stage (after the first) reads a setting of `scope` (stages.ts `rescore`). */
function rescoreReads(stage: StageName, scope: OptionScope, fusion: 'minmax' | 'rrf'): boolean {
  if (stage === 'late' || stage === 'exhaustive') return scope === 'late';
  if (stage === 'hybrid') return scope === 'late' || scope === 'hybrid' || scope === (fusion === 'rrf' ? 'rrf' : 'minmax');
  return false;
}

/** Whether some stage of `stages` reads the search setting `key`. */
export function settingReachesStage(stages: readonly PipelineStage[], key: RuledOption, fusion: 'minmax' | 'rrf'): boolean {
  const scope = SEARCH_OPTION_RULES[key].scope;
  return stages.some((s, k) => (k === 0 ? scopeApplies(scope, retrievalShape(s.stage, fusion)) : rescoreReads(s.stage, scope, fusion)));
}

/** Where a setting of `scope` would act, in pipeline terms. */
function whereItActs(scope: OptionScope, sp: OptionSpelling): string {
  switch (scope) {
    case 'any':
      return 'every first stage';
    case 'plaid':
      return 'a first stage late, hybrid or prf (PLAID retrieval; a later stage re-scores its list exactly)';
    case 'late':
      return 'a late-interaction stage (late, hybrid, exhaustive, prf)';
    case 'hybrid':
      return 'a hybrid stage';
    case 'minmax':
      return `a hybrid stage with ${sp.setting('fusion', 'minmax')} (the default)`;
    case 'rrf':
      return `a hybrid stage with ${sp.setting('fusion', 'rrf')}`;
  }
}

/** "bm25:100 retrieves, late:10 re-scores": the stages there are, for messages. */
function stagesSaid(stages: readonly PipelineStage[]): string {
  return stages.map((s, k) => `${s.stage}:${s.depth} ${k === 0 ? 'retrieves' : 're-scores'}`).join(', ');
}

/**
 * Refuses a search setting that no stage of the pipeline reads.
 * @param search the settings the stages are given (StageSearchOptions; other keys are checked elsewhere).
 * @param sp how the surface spells a setting (LIBRARY_SPELLING, HTTP_SPELLING, the CLI's flags).
 * @param where the pipeline's name on this surface: `the pipeline`, `pipeline`, `--pipeline`.
 * @throws PlaitError INVALID_ARGUMENT `n_ivf_probe reaches no stage of pipeline "bm25:100 > late:10"
 *   (bm25:100 retrieves, late:10 re-scores): it applies to …; leave it out or change the pipeline`,
 *   details `{ name, options, stages, reason: 'noStage' }`.
 */
export function checkSearchSettingsReachStages(stages: readonly PipelineStage[], search: StageSearchOptions, sp: OptionSpelling = LIBRARY_SPELLING, where = 'the pipeline'): void {
  checkArray('stages', stages, 'an array of pipeline stages');
  checkObject('search', search, 'search options');
  const o = search as Record<string, unknown>;
  const fusion = search.fusion ?? 'minmax';
  const idle = (Object.keys(SEARCH_OPTION_RULES) as RuledOption[]).filter((k) => o[k] !== undefined && SEARCH_OPTION_RULES[k].pipeline === 'stages' && !settingReachesStage(stages, k, fusion));
  // A rewrite's feedback part that the first stage's mode drops (option-scope.ts applicableSearchOptions):
  // RM3 acts on BM25 retrieval, ColBERT-PRF on late-interaction retrieval.
  const first = retrievalShape(stages[0]!.stage, fusion);
  const feedback = (['rm3', 'prf'] as const).filter((f) => {
    const v = search.rewrite?.[f];
    return v !== undefined && v !== false && (f === 'rm3' ? first.mode === 'late' : first.mode === 'bm25');
  });
  if (idle.length === 0 && feedback.length === 0) return;
  const cli = sp.option('rewrite').startsWith('--');
  const feedbackName = (f: 'rm3' | 'prf'): string => (cli ? `--${f}` : `${sp.option('rewrite')}.${f}`);
  const names = [...idle.map((k) => sp.option(k)), ...feedback.map(feedbackName)];
  // One clause a scope: "n_ivf_probe, ndocs apply to a first stage late, hybrid or prf (…)".
  const byScope = new Map<OptionScope, string[]>();
  for (const k of idle) byScope.set(SEARCH_OPTION_RULES[k].scope, [...(byScope.get(SEARCH_OPTION_RULES[k].scope) ?? []), sp.option(k)]);
  const acts = [
    ...[...byScope].map(([scope, ns]) => `${ns.join(', ')} ${ns.length === 1 ? 'applies' : 'apply'} to ${whereItActs(scope, sp)}`),
    ...feedback.map((f) => `${feedbackName(f)} applies to a first stage that retrieves ${f === 'rm3' ? 'with BM25 (bm25, hybrid, rm3)' : 'by late interaction (late, hybrid, exhaustive, prf)'}`),
  ].join('; ');
  throw new PlaitError('INVALID_ARGUMENT', {
    message: `${names.join(', ')} ${names.length === 1 ? 'reaches' : 'reach'} no stage of ${where} "${formatPipeline(stages)}" (${stagesSaid(stages)}): ${acts}; leave ${names.length === 1 ? 'it' : 'them'} out or change the pipeline`,
    name: names[0]!,
    options: names,
    stages: stages.map((s) => s.stage),
    reason: 'noStage',
  });
}

/** The library's per-stage settings that SearchPipeline checks (search-pipeline.ts SearchPipelineOptions). */
export interface StageBoundSettings {
  crossEncoder?: unknown;
  ltrModel?: unknown;
  breakers?: Partial<Record<StageName, unknown>>;
  breaker?: unknown;
}

/**
 * Refuses the library's stage-bound settings that no stage reads: `crossEncoder` without a cross
 * stage, `ltrModel` without an ltr stage, `breakers.<stage>` for a stage that is not a re-scoring
 * stage of this pipeline, `breaker` settings for a pipeline without a re-scoring stage.
 * @throws PlaitError INVALID_ARGUMENT naming the setting and the stages there are (details `{ name, stages, reason: 'noStage' }`).
 */
export function checkStageSettings(stages: readonly PipelineStage[], o: StageBoundSettings): void {
  checkArray('stages', stages, 'an array of pipeline stages');
  checkObject('o', o, 'stage settings');
  const spec = formatPipeline(stages);
  const fail = (name: string, why: string): PlaitError =>
    new PlaitError('INVALID_ARGUMENT', { message: `${name} reaches no stage of the pipeline "${spec}" (${stagesSaid(stages)}): ${why}; leave it out or change the pipeline`, name, stages: stages.map((s) => s.stage), reason: 'noStage' });
  const has = (name: StageName): boolean => stages.some((s) => s.stage === name);
  if (o.crossEncoder !== undefined && !has('cross')) throw fail('crossEncoder', 'it scores a cross stage, e.g. "bm25:100 > cross:10"');
  if (o.ltrModel !== undefined && !has('ltr')) throw fail('ltrModel', 'it scores an ltr stage, e.g. "hybrid:200 > ltr:10"');
  const rescoring = new Set(stages.slice(1).map((s) => s.stage));
  for (const [name, breaker] of Object.entries(o.breakers ?? {})) {
    if (breaker !== undefined && !rescoring.has(name as StageName)) {
      throw fail(`breakers.${name}`, `a breaker guards a stage after the first (here: ${rescoring.size === 0 ? 'none' : [...rescoring].join(', ')})`);
    }
  }
  if (o.breaker !== undefined && rescoring.size === 0) throw fail('breaker', 'breaker settings apply to the stages after the first, and this pipeline has none');
}
