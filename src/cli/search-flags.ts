/**
 * The search flags `addSearchFlags` declares (commands/search-commands.ts), turned into the
 * library's SearchOptions; `plait search` uses them whole, a pipeline only their PLAID/IDF/fusion
 * part (pipeline/stages.ts `stageSearchOptions`).
 */
import type { SearchMode, SearchOptions } from '../search/plait-index.js';
import type { PlaidDefaultsTable } from '../search/search-options.js';
import type { InteractionScoring } from '../config/defaults.js';
import { parseFilter } from '../docstore/metadata-filter.js';
import { readSynonyms } from '../rewrite/synonyms.js';
import type { RewriteOptions } from '../rewrite/query-rewriter.js';
import { resolveRm3, type Rm3Options } from '../rewrite/rm3.js';
import { resolvePrf, type PrfOptions } from '../rewrite/prf-options.js';
import { Option, type Command } from 'commander';
import { FUSION_LIMITS, PRF_DEFAULTS, PRF_LIMITS, RM3_DEFAULTS, RM3_LIMITS, SEARCH_DEFAULTS } from '../config/defaults.js';
import { parseFloatArg, parseIntArg } from './options.js';
import { parseDecimal } from '../config/parse-number.js';
import type { OptionSpelling, RuledOption } from '../search/option-scope.js';

export interface SearchFlagOptions {
  k?: number;
  offset?: number;
  mode?: SearchMode;
  exhaustive?: boolean;
  ncells?: number;
  threshold?: number;
  ndocs?: number;
  plaidDefaults?: PlaidDefaultsTable;
  interactionScoring?: InteractionScoring;
  idf?: boolean;
  fusion?: 'minmax' | 'rrf';
  alpha?: number;
  rrfK?: number;
  filter?: string;
  spelling?: boolean;
  synonyms?: string;
  rm3?: boolean;
  prf?: boolean;
  rm3FbDocs?: number;
  rm3FbTerms?: number;
  rm3OriginalQueryWeight?: number;
  prfFbDocs?: number;
  prfFbEmbeddings?: number;
  prfBeta?: number;
}

/**
 * The feedback-parameter flags (`--rm3-fb-docs` …, `--prf-beta`), declared on `plait search` and
 * `plait explain`; each implies its feedback. The library checks the ranges (rm3.ts,
 * prf-options.ts), so a value out of range is worded there, as over HTTP.
 */
export function addFeedbackFlags(cmd: Command, prf: boolean): Command {
  cmd
    .option('--rm3-fb-docs <n>', `RM3 feedback documents, 1–${RM3_LIMITS.maxFbDocs} (implies --rm3; default: ${RM3_DEFAULTS.fbDocs})`, parseDecimalArg('rm3.fbDocs'))
    .option('--rm3-fb-terms <n>', `RM3 expansion terms, 1–${RM3_LIMITS.maxFbTerms} (implies --rm3; default: ${RM3_DEFAULTS.fbTerms})`, parseDecimalArg('rm3.fbTerms'))
    .option('--rm3-original-query-weight <x>', `RM3's λ, the original query's share, 0–1 (implies --rm3; default: ${RM3_DEFAULTS.originalQueryWeight})`, parseDecimalArg('rm3.originalQueryWeight'));
  if (prf) {
    cmd
      .option('--prf-fb-docs <n>', `ColBERT-PRF feedback documents, 1–${PRF_LIMITS.maxFbDocs} (implies --prf; default: ${PRF_DEFAULTS.fbDocs})`, parseDecimalArg('prf.fbDocs'))
      .option('--prf-fb-embeddings <n>', `ColBERT-PRF expansion embeddings, 1–${PRF_LIMITS.maxFbEmbeddings} (implies --prf; default: ${PRF_DEFAULTS.fbEmbeddings})`, parseDecimalArg('prf.fbEmbeddings'))
      .option('--prf-beta <x>', `ColBERT-PRF's β, the expansion's weight, 0–${PRF_LIMITS.maxBeta} (implies --prf; default: ${PRF_DEFAULTS.beta})`, parseDecimalArg('prf.beta'));
  }
  return cmd;
}

/**
 * The hybrid fusion flags (`--fusion`, `--alpha`, `--rrf-k`), declared alike on `plait search` and
 * `plait explain`, so that an explanation can be asked of the fusion a search ran with (the library's
 * `fusion`, `alpha`, `rrfK`; HTTP's `fusion`, `alpha`, `rrf_k`). `plait explain` had no `--fusion` nor
 * `--rrf-k` and `plait search` no `--rrf-k`: a reciprocal-rank-fused hit could not be explained from
 * the command line, nor an RRF constant other than 60 searched, where the library and HTTP took both.
 */
export function addFusionFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--fusion <f>', `hybrid fusion (default: minmax)`).choices(['minmax', 'rrf']))
    .option('--alpha <a>', `late-interaction weight in min-max fusion, 0–1 (default: ${SEARCH_DEFAULTS.hybridAlpha})`, parseFloatArg('alpha', 0, 1))
    .option('--rrf-k <n>', `RRF constant k in 1/(k + rank), with --fusion rrf, 1–${FUSION_LIMITS.maxRrfK} (default: ${SEARCH_DEFAULTS.rrfK})`, parseIntArg('rrfK', 1, FUSION_LIMITS.maxRrfK));
}

/** A decimal flag value, range left to the library (which words it as every door does). */
function parseDecimalArg(name: string): (value: string) => number {
  return (value: string) => parseDecimal(name, value);
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The query-rewrite flags (--spelling, --synonyms, --rm3, --prf) as SearchOptions.rewrite; undefined when none is set. */
export function rewriteOptionsFrom(o: SearchFlagOptions): RewriteOptions | undefined {
  const rm3: Rm3Options = defined({ fbDocs: o.rm3FbDocs, fbTerms: o.rm3FbTerms, originalQueryWeight: o.rm3OriginalQueryWeight });
  const prf: PrfOptions = defined({ fbDocs: o.prfFbDocs, fbEmbeddings: o.prfFbEmbeddings, beta: o.prfBeta });
  const rm3On = o.rm3 === true || Object.keys(rm3).length > 0;
  const prfOn = o.prf === true || Object.keys(prf).length > 0;
  if (o.spelling !== true && o.synonyms === undefined && !rm3On && !prfOn) return undefined;
  const r: RewriteOptions = {};
  if (o.spelling === true) r.spelling = true;
  if (o.synonyms !== undefined) r.synonyms = readSynonyms(o.synonyms);
  // Checked here, before the index opens, with the library's own words (rm3.ts, prf-options.ts).
  if (rm3On) r.rm3 = Object.keys(rm3).length > 0 ? resolveRm3(rm3) : true;
  if (prfOn) r.prf = Object.keys(prf).length > 0 ? resolvePrf(prf) : true;
  return r;
}

export function searchOptionsFrom(o: SearchFlagOptions): SearchOptions {
  const s: SearchOptions = { topK: o.k };
  if (o.offset !== undefined) s.offset = o.offset;
  if (o.mode !== undefined) s.mode = o.mode;
  if (o.exhaustive) s.exhaustive = true;
  if (o.ncells !== undefined) s.nIvfProbe = o.ncells;
  if (o.threshold !== undefined) s.centroidScoreThreshold = o.threshold;
  if (o.ndocs !== undefined) s.ndocs = o.ndocs;
  if (o.plaidDefaults !== undefined) s.plaidDefaults = o.plaidDefaults;
  if (o.interactionScoring !== undefined) s.interactionScoring = o.interactionScoring;
  if (o.idf !== undefined) s.idfWeighting = o.idf;
  if (o.fusion !== undefined) s.fusion = o.fusion;
  if (o.alpha !== undefined) s.alpha = o.alpha;
  if (o.rrfK !== undefined) s.rrfK = o.rrfK;
  if (o.filter !== undefined) s.filter = parseFilter(o.filter);
  const rewrite = rewriteOptionsFrom(o);
  if (rewrite !== undefined) s.rewrite = rewrite;
  return s;
}

/** The flag of each search option (search/option-scope.ts's table) in `plait search` and `plait explain`. */
const FLAG_OF: Partial<Record<RuledOption, string>> = {
  topK: '-k',
  offset: '--offset',
  mode: '--mode',
  exhaustive: '--exhaustive',
  nIvfProbe: '--ncells',
  centroidScoreThreshold: '--threshold',
  ndocs: '--ndocs',
  plaidDefaults: '--plaid-defaults',
  interactionScoring: '--interaction-scoring',
  idfWeighting: '--idf/--no-idf',
  fusion: '--fusion',
  alpha: '--alpha',
  rrfK: '--rrf-k',
  filter: '--filter',
  includeText: '--text',
  highlights: '--highlights',
  rewrite: '--spelling/--synonyms/--rm3/--prf',
};

/** How the CLI says an option and a setting in the rule's messages: `--ncells`, `--mode hybrid`, `--exhaustive`. */
export const CLI_SPELLING: OptionSpelling = {
  option: (key) => FLAG_OF[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  setting: (key, value) => (value === true ? `--${key}` : `--${key} ${String(value)}`),
};
