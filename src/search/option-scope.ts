/**
 * Which search option applies where: the one table (SEARCH_OPTION_RULES) the library's
 * resolveSearch (PlaitIndex and ClusterIndex: search, searchBatch, searchEncoded(Batch), rewrite,
 * explain), the HTTP search route and `plait search` read, so that an option that cannot act is
 * refused everywhere instead of being taken and ignored. Two new-user trials had found
 * `{ mode: 'bm25', nIvfProbe: 4 }` and late mode with `alpha` accepted silently by the library and
 * HTTP while the CLI refused the same flags.
 *
 * The rules:
 * - the mode is the caller's `mode`, else the model profile's default mode (hybrid for the bundled
 *   model, late for ColBERT checkpoints): `{ alpha: 0.3 }` on a late-default index is refused;
 * - `exhaustive: false` asks for nothing (the default) and is accepted in every mode;
 * - settings that come from the index's calibration (`plait calibrate`) or the defaults tables are
 *   not the caller's: they fill what applies and are never refused;
 * - a pipeline (CLI `--pipeline`, HTTP `pipeline`, SearchPipeline's `search`) takes only the
 *   options its stages pass on (`pipeline: 'stages'`) and the run's own (`'run'`): each stage then
 *   passes to its search only what applies to that stage's mode (`applicableSearchOptions`), so a
 *   bm25 stage is never refused for PLAID settings meant for a late stage.
 * Internal callers that hold a wider options object (pipeline stages, a cluster's shards splitting
 * hybrid into late and BM25) pass it through `applicableSearchOptions` first; eval's modes,
 * calibrate, LTR's candidate pipelines and the LangChain retriever build one mode's options or pass
 * the caller's as given (audited when the rule came in).
 * Its cost: ~2 µs a call (200,000 calls of checkOptionsApply, Zen 5 under load 10), beside ~10 µs
 * for all of resolveSearch and milliseconds for a search.
 */
import { PlaitError, checkObject } from '../errors/index.js';
import type { SearchMode, SearchOptions } from './search-options.js';

/**
 * Where an option acts:
 * - 'any': every search;
 * - 'late': late interaction runs (mode late or hybrid);
 * - 'plaid': PLAID runs (mode late or hybrid, not exhaustive);
 * - 'hybrid': fusion runs (mode hybrid);
 * - 'minmax' / 'rrf': that fusion runs (mode hybrid with `fusion` minmax, the default, or rrf).
 */
export type OptionScope = 'any' | 'late' | 'plaid' | 'hybrid' | 'minmax' | 'rrf';

/**
 * Whether a pipeline takes the option: 'stages' (its stages pass it on, each to the stages it
 * applies to), 'run' (the run's own: deadline, signal, stored text), false (a pipeline's stages set
 * it, or do not take it yet: refused beside a pipeline).
 */
export type PipelineScope = 'stages' | 'run' | false;

export interface OptionRule {
  readonly scope: OptionScope;
  readonly pipeline: PipelineScope;
}

/**
 * Every SearchOptions key with where it applies. The `satisfies` clause makes TypeScript refuse to
 * compile when a key is added to SearchOptions without a decision here (test/option-scope.test.ts
 * runs every row through the library, HTTP and the CLI).
 */
export const SEARCH_OPTION_RULES = {
  signal: { scope: 'any', pipeline: 'run' },
  timeoutMs: { scope: 'any', pipeline: 'run' },
  deadlineAt: { scope: 'any', pipeline: 'run' },
  topK: { scope: 'any', pipeline: false },
  offset: { scope: 'any', pipeline: 'run' },
  mode: { scope: 'any', pipeline: false },
  exhaustive: { scope: 'late', pipeline: false },
  plaidDefaults: { scope: 'plaid', pipeline: false },
  nIvfProbe: { scope: 'plaid', pipeline: 'stages' },
  centroidScoreThreshold: { scope: 'plaid', pipeline: 'stages' },
  ndocs: { scope: 'plaid', pipeline: 'stages' },
  centroidScoreMargin: { scope: 'plaid', pipeline: false },
  nIvfProbeTotal: { scope: 'plaid', pipeline: false },
  ndocsQueryTokens: { scope: 'plaid', pipeline: false },
  interactionScoring: { scope: 'plaid', pipeline: false },
  nExact: { scope: 'plaid', pipeline: false },
  idfWeighting: { scope: 'late', pipeline: 'stages' },
  fusion: { scope: 'hybrid', pipeline: 'stages' },
  alpha: { scope: 'minmax', pipeline: 'stages' },
  rrfK: { scope: 'rrf', pipeline: 'stages' },
  includeText: { scope: 'any', pipeline: 'run' },
  filter: { scope: 'any', pipeline: false },
  rewrite: { scope: 'any', pipeline: 'stages' },
  globalStats: { scope: 'any', pipeline: false },
  highlights: { scope: 'any', pipeline: false },
} as const satisfies { readonly [K in keyof Required<SearchOptions>]: OptionRule };

export type RuledOption = keyof typeof SEARCH_OPTION_RULES;

/** Where an entry point's options act differently from the table (EXPLAIN_OPTION_SCOPES). */
export type OptionScopes = Readonly<Partial<Record<RuledOption, OptionScope>>>;

/**
 * Where explain's options differ from search's: its `topK` is the hybrid depth within which the
 * fused parts are reported (PlaitIndex.explain), so it applies to hybrid mode only; it reports the
 * document's late-interaction score in every mode, so `idfWeighting` applies in every mode.
 */
export const EXPLAIN_OPTION_SCOPES: OptionScopes = { topK: 'hybrid', idfWeighting: 'any' };

/** What decides whether an option applies: the search's mode, exhaustive flag and fusion. */
export interface SearchShape {
  mode: SearchMode;
  exhaustive: boolean;
  fusion: 'minmax' | 'rrf';
}

/** Whether an option of `scope` acts in a search of this shape. */
export function scopeApplies(scope: OptionScope, s: SearchShape): boolean {
  switch (scope) {
    case 'any':
      return true;
    case 'late':
      return s.mode !== 'bm25';
    case 'plaid':
      return s.mode !== 'bm25' && !s.exhaustive;
    case 'hybrid':
      return s.mode === 'hybrid';
    case 'minmax':
      return s.mode === 'hybrid' && s.fusion === 'minmax';
    case 'rrf':
      return s.mode === 'hybrid' && s.fusion === 'rrf';
  }
}

/**
 * How a surface writes an option and a setting in its messages: the library `nIvfProbe` and
 * `mode: "hybrid"`, HTTP `n_ivf_probe` and `"mode": "hybrid"`, the CLI `--ncells` and `--mode hybrid`.
 */
export interface OptionSpelling {
  option(key: RuledOption): string;
  setting(key: 'mode' | 'exhaustive' | 'fusion', value: string | boolean): string;
}

export const LIBRARY_SPELLING: OptionSpelling = {
  option: (key) => key,
  setting: (key, value) => `${key}: ${JSON.stringify(value)}`,
};

export const HTTP_SPELLING: OptionSpelling = {
  option: (key) => snakeCase(key),
  setting: (key, value) => `"${key}": ${JSON.stringify(value)}`,
};

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The shape a search of these options has: the caller's mode, else the model profile's. */
export function searchShape(options: Pick<SearchOptions, 'mode' | 'exhaustive' | 'fusion'>, defaultMode: SearchMode): SearchShape {
  return { mode: options.mode ?? defaultMode, exhaustive: options.exhaustive === true, fusion: options.fusion ?? 'minmax' };
}

/** The ruled options `options` gives (a value other than undefined; `exhaustive: false` asks for nothing). */
function givenOptions(options: object): RuledOption[] {
  const o = options as Record<string, unknown>;
  return (Object.keys(SEARCH_OPTION_RULES) as RuledOption[]).filter((k) => o[k] !== undefined && !(k === 'exhaustive' && o[k] === false));
}

/** What makes an option of `scope` apply, in the surface's spelling. */
function remedy(scope: Exclude<OptionScope, 'any'>, sp: OptionSpelling): string {
  const late = `${sp.setting('mode', 'late')} or ${sp.setting('mode', 'hybrid')}`;
  switch (scope) {
    case 'late':
      return `${late} (late interaction)`;
    case 'plaid':
      return `${late} without ${sp.setting('exhaustive', true)} (PLAID)`;
    case 'hybrid':
      return `${sp.setting('mode', 'hybrid')} (fusion)`;
    case 'minmax':
      return `${sp.setting('mode', 'hybrid')} with ${sp.setting('fusion', 'minmax')} (min-max fusion)`;
    case 'rrf':
      return `${sp.setting('mode', 'hybrid')} with ${sp.setting('fusion', 'rrf')} (reciprocal rank fusion)`;
  }
}

/** The search `s` in the surface's spelling, with where its mode came from. */
function describeShape(s: SearchShape, modeGiven: boolean, sp: OptionSpelling): string {
  const mode = `${sp.setting('mode', s.mode)}${modeGiven ? '' : " (the model profile's default mode)"}`;
  // In bm25 mode exhaustive is itself refused: the search is said without it.
  return `${mode}${s.exhaustive && s.mode !== 'bm25' ? ` with ${sp.setting('exhaustive', true)}` : ''}${s.mode === 'hybrid' ? ` with ${sp.setting('fusion', s.fusion)}` : ''}`;
}

/**
 * Refuses an option the search would take and ignore (SEARCH_OPTION_RULES).
 * @param options the caller's options (keys outside the table are not looked at: checkOptionKeys
 *   refuses unknown ones, and internal ones such as `rewritten` apply to every mode).
 * @param defaultMode the model profile's default mode, used when `options.mode` is not given.
 * @param sp how the surface spells options and settings (LIBRARY_SPELLING, HTTP_SPELLING, the CLI's flags).
 * @param scopes where this entry point's options differ from the table (EXPLAIN_OPTION_SCOPES).
 * @throws PlaitError INVALID_ARGUMENT naming every option that cannot apply, the search's mode and
 *   what would make each apply, e.g. `alpha does not apply to mode: "late": alpha applies to mode:
 *   "hybrid" with fusion: "minmax" (min-max fusion); leave it out or change the search`; details
 *   `{ name (the first), options, mode, exhaustive, appliesTo (the first's), reason: 'notApplicable' }`.
 */
export function checkOptionsApply(options: object, defaultMode: SearchMode, sp: OptionSpelling = LIBRARY_SPELLING, scopes: OptionScopes = {}): void {
  checkObject('options', options, 'search options');
  const o = options as SearchOptions;
  const s = searchShape(o, defaultMode);
  const conflicts = givenOptions(options).flatMap((key) => {
    const scope = scopes[key] ?? SEARCH_OPTION_RULES[key].scope;
    return scope === 'any' || scopeApplies(scope, s) ? [] : [{ name: sp.option(key), appliesTo: remedy(scope, sp) }];
  });
  if (conflicts.length === 0) return;
  const names = conflicts.map((c) => c.name);
  const where = conflicts.map((c) => `${c.name} applies to ${c.appliesTo}`).join('; ');
  throw new PlaitError('INVALID_ARGUMENT', {
    message: `${names.join(', ')} ${names.length === 1 ? 'does' : 'do'} not apply to ${describeShape(s, o.mode !== undefined, sp)}: ${where}; leave ${names.length === 1 ? 'it' : 'them'} out or change the search`,
    name: names[0]!,
    options: names,
    mode: s.mode,
    exhaustive: s.exhaustive,
    appliesTo: conflicts[0]!.appliesTo,
    reason: 'notApplicable',
  });
}

/**
 * Refuses an option a pipeline's stages set or do not take (pipeline: false in the table).
 * @param where the pipeline's name on this surface: `pipeline`, `--pipeline`.
 * @throws PlaitError INVALID_ARGUMENT `top_k cannot apply with pipeline: its stages set it (…)`.
 */
export function checkPipelineOptions(options: object, where: string, sp: OptionSpelling = LIBRARY_SPELLING): void {
  for (const key of givenOptions(options)) {
    if (SEARCH_OPTION_RULES[key].pipeline !== false) continue;
    const name = sp.option(key);
    const why =
      key === 'topK' || key === 'mode' || key === 'exhaustive'
        ? 'its stages set it (the last stage\'s depth is the number of results, e.g. "bm25:100 > late:10"; an "exhaustive" stage scores exactly)'
        : key === 'filter'
          ? 'pipelines do not take a filter yet'
          : key === 'highlights'
            ? // Not PLAID's reason (trial 12: it had been told "its stages use plait's PLAID settings").
              "a pipeline's hits are ranked by several stages, and highlights are computed for one mode's ranking; give it to a one-mode search (mode late, hybrid or bm25)"
            : key === 'globalStats'
              ? "a pipeline's stages score with the index's own statistics; give it to a one-mode search"
              : "its stages use plait's PLAID settings (the index's calibration, else plait's defaults); give it to a one-mode search";
    throw new PlaitError('INVALID_ARGUMENT', { message: `${name} cannot apply with ${where}: ${why}`, name, option: name, reason: 'notApplicable' });
  }
}

/**
 * The part of `options` that applies to a search of `shape` (SEARCH_OPTION_RULES), for an internal
 * caller holding a wider object: a pipeline stage, a cluster shard splitting a hybrid search into
 * its late and BM25 lists. A `rewrite` loses what cannot apply too (RM3 in late mode, ColBERT-PRF in
 * bm25 mode). Keys outside the table are kept.
 */
export function applicableSearchOptions<T extends object>(options: T, shape: SearchShape): T {
  checkObject('options', options, 'search options');
  checkObject('shape', shape, 'a SearchShape');
  const out: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  for (const key of Object.keys(SEARCH_OPTION_RULES) as RuledOption[]) {
    if (out[key] !== undefined && !scopeApplies(SEARCH_OPTION_RULES[key].scope, shape)) delete out[key];
  }
  if (!shape.exhaustive && out['exhaustive'] === false) delete out['exhaustive'];
  const rewrite = out['rewrite'] as SearchOptions['rewrite'];
  if (rewrite !== undefined && rewrite !== null && typeof rewrite === 'object') {
    const drop = shape.mode === 'late' ? 'rm3' : shape.mode === 'bm25' ? 'prf' : null;
    if (drop !== null && rewrite[drop] !== undefined) {
      const { [drop]: _dropped, ...rest } = rewrite;
      out['rewrite'] = rest;
    }
  }
  return out as T;
}
