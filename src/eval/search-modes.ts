/**
 * The modes `plait eval` compares, as search options over one open index: exhaustive MaxSim (the
 * oracle), PLAID at ColBERT's defaults and at other settings, BM25, and hybrid fusion.
 */
import type { SearchOptions } from '../search/plait-index.js';
import type { RewriteOptions } from '../rewrite/query-rewriter.js';
import type { SynonymMap } from '../rewrite/synonyms.js';

export interface EvalMode {
  name: string;
  options: SearchOptions;
}

/** What a mode of `plait eval` is, in one sentence, for the report (a pipeline spec or a sweep point is described by its shape). */
export function describeMode(name: string): string {
  const fixed: Record<string, string> = {
    exhaustive: 'late interaction, exact MaxSim over every passage (the ceiling PLAID approximates)',
    plaid: "late interaction through PLAID: centroid pruning, then exact MaxSim on the candidates (settings from the index's calibration, else plait's defaults by k)",
    bm25: 'BM25 keyword ranking of the stored text (no model)',
    hybrid: 'PLAID and BM25 scores, min-max normalised and mixed by alpha',
    'hybrid-rrf': 'PLAID and BM25 rankings fused by reciprocal rank',
  };
  if (fixed[name] !== undefined) return fixed[name]!;
  const plus = name.indexOf('+');
  if (plus > 0 && fixed[name.slice(0, plus)] !== undefined) {
    const base = name.slice(0, plus);
    return `${fixed[base]!}, the query rewritten by ${name.slice(plus + 1).split('+').join(' + ')} (latency includes the rewrite${base === 'bm25' ? '' : ' and encoding the rewritten query'})`;
  }
  if (name.startsWith('plaid ')) return `PLAID with the settings ${name.slice(6)} (a --sweep point)`;
  return 'a staged pipeline: each stage ranks the previous stage\'s candidates';
}

export const STANDARD_MODES: Record<string, (depth: number) => EvalMode> = {
  exhaustive: (topK) => ({ name: 'exhaustive', options: { topK, mode: 'late', exhaustive: true } }),
  plaid: (topK) => ({ name: 'plaid', options: { topK, mode: 'late' } }),
  bm25: (topK) => ({ name: 'bm25', options: { topK, mode: 'bm25' } }),
  hybrid: (topK) => ({ name: 'hybrid', options: { topK, mode: 'hybrid', fusion: 'minmax' } }),
  'hybrid-rrf': (topK) => ({ name: 'hybrid-rrf', options: { topK, mode: 'hybrid', fusion: 'rrf' } }),
};

/**
 * PLAID settings for the latency/quality sweep, written "ncells=2,ndocs=1024,threshold=0.45" and
 * separated by ';'.
 */
export function parseSweep(spec: string, topK: number): EvalMode[] {
  return spec
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const options: SearchOptions = { topK, mode: 'late' };
      for (const part of s.split(',')) {
        const [key, value] = part.split('=').map((x) => x.trim());
        const n = Number(value);
        if (key === 'ncells') options.nIvfProbe = n;
        else if (key === 'ndocs') options.ndocs = n;
        else if (key === 'threshold') options.centroidScoreThreshold = n;
        else throw new Error(`unknown sweep setting "${key}" (expected ncells, ndocs or threshold)`);
      }
      return { name: `plaid ${s.replace(/\s+/g, '')}`, options };
    });
}

/** The rewrites a mode name may add after `+` (`bm25+rm3`, `hybrid+spelling+synonyms`, `plaid+prf`). */
export const EVAL_REWRITES = ['spelling', 'synonyms', 'rm3', 'prf'] as const;

/**
 * A standard mode with query rewrites: `<mode>+<rewrite>[+<rewrite>…]`, so that `plait eval` measures
 * what each rewrite does against the plain mode in the same run (a rewrite the mode cannot apply,
 * RM3 on plaid or PRF on bm25, is refused by the search itself, INVALID_ARGUMENT).
 * @param synonyms the map `+synonyms` applies (`plait eval --synonyms <file>`); null without one
 * @throws Error naming an unknown mode or rewrite, or `+synonyms` without a file
 */
export function rewriteMode(name: string, depth: number, synonyms: SynonymMap | null): EvalMode {
  const [base, ...kinds] = name.split('+');
  const make = STANDARD_MODES[base!];
  if (make === undefined) throw new Error(`unknown mode "${base}" in "${name}" (expected ${Object.keys(STANDARD_MODES).join(', ')})`);
  const rewrite: RewriteOptions = {};
  for (const k of kinds) {
    if (!(EVAL_REWRITES as readonly string[]).includes(k)) throw new Error(`unknown rewrite "${k}" in "${name}" (expected ${EVAL_REWRITES.join(', ')})`);
    if (k === 'synonyms') {
      if (synonyms === null) throw new Error(`"${name}" needs --synonyms <file>`);
      rewrite.synonyms = synonyms;
    } else rewrite[k as 'spelling' | 'rm3' | 'prf'] = true;
  }
  const mode = make(depth);
  return { name, options: { ...mode.options, rewrite } };
}
