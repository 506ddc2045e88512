/**
 * Pipeline specs: a chain of stages, each `name:depth` with an optional budget, written
 * `bm25:1000 > late:200 > cross:20@150ms` (CLI, HTTP) or as a typed array (library). The first
 * stage retrieves `depth` documents; each later stage re-scores the previous stage's list and keeps
 * its top `depth`. The cross-encoder model is named apart from the spec, so a spec never holds a path;
 * so is the ranking model of the `ltr` stage (`ltrModel` / `--ltr-model <file>`): `… > ltr:20`.
 *
 *   pipeline := stage ( ">" stage )*
 *   stage    := name ":" depth [ "@" budget ]
 *   name     := "bm25" | "late" | "hybrid" | "exhaustive" | "cross" | "rm3" | "prf" | "ltr"
 *   depth    := positive integer ≤ SEARCH_DEFAULTS.maxTopK, not above the previous stage's
 *   budget   := number [ "ms" | "s" ]            (milliseconds when no unit)
 *
 * Errors are INVALID_ARGUMENT with `details.position` (0-based offset into the spec) and a message
 * that shows the spec with a caret under the offending character.
 */
import { SEARCH_DEFAULTS } from '../config/defaults.js';
import { PlaitError, describe, checkArray } from '../errors/index.js';

export const STAGE_NAMES = ['bm25', 'late', 'hybrid', 'exhaustive', 'cross', 'rm3', 'prf', 'ltr'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Stages that can retrieve from the whole index (the first stage must be one). */
export const RETRIEVAL_STAGES: readonly StageName[] = ['bm25', 'late', 'hybrid', 'exhaustive', 'rm3', 'prf'];

/**
 * Retrieval with pseudo-relevance feedback (query rewriting, src/rewrite/): `rm3` is BM25 with RM3,
 * `prf` late interaction with ColBERT-PRF. Feedback comes from a first pass over the whole index,
 * so they only retrieve (first stage).
 */
export const FEEDBACK_STAGES: readonly StageName[] = ['rm3', 'prf'];

export interface PipelineStage {
  stage: StageName;
  /** Documents this stage keeps (the first stage: retrieves). */
  depth: number;
  /** Wall-clock budget of this stage in ms; a re-scoring stage that misses it is skipped (degraded). */
  budgetMs?: number;
}

function syntaxError(spec: string, position: number, message: string): PlaitError {
  const caret = `${' '.repeat(position)}^`;
  return new PlaitError('INVALID_ARGUMENT', {
    message: `pipeline "${spec}": ${message} at position ${position + 1}\n  ${spec}\n  ${caret}`,
    name: 'pipeline',
    position,
  });
}

/** Parses the string form; throws INVALID_ARGUMENT with the position of the first error. */
export function parsePipeline(spec: string): PipelineStage[] {
  if (typeof spec !== 'string') throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a pipeline string but received ${describe(spec)}`, name: 'pipeline' });
  const stages: PipelineStage[] = [];
  const starts: number[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < spec.length && /\s/.test(spec[i]!)) i++;
  };
  const expectedStage = `a stage name (${STAGE_NAMES.join(', ')})`;
  for (;;) {
    skipSpace();
    const nameStart = i;
    while (i < spec.length && /[a-z0-9_-]/i.test(spec[i]!)) i++;
    const name = spec.slice(nameStart, i).toLowerCase();
    if (name.length === 0) throw syntaxError(spec, nameStart, i >= spec.length ? `expected ${expectedStage} but the spec ends` : `expected ${expectedStage} but found "${spec[i]}"`);
    if (!(STAGE_NAMES as readonly string[]).includes(name)) throw syntaxError(spec, nameStart, `unknown stage "${name}" (expected ${STAGE_NAMES.join(', ')})`);
    skipSpace();
    if (spec[i] !== ':') throw syntaxError(spec, i, `expected ":" and a depth after "${name}"`);
    i++;
    skipSpace();
    const depthStart = i;
    while (i < spec.length && /[0-9]/.test(spec[i]!)) i++;
    // A depth is decimal digits only, as every number plait reads (config/parse-number.ts): "0x10",
    // "1e3", "2.5" or "-10" is refused whole (its leading digits read "depth 0 is outside [1, …]").
    let end = i;
    while (end < spec.length && /[0-9a-z._+-]/i.test(spec[end]!)) end++;
    if (depthStart === i || end > i) {
      throw syntaxError(spec, depthStart, `expected a positive integer depth after "${name}:"${end > depthStart ? ` but found "${spec.slice(depthStart, end)}"` : ''}`);
    }
    const depth = Number(spec.slice(depthStart, i));
    if (depth < 1 || depth > SEARCH_DEFAULTS.maxTopK) throw syntaxError(spec, depthStart, `depth ${depth} is outside [1, ${SEARCH_DEFAULTS.maxTopK}]`);
    const stage: PipelineStage = { stage: name as StageName, depth };
    skipSpace();
    if (spec[i] === '@') {
      i++;
      skipSpace();
      const budgetStart = i;
      while (i < spec.length && /[0-9.]/.test(spec[i]!)) i++;
      const value = Number(spec.slice(budgetStart, i));
      if (budgetStart === i || !Number.isFinite(value) || value <= 0) throw syntaxError(spec, budgetStart, 'expected a positive budget such as 150ms or 0.5s after "@"');
      let scale = 1;
      if (spec.startsWith('ms', i)) i += 2;
      else if (spec[i] === 's') {
        scale = 1000;
        i++;
      }
      stage.budgetMs = value * scale;
      skipSpace();
    }
    stages.push(stage);
    starts.push(nameStart);
    if (i >= spec.length) break;
    if (spec[i] !== '>') throw syntaxError(spec, i, `expected ">" between stages but found "${spec[i]}"`);
    i++;
  }
  validateStages(stages, (k, message) => syntaxError(spec, starts[k]!, message));
  return stages;
}

/** Checks a typed pipeline; `at(k, message)` builds the error for stage k (the string form adds a position). */
export function validateStages(stages: readonly PipelineStage[], at?: (k: number, message: string) => PlaitError): PipelineStage[] {
  const fail = (k: number, message: string): PlaitError =>
    at === undefined ? new PlaitError('INVALID_ARGUMENT', { message: `pipeline stage ${k + 1}: ${message}`, name: 'pipeline', stage: k }) : at(k, message);
  if (!Array.isArray(stages) || stages.length === 0) throw new PlaitError('INVALID_ARGUMENT', { message: 'Expected at least one pipeline stage but received none', name: 'pipeline' });
  stages.forEach((s, k) => {
    if (s === null || typeof s !== 'object' || !(STAGE_NAMES as readonly string[]).includes(s.stage)) throw fail(k, `expected a stage name (${STAGE_NAMES.join(', ')}) but received ${describe(s?.stage)}`);
    if (!Number.isInteger(s.depth) || s.depth < 1 || s.depth > SEARCH_DEFAULTS.maxTopK) throw fail(k, `expected a depth in [1, ${SEARCH_DEFAULTS.maxTopK}] but received ${describe(s.depth)}`);
    if (s.budgetMs !== undefined && !(Number.isFinite(s.budgetMs) && s.budgetMs > 0)) throw fail(k, `expected a positive budgetMs but received ${describe(s.budgetMs)}`);
    if (k === 0 && !RETRIEVAL_STAGES.includes(s.stage)) throw fail(k, `"${s.stage}" re-scores a list and cannot be the first stage (start with ${RETRIEVAL_STAGES.join(', ')})`);
    if (k > 0 && FEEDBACK_STAGES.includes(s.stage)) throw fail(k, `"${s.stage}" retrieves with pseudo-relevance feedback from the whole index and can only be the first stage`);
    if (k > 0 && s.depth > stages[k - 1]!.depth) throw fail(k, `depth ${s.depth} is above the previous stage's ${stages[k - 1]!.depth} (a later stage keeps part of the list it is given)`);
  });
  return stages.map((s) => ({ ...s }));
}

/** The canonical string form: "bm25:1000 > late:200 > cross:20@150ms". */
export function formatPipeline(stages: readonly PipelineStage[]): string {
  checkArray('stages', stages, 'an array of pipeline stages');
  return stages.map((s) => `${s.stage}:${s.depth}${s.budgetMs === undefined ? '' : `@${s.budgetMs}ms`}`).join(' > ');
}

/** A stage's label in reports: "late:200". */
export function stageLabel(s: PipelineStage): string {
  return `${s.stage}:${s.depth}`;
}
