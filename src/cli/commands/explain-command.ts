/**
 * `plait explain <index> "query" <doc-id>`: which passage token each query token matched, with
 * similarity, weight and contribution (summing to the late-interaction score), the BM25 terms and
 * the fused score's parts in hybrid mode. `--json` prints the library's Explanation as is.
 * With `--ltr-model <file>`: the ranking model's score of the document instead, with each
 * feature's value and contribution (per-tree path gains, src/ltr/explain-ltr.ts).
 */
import { EXPLAIN_OPTION_SCOPES, checkOptionsApply } from '../../search/option-scope.js';
import { openIndexForCli, truncatedQueryWarning } from '../open-index.js';
import { CLI_SPELLING, addFeedbackFlags, addFusionFlags, rewriteOptionsFrom } from '../search-flags.js';
import type { Command } from 'commander';
import { type ExplainOptions, type Explanation, type SearchMode } from '../../search/plait-index.js';
import { invalidArgument } from '../../errors/index.js';
import { parseInteger } from '../../config/parse-number.js';
import { parseIntArg, printJson } from '../options.js';
import { SEARCH_DEFAULTS } from '../../config/defaults.js';
import { explainLtr, type LtrDocExplanation } from '../../ltr/explain-ltr.js';
import { loadLtrModelFor } from '../pipeline-options.js';
import { formatTable } from '../table.js';

interface ExplainCliOptions {
  mode?: SearchMode;
  pid?: boolean;
  idf?: boolean;
  fusion?: 'minmax' | 'rrf';
  alpha?: number;
  rrfK?: number;
  k?: number;
  model?: string;
  json?: boolean;
  ltrModel?: string;
  pipeline?: string;
  spelling?: boolean;
  synonyms?: string;
  rm3?: boolean;
  rm3FbDocs?: number;
  rm3FbTerms?: number;
  rm3OriginalQueryWeight?: number;
}

function renderLtr(ex: LtrDocExplanation): string {
  const value = (v: number | null): string => (v === null ? 'missing' : Number.isInteger(v) ? String(v) : v.toFixed(4));
  const rows = ex.features.map((f) => [f.name, value(f.value), `${f.contribution >= 0 ? '+' : ''}${fmt(f.contribution)}`]);
  const head = ['feature', 'value', 'contribution'];
  return [
    `query: ${ex.query}`,
    `document: ${ex.docId}  ranking-model score: ${fmt(ex.score)} = bias ${fmt(ex.bias)} + contributions (per-tree path gains)`,
    `rank ${ex.rank} among the candidates of "${ex.candidates}"${ex.inCandidates ? '' : ' (the document was not among them: added last)'}`,
    '',
    ...formatTable([head, ...rows], ['left', 'right', 'right']),
  ].join('\n');
}

const fmt = (x: number): string => x.toFixed(4);

/** The passage with each matched token in [brackets] (once per token, in text order). */
function highlight(ex: Explanation): string {
  const spans = [...new Map(ex.tokens.filter((t) => t.match !== null && t.match.start >= 0).map((t) => [t.match!.start, t.match!.end])).entries()].sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [s, e] of spans) {
    if (s < at) continue;
    out += `${ex.passage.text.slice(at, s)}[${ex.passage.text.slice(s, e)}]`;
    at = e;
  }
  return out + ex.passage.text.slice(at);
}

/** `hybridDepth`: the -k within which a hybrid explanation reports fused parts (undefined outside hybrid mode). */
function render(ex: Explanation, hybridDepth?: number): string {
  const lines = [
    `query: ${ex.query}`,
    ...ex.rewrites.map((r) => `rewritten (${r.kind}): ${r.from} → ${r.to}`),
    `document: ${ex.docId}  passage: ${ex.pid}  late-interaction score: ${fmt(ex.lateScore)}${ex.idfWeighting ? ' (IDF-weighted)' : ''}`,
    '',
  ];
  const rows = ex.tokens.map((t) => [
    t.query.role === 'content' ? t.query.text : `${t.query.text} (${t.query.role})`,
    t.match === null ? '-' : t.match.role === 'content' ? t.match.text : `${t.match.text} (${t.match.role})`,
    fmt(t.similarity),
    fmt(t.weight),
    fmt(t.contribution),
  ]);
  const head = ['query token', 'matched passage token', 'similarity', 'weight', 'contribution'];
  lines.push(...formatTable([head, ...rows], ['left', 'left', 'right', 'right', 'right']), '', `passage: ${highlight(ex)}`);
  if (ex.bm25 !== null) {
    const matched = ex.bm25.terms.filter((t) => t.tf > 0);
    lines.push('', `BM25 score: ${fmt(ex.bm25.score)}; terms matched: ${matched.length === 0 ? 'none' : matched.map((t) => `${t.term} (tf ${t.tf}, idf ${t.idf.toFixed(2)}, +${fmt(t.contribution)})`).join(', ')}`);
  }
  if (ex.fusion !== null) {
    const f = ex.fusion;
    lines.push(`hybrid: rank ${f.rank}, score ${fmt(f.score)} = late share ${fmt(f.lateShare)} + BM25 share ${fmt(f.bm25Share)}`);
  } else if (hybridDepth !== undefined) {
    // Asked for hybrid and given nothing about it read as a missing feature: say where the document is not.
    lines.push(`hybrid: not in this query's fused top ${hybridDepth}, so no fused parts (give -k <n> to look deeper)`);
  }
  return lines.join('\n');
}

export function registerExplainCommand(program: Command): void {
  const cmd = program
    .command('explain')
    .description('show which passage token each query token matched and what it contributed')
    .argument('<index>', 'index name or path')
    .argument('<query>', 'query text')
    .argument('<doc-id>', 'document id (its best passage is explained), or a pid with --pid')
    .option('--pid', 'the third argument is a passage id (pid)')
    .option('--mode <mode>', 'late | bm25 | hybrid: adds BM25 terms and fused parts (default: the model profile)')
    .option('--idf', 'weight query tokens by IDF')
    .option('--no-idf', 'do not weight query tokens by IDF')
    // Bounded here as search's -k is: past it the library refused the value naming topK, a name the command line never shows.
    .option('-k, --k <n>', `hybrid result depth within which fused parts are reported, 1–${SEARCH_DEFAULTS.maxTopK} (hybrid mode only; default: ${SEARCH_DEFAULTS.topK})`, parseIntArg('topK', 1, SEARCH_DEFAULTS.maxTopK))
    .option('-m, --model <model>', 'query encoder (default: the model the index was built with)')
    .option('--json', 'print JSON')
    .option('--ltr-model <file>', 'explain this ranking model\'s score instead: each feature\'s value and contribution')
    .option('--pipeline <spec>', 'with --ltr-model: candidate pipeline (default: the one the model was trained on)')
    .option('--spelling', "explain the query as spelling correction rewrites it (plait search --spelling)")
    .option('--synonyms <file>', "explain the query as a Solr synonyms file expands it (plait search --synonyms)")
    .option('--rm3', 'explain BM25 with RM3 feedback terms (plait search --rm3)');
  addFusionFlags(cmd);
  addFeedbackFlags(cmd, false)
    .action(async (name: string, query: string, target: string, o: ExplainCliOptions) => {
      if (o.ltrModel !== undefined) {
        const index = await openIndexForCli(name, { model: o.model, encoderOptions: { threads: 0 } });
        try {
          const model = await loadLtrModelFor(o.ltrModel, index);
          const ex = await explainLtr(index, model, query, target, o.pipeline === undefined ? {} : { candidates: o.pipeline });
          if (o.json === true) printJson(ex);
          else process.stdout.write(`${renderLtr(ex)}\n`);
        } finally {
          await index.close();
        }
        return;
      }
      let t: string | { pid: number } = target;
      if (o.pid === true) {
        t = { pid: parseInteger('pid', target, 0) };
      }
      const opts: ExplainOptions = {};
      if (o.k !== undefined) opts.topK = o.k;
      if (o.mode !== undefined) opts.mode = o.mode;
      if (o.idf !== undefined) opts.idfWeighting = o.idf;
      if (o.fusion !== undefined) opts.fusion = o.fusion;
      if (o.alpha !== undefined) opts.alpha = o.alpha;
      if (o.rrfK !== undefined) opts.rrfK = o.rrfK;
      const rewrite = rewriteOptionsFrom(o);
      if (rewrite !== undefined) opts.rewrite = rewrite;
      const index = await openIndexForCli(name, { model: o.model, encoderOptions: { threads: 0 } });
      try {
        // As plait search: a flag this explanation would take and ignore is refused (search/option-scope.ts).
        checkOptionsApply(opts, index.manifest.model.defaultMode, CLI_SPELLING, EXPLAIN_OPTION_SCOPES);
        const ex = await index.explain(query, t, opts);
        if (ex.truncated === true) process.stderr.write(truncatedQueryWarning(index, 'explained'));
        if (o.json === true) printJson(ex);
        else process.stdout.write(`${render(ex, index.resolveSearch(o.mode === undefined ? {} : { mode: o.mode }).mode === 'hybrid' ? (o.k ?? SEARCH_DEFAULTS.topK) : undefined)}\n`);
      } finally {
        await index.close();
      }
    });
}
