/**
 * The search flags `addSearchFlags` declares (commands/search-commands.ts), turned into the
 * library's SearchOptions; `plait search` uses them whole, a pipeline only their PLAID/IDF/fusion
 * part (pipeline/stages.ts `stageSearchOptions`).
 */
import type { SearchMode, SearchOptions } from '../search/plait-index.js';
import { parseFilter } from '../docstore/metadata-filter.js';

export interface SearchFlagOptions {
  k?: number;
  mode?: SearchMode;
  exhaustive?: boolean;
  ncells?: number;
  threshold?: number;
  ndocs?: number;
  idf?: boolean;
  fusion?: 'minmax' | 'rrf';
  alpha?: number;
  filter?: string;
}

export function searchOptionsFrom(o: SearchFlagOptions): SearchOptions {
  const s: SearchOptions = { topK: o.k };
  if (o.mode !== undefined) s.mode = o.mode;
  if (o.exhaustive) s.exhaustive = true;
  if (o.ncells !== undefined) s.nIvfProbe = o.ncells;
  if (o.threshold !== undefined) s.centroidScoreThreshold = o.threshold;
  if (o.ndocs !== undefined) s.ndocs = o.ndocs;
  if (o.idf !== undefined) s.idfWeighting = o.idf;
  if (o.fusion !== undefined) s.fusion = o.fusion;
  if (o.alpha !== undefined) s.alpha = o.alpha;
  if (o.filter !== undefined) s.filter = parseFilter(o.filter);
  return s;
}
