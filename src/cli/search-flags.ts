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
  filter?: string;
  spelling?: boolean;
  synonyms?: string;
  rm3?: boolean;
  prf?: boolean;
}

/** The query-rewrite flags (--spelling, --synonyms, --rm3, --prf) as SearchOptions.rewrite; undefined when none is set. */
export function rewriteOptionsFrom(o: SearchFlagOptions): RewriteOptions | undefined {
  if (o.spelling !== true && o.synonyms === undefined && o.rm3 !== true && o.prf !== true) return undefined;
  const r: RewriteOptions = {};
  if (o.spelling === true) r.spelling = true;
  if (o.synonyms !== undefined) r.synonyms = readSynonyms(o.synonyms);
  if (o.rm3 === true) r.rm3 = true;
  if (o.prf === true) r.prf = true;
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
