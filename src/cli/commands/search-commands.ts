import { Option, type Command } from 'commander';
import { openIndexForCli, queryTokensKept, truncatedQueryWarning } from '../open-index.js';
import { readFileSync } from 'node:fs';
import { decompressInput } from '../../util/input-bytes.js';
import { CANDIDATE_DEFAULTS, HIGHLIGHT_DEFAULTS, INTERACTION_SCORINGS, PLAID_LIMITS, SEARCH_DEFAULTS, colbertDefaultsFor, type PlaidParams } from '../../config/defaults.js';
import { PLAID_DEFAULTS_TABLES } from '../../search/search-options.js';
import { describeLaterRounds, describePlaidParams, describeRound } from '../plaid-params-text.js';
import { describeExactStage } from '../../codec/code-scorer.js';

/** ColBERT's PLAID table for k <= 10, <= 100 and beyond, which plaidDefaultsFor (a search without a calibration) starts from. */
const byK = [10, 100, 1000].map((k) => colbertDefaultsFor(k));
import { type SearchMode, type SearchOptions } from '../../search/plait-index.js';
import type { SearchTimings } from '../../search/search-result.js';
import type { HitHighlights, Snippet } from '../../search/highlights.js';
import { Reranker, type RerankDocument } from '../../rerank/reranker.js';
import { readQueries, type SkippedQuery } from '../../eval/queries.js';
import { checkRunId, formatRun, writeRun, type Run } from '../../eval/run.js';
import { PlaitError, invalidArgument, isPlaitError } from '../../errors/index.js';
import { withHint } from '../report-error.js';
import { indexHome, listIndexHome, locateIndex } from '../../format/index-path.js';
import { decodeUtf8 } from '../../encoder/validate-text.js';
import { parseFloatArg, parseIntArg, plural, printJson } from '../options.js';
import { prepareOutputFile, requireInput } from '../validate.js';
import { warnBatchFilter, warnBatchQueries, warnSkippedQueries, warnUnsearchable } from './query-warnings.js';
import type { FilterWarning } from '../../docstore/metadata-catalogue.js';
import { ProgressReporter } from '../progress.js';
import { announceBundledModel } from './model-commands.js';
import { CLI_SPELLING, addFeedbackFlags, addFusionFlags, searchOptionsFrom, type SearchFlagOptions } from '../search-flags.js';
import { checkOptionsApply, checkPipelineOptions } from '../../search/option-scope.js';
import { checkSearchSettingsReachStages } from '../../pipeline/pipeline-settings.js';
import { parsePipeline } from '../../pipeline/pipeline-spec.js';
import { stageSearchOptions } from '../../pipeline/stages.js';
import { pagedStages } from '../../pipeline/search-pipeline.js';
import { pageLine } from '../page-line.js';
import { pageDepth } from '../../search/paging.js';
import { addCrossEncoderFlags, addPipelineFlags, checkPipelineFlags, printRewrites, rerankWithCrossEncoder, searchWithPipeline, type CrossCliOptions } from '../pipeline-options.js';
import { idText } from '../../util/json-number-text.js';
import { documentText, fieldLines, missingRankFields } from '../../rerank/field-lines.js';
import { groupDigits } from '../../util/group-digits.js';

/** The PLAID stage timings of SearchTimings (the last round's when several ran). */
const PLAID_STAGE_KEYS: ReadonlySet<string> = new Set(['candidatesMs', 'pruneMs', 'interactionMs', 'exactMs']);

/**
 * `--timings` for people: each stage in ms with one decimal (never 2113.2792179999997), then the
 * PLAID settings and where they came from. `--json --timings` keeps the raw numbers.
 */
export function formatTimings(t: SearchTimings, plaid: (PlaidParams & { source: string }) | undefined, modelLoadMs?: number, exactStage?: string): string {
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  const rounds = t.rounds ?? [];
  // With several rounds the top-level PLAID stage timings are the last round's only, printed beside
  // the first round's settings they would be mistaken for: each round then says its own instead.
  const perRound = rounds.length > 1;
  const parts = (Object.entries(t) as Array<[string, unknown]>)
    .filter(([k, v]) => typeof v === 'number' && k.endsWith('Ms') && k !== 'totalMs' && v > 0 && !(perRound && PLAID_STAGE_KEYS.has(k)))
    .map(([k, v]) => `${k.slice(0, -2)} ${ms(v as number)}`);
  // The first round's settings with their source, then each widening round's (late-ranking.ts); a
  // selective filter's exact scan ran instead of PLAID, so no PLAID settings are claimed for it.
  const first = rounds[0];
  // An exhaustive search has no PLAID settings either: its one round is said (else the line named no
  // method at all); nor has a page covering every document, which goes straight to the scan with its
  // PLAID settings resolved but unused (the line claimed `PLAID ncells 4 …` for cisi -k 2000).
  const scan = first !== undefined && first.kind !== 'plaid';
  const firstText = scan ? `; ${describeRound(first)}` : plaid === undefined ? '' : `; PLAID ${describePlaidParams(plaid)} (${plaid.source})`;
  const settings = firstText + (plaid === undefined ? '' : describeLaterRounds(rounds)) + (exactStage === undefined ? '' : `; exact stage ${exactStage}`);
  // The model load and the first search's one-time setup (PlaitIndex.warmUp) are the process's, not the query's: said apart.
  const cold = modelLoadMs === undefined ? '' : `; before it: model load and warm-up ${ms(modelLoadMs)} (not in total)`;
  return `timings: total ${ms(t.totalMs)}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}${settings}${cold}`;
}

/**
 * Loads the index's query encoder, runs it once (onnxruntime sets its session up on the first call)
 * and pays the search's one-time setup (PlaitIndex.warmUp, as the server's warm-up does), returning
 * the milliseconds that took: the query's timings are then its own (on scifact its first query's
 * stage 1 drops from ~120 ms of int8 centroid quantisation to ~2 ms; bench/first-query.ts).
 */
async function timeModelLoad(index: { warmUp(): Promise<void> }): Promise<number> {
  const t = performance.now();
  await index.warmUp();
  return performance.now() - t;
}

/** How `plait search --highlights` marks the words in its text output: plain text, no escaping (a terminal renders no HTML). */
export const CLI_MARKS = { preTag: '«', postTag: '»', escape: false } as const;

/**
 * A hit's highlights as text lines under it: its `late:` and `bm25:` snippets (white space folded),
 * each marked with CLI_MARKS, "(title)" after a snippet of the title; "(none)" where there is none.
 */
export function formatHighlights(h: HitHighlights): string {
  const line = (label: string, s: Snippet | null | undefined): string =>
    s === null || s === undefined ? `       ${label}: (none)\n` : `       ${label}: ${s.text.replace(/\s+/g, ' ').trim()}${s.field === 'title' ? ' (title)' : ''}\n`;
  let out = '';
  if (h.late !== undefined) out += line('late', h.late?.snippet);
  if (h.bm25 !== undefined) out += line('bm25', h.bm25?.snippet);
  return out;
}

/** The search flags (search-flags.ts) plus the command's own. */
interface SearchCliOptions extends SearchFlagOptions, CrossCliOptions {
  pipeline?: string;
  k: number;
  json?: boolean;
  model?: string;
  queries?: string;
  run?: string;
  tag: string;
  text?: boolean;
  highlights?: boolean;
  timings?: boolean;
  quiet?: boolean;
}

export function addSearchFlags(cmd: Command): Command {
  cmd
    .addOption(new Option('--mode <mode>', 'search mode (default: the model profile: hybrid for the bundled model, late for ColBERT)').choices(['late', 'bm25', 'hybrid']))
    .option('--exhaustive', 'score every passage exactly instead of PLAID')
    .option('--ncells <n>', `centroids probed per query token (nIvfProbe), 1–${PLAID_LIMITS.maxCount} (default: the index's calibration (plait calibrate), else by k: ${byK.map((p) => p.nIvfProbe).join(', ')} for k <= 10, <= 100, beyond; and at least ${CANDIDATE_DEFAULTS.probesPerQuery}·that many cells a query)`, parseIntArg('nIvfProbe', 1, PLAID_LIMITS.maxCount))
    .option('--threshold <x>', `centroid score threshold for pruning (default: the calibration, else by k: ${byK.map((p) => p.centroidScoreThreshold).join(', ')}; a centroid within ${CANDIDATE_DEFAULTS.pruningMargin} of a token's best is kept)`, parseFloatArg('centroidScoreThreshold'))
    .option('--ndocs <n>', `candidates kept after centroid interaction, 1–${PLAID_LIMITS.maxCount} (past the index's passages: all) (default: the calibration, else by k: ${byK[0]!.ndocs}, ${byK[1]!.ndocs}, max(4k, ${colbertDefaultsFor(1000).ndocs})); --timings shows the settings used`, parseIntArg('ndocs', 1, PLAID_LIMITS.maxCount))
    .addOption(new Option('--plaid-defaults <table>', "what fills the PLAID settings not given: plait (the index's calibration, else plait's defaults) or colbert (ColBERT's own searcher: its k table, no probe minimum, no margin, centroid ranking, no calibration) (default: plait)").choices([...PLAID_DEFAULTS_TABLES]))
    .addOption(new Option('--interaction-scoring <how>', `how PLAID ranks candidates before exact scoring: centroids (ColBERT) or probed-tokens (WARP-style; for a query whose estimate walk, query tokens × ${CANDIDATE_DEFAULTS.estimateCells} cells × the mean IVF list, is at most ${groupDigits(CANDIDATE_DEFAULTS.probedTokensMaxWalk)} entries; longer ones keep centroids) (default: the calibration, else plait's defaults)`).choices([...INTERACTION_SCORINGS]))
    .option('--idf', 'weight query tokens by IDF (default: the model profile)')
    .option('--no-idf', 'do not weight query tokens by IDF');
  addFusionFlags(cmd)
    .option('--spelling', "correct unknown or very rare query words against the index's vocabulary (shown as rewrites)")
    .option('--synonyms <file>', "expand queries with a synonyms file in Solr's format (a, b / a => b)")
    .option('--rm3', 'RM3 pseudo-relevance feedback for BM25 (bm25 and hybrid modes)')
    .option('--prf', 'ColBERT-PRF pseudo-relevance feedback for late interaction (late and hybrid modes)');
  return addFeedbackFlags(cmd, true);
}

/** How `plait search` spells the paging fields in a refusal. */
const CLI_PAGE_SPELLING = { offset: '--offset', topK: '-k' } as const;

export function registerSearchCommands(program: Command): void {
  addPipelineFlags(addSearchFlags(
    program
      .command('search')
      .description('search an index with one query, or a queries file into a TREC run file')
      .argument('<index>', 'index name or path')
      .argument('[query]', 'query text')
      .option('-k, --k <n>', `results per query (topK), 1–${SEARCH_DEFAULTS.maxTopK}`, parseIntArg('topK', 1, SEARCH_DEFAULTS.maxTopK), SEARCH_DEFAULTS.topK)
      .option('--offset <n>', `results to skip (pagination; default: 0): prints ranks offset+1 … offset+k of the search for k = offset + k; offset + k ≤ ${SEARCH_DEFAULTS.maxResultWindow} (with --pipeline the last stage runs offset deeper)`, parseIntArg('offset', 0, SEARCH_DEFAULTS.maxResultWindow - 1))
      .option('--queries <file>', 'queries file (BEIR queries.jsonl, TSV, TREC topics) for batch mode; empty queries are skipped with a warning')
      .option('--run <file>', 'TREC run file to write in batch mode (qid Q0 docid rank score tag); without --run or --json the run goes to stdout')
      .option('--tag <tag>', 'run tag of a batch\'s TREC run (with --queries)', 'plait')
      .option('-m, --model <model>', 'query encoder (default: the model the index was built with)')
      .option('--filter <json>', 'only documents whose metadata match, e.g. \'{"year": {"$gte": 2020}}\' (fields, doc_id; $eq $ne $in $nin $all $size $gt $gte $lt $lte $exists $and $or $not)')
      .option('--text', 'print document text')
      .option('--highlights', `print each hit's highlights: the words that answered the query, in a snippet of ~${HIGHLIGHT_DEFAULTS.snippetChars} characters marked ${CLI_MARKS.preTag}like this${CLI_MARKS.postTag} (late: the MaxSim matches of the query's tokens; bm25: SQLite FTS5's; hybrid: both); with --json the library's highlights (spans with offsets and scores, <em>-marked HTML-escaped snippets)`)
      .option('--timings', 'print per-stage timings')
      .option('-q, --quiet', 'no progress output')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nA query beginning with "-" goes after "--": plait search <index> -- "-query"'),
  )).action(async (name: string, query: string | undefined, o: SearchCliOptions, cmd: Command) => {
    if (o.pipeline !== undefined) {
      // A pipeline's stages set the depth, the modes and PLAID/exact scoring: the flags the rule's table
      // (search/option-scope.ts) keeps from pipelines are refused, as HTTP refuses their fields.
      const given = Object.fromEntries(Object.entries(o).filter(([key]) => cmd.getOptionValueSource(key) === 'cli')) as SearchFlagOptions;
      checkPipelineOptions({ ...searchOptionsFrom(given), ...(o.highlights === true ? { highlights: true } : {}) }, '--pipeline', CLI_SPELLING);
    }
    checkPipelineFlags(o.pipeline === undefined ? [] : [o.pipeline], o, '--pipeline');
    // A page past the result window (search/paging.ts), said in flags before the index opens.
    if (o.offset !== undefined) {
      if (o.pipeline === undefined) pageDepth(o.offset, o.k ?? SEARCH_DEFAULTS.topK, CLI_PAGE_SPELLING);
      else pagedStages(parsePipeline(o.pipeline), o.offset, { offset: '--offset', topK: "the last stage's depth" });
    }
    // An option the search would take and ignore (--ncells with --mode bm25, --alpha outside hybrid) is
    // refused by the library's one rule (search/option-scope.ts), said here in flags; without --mode the
    // index's default mode decides, so the check waits for the index when the mode is not given.
    // Highlights are the text output's marks, the library's defaults (<em>, escaped) in --json.
    const asked: SearchOptions = { ...searchOptionsFrom(o), ...(o.highlights === true ? { highlights: o.json === true ? true : CLI_MARKS } : {}) };
    if (o.pipeline === undefined && o.mode !== undefined) checkOptionsApply(asked, o.mode, CLI_SPELLING);
    // A flag no stage of the pipeline reads (--ncells with "bm25:100 > late:10") is refused in flags, before the index opens.
    if (o.pipeline !== undefined) checkSearchSettingsReachStages(parsePipeline(o.pipeline), stageSearchOptions(asked), CLI_SPELLING, '--pipeline');
    if (o.queries !== undefined) {
      requireInput(o.queries, '--queries');
      if (query !== undefined) throw new PlaitError('USAGE', { message: 'give either a query or --queries <file>, not both', reason: 'conflictingArguments' });
    } else if (query === undefined) {
      // `plait search "bread rise"` had read the query as the index's name, then asked for a query.
      try {
        locateIndex(name);
      } catch (e) {
        if (!isPlaitError(e, 'INDEX_NOT_FOUND')) throw e;
        const names = listIndexHome();
        throw withHint(e, `plait search <index> "<query>": the index comes first${names.length === 0 ? '' : ` (indexes in ${indexHome()}: ${names.join(', ')})`}`);
      }
      throw new PlaitError('USAGE', { message: 'give a query, or --queries <file>', reason: 'missingArgument' });
    } else if (o.run !== undefined) {
      throw new PlaitError('USAGE', { message: '--run needs --queries <file> (a run file holds a batch of queries)', reason: 'conflictingArguments' });
    }
    if (o.queries !== undefined) {
      // A batch writes a run (qid, docid, rank, score): no text, no per-query timings. Said, not silently dropped.
      const idle = [o.text === true ? '--text' : '', o.highlights === true ? '--highlights' : '', o.timings === true ? '--timings' : ''].filter((f) => f !== '');
      if (idle.length > 0) process.stderr.write(`plait: warning: ${idle.join(' and ')} ${idle.length === 1 ? 'does' : 'do'} not apply with --queries (a batch writes a TREC run); ignored\n`);
    }
    // --tag names a TREC run's lines: with one query, or a batch printed as --json without --run, no
    // run is written, and the tag had been taken and dropped without a word (as --run without --queries is refused).
    if (cmd.getOptionValueSource('tag') === 'cli' && (o.queries === undefined || (o.json === true && o.run === undefined))) {
      throw new PlaitError('USAGE', { message: '--tag names the lines of a TREC run: give it with --queries <file> (the run on stdout, or in --run <file>; with --json, only --run writes one)', reason: 'conflictingArguments' });
    }
    if (o.run !== undefined) prepareOutputFile(o.run, '--run');
    if (o.tag === '' || /\s/.test(o.tag)) throw invalidArgument('tag', 'a run tag without white space', o.tag);
    locateIndex(name);
    // Read before the index is opened, so that a bad queries file fails at once.
    const skippedQueries: SkippedQuery[] = [];
    const queries = o.queries === undefined ? [] : await readQueries(o.queries, { onSkip: (q) => skippedQueries.push(q) });
    if (o.queries !== undefined) warnSkippedQueries(o.queries, skippedQueries);
    // A query id the TREC run cannot carry is refused before any search, not after the last one.
    if (o.run !== undefined || (o.json !== true && o.pipeline === undefined)) for (const q of queries) checkRunId(q.id, 'queryId', q.id);
    // One query encodes on this thread (threads 0, as explain does): the encoder's worker threads
    // would each start, load the tokenizer and wait, for one encode — 0.2–0.35 s of CPU a command. A
    // batch (--queries) keeps the workers, which encode its queries in parallel.
    const index = await openIndexForCli(name, { model: o.model, ...(o.queries === undefined ? { encoderOptions: { threads: 0 } } : {}) });
    try {
      if (o.pipeline === undefined) checkOptionsApply(asked, index.manifest.model.defaultMode, CLI_SPELLING);
      if (await searchWithPipeline(index, query, o)) return;
      const opts = { ...asked, includeText: o.text === true || o.json === true };
      if (o.queries !== undefined) {
        const progress = ProgressReporter.auto(o.quiet === true || o.json === true);
        const run: Run = new Map();
        // What a single search warns about, said once for the batch: a query with no letter or digit
        // (its run has no lines, silently before) and one clipped to the model's query window.
        const noContent: string[] = [];
        const truncated: string[] = [];
        // The batch's one filter: why it matched nothing, and the fields of several JSON types it
        // compares (FILTER_TYPE_MIXED), each said once, as a single search says them (the batch said neither).
        const filterWarnings = new Map<string, FilterWarning>();
        const batch = SEARCH_DEFAULTS.batchQueries;
        for (let i = 0; i < queries.length; i += batch) {
          const slice = queries.slice(i, i + batch);
          const { highlights: _unused, ...batchOpts } = opts;
          const results = await index.searchBatch(slice.map((q) => q.text), { ...batchOpts, includeText: false });
          results.forEach((r, j) => {
            printRewrites(r.rewrites, slice[j]!.id, o.quiet === true);
            // A page's hits keep their ranks in the whole ranking (offset + 1 …), as a single search prints them.
            run.set(slice[j]!.id, r.hits.map((h) => ({ docId: h.docId, score: h.score, ...(o.offset === undefined ? {} : { rank: h.rank }) })));
            if (r.emptyReason === 'no-content') noContent.push(slice[j]!.id);
            if (r.truncated) truncated.push(slice[j]!.id);
            for (const w of r.filterWarnings ?? []) if (!filterWarnings.has(`${w.code}\u0000${w.field ?? ''}`)) filterWarnings.set(`${w.code}\u0000${w.field ?? ''}`, w);
          });
          progress.update('search', Math.min(i + batch, queries.length), queries.length);
        }
        progress.done();
        warnBatchQueries(noContent, 'had no letter or digit: nothing to search, no hits (no-content)');
        warnBatchQueries(truncated, `had more tokens than the model keeps: searched on their first ${queryTokensKept(index)}`);
        warnBatchFilter([...filterWarnings.values()]);
        if (o.run !== undefined) await writeRun(o.run, run, { tag: o.tag });
        if (o.json) printJson(Object.fromEntries([...run].map(([qid, hits]) => [qid, hits])));
        else if (o.run !== undefined) process.stderr.write(`plait: wrote ${plural(run.size, 'query', 'queries')} to ${o.run}\n`);
        else process.stdout.write(formatRun(run, { tag: o.tag }));
        return;
      }
      // A CLI search is its process's first: with --timings the model loads and the search warms up
      // before it, timed apart, so that `encode` is the query's encoding (8 ms, not the 2 s of a model
      // load) and `candidates` PLAID's (not the int8 centroids' one-time quantisation).
      const modelLoadMs = o.timings === true && index.resolveSearch(opts).mode !== 'bm25' ? await timeModelLoad(index) : undefined;
      const { hits, timings, truncated, emptyReason, rewrites, offset, totalHits, filterWarnings } = await index.search(query!, opts);
      if (truncated) process.stderr.write(truncatedQueryWarning(index, 'searched'));
      if (emptyReason !== undefined) warnUnsearchable(emptyReason);
      // With --timings, which PLAID settings ran and where they came from (flags, the index's calibration, or plait's defaults).
      const r = index.resolveSearch(opts);
      const base = o.plaidDefaults === 'colbert' ? 'ColBERT defaults' : index.manifest.calibration !== undefined ? 'calibration' : 'defaults';
      const flagged = o.ncells !== undefined || o.threshold !== undefined || o.ndocs !== undefined || o.interactionScoring !== undefined;
      const usedPlaid = r.mode === 'bm25' || r.exhaustive ? undefined : { ...r.plaid, source: flagged ? `flags+${base}` : base };
      // A selective filter's exact scan ran instead of PLAID: no PLAID settings in the JSON (timings.rounds says what ran).
      const ranPlaid = timings.rounds?.some((x) => x.kind === 'plaid') !== false;
      if (o.json) {
        const exact = r.mode === 'bm25' ? {} : { exactStage: describeExactStage(index.manifest.nbits) };
        const timed = { ...timings, ...(modelLoadMs === undefined ? {} : { modelLoadMs }), ...(usedPlaid === undefined || !ranPlaid ? {} : { plaid: usedPlaid }), ...exact };
        printJson({ hits, ...(filterWarnings === undefined ? {} : { filterWarnings }), ...(offset === undefined ? {} : { offset, totalHits: totalHits ?? null }), ...(emptyReason === undefined ? {} : { emptyReason }), ...(truncated ? { truncated } : {}), ...(rewrites === undefined ? {} : { rewrites }), ...(o.timings ? { timings: timed } : {}) });
        return;
      }
      printRewrites(rewrites, null, false);
      for (const h of hits) {
        const snippet = h.text === undefined ? '' : `  ${(h.title ? `${h.title}: ` : '') + h.text.replace(/\s+/g, ' ').slice(0, 120)}`;
        process.stdout.write(`${String(h.rank).padStart(3)}  ${h.score.toFixed(4).padStart(9)}  ${h.docId}${snippet}\n`);
        if (h.highlights !== undefined) process.stdout.write(formatHighlights(h.highlights));
      }
      // Nothing printed had looked like a hang or a crash (a filter that matches no document). Late and
      // hybrid searches widen to every passage the filter allows, so none then means the filter passed none.
      // A filter that matched nothing says why (docstore/metadata-catalogue.ts): an unknown field, a value of the wrong JSON type.
      // A page past the end of a ranking that holds documents says so (not "no hits", not "no document passes --filter").
      const pastTheEnd = offset !== undefined && offset > 0 && hits.length === 0 && emptyReason === undefined && (totalHits ?? 0) > 0;
      if (hits.length === 0 && emptyReason === undefined && !pastTheEnd) {
        const reasons = (filterWarnings ?? []).filter((w) => w.code !== 'FILTER_NO_MATCH');
        const why = reasons.length === 0 ? '' : `: ${reasons.map((w) => `${w.message} [${w.code}]`).join('; ')}`;
        process.stderr.write(`plait: no hits${filterWarnings !== undefined || (o.filter !== undefined && r.mode !== 'bm25') ? ' (no document passes --filter)' : ''}${why}\n`);
      }
      // A comparison on a field of several JSON types compares one of them only: said even with hits (docstore/metadata-catalogue.ts).
      if (hits.length > 0) for (const w of filterWarnings ?? []) if (w.code === 'FILTER_TYPE_MIXED') process.stderr.write(`plait: warning: ${w.message} [${w.code}]\n`);
      if (offset !== undefined && (hits.length > 0 || pastTheEnd)) process.stderr.write(pageLine(offset, hits.length, o.k ?? SEARCH_DEFAULTS.topK, totalHits));
      const exactStage = r.mode === 'bm25' ? undefined : describeExactStage(index.manifest.nbits);
      if (o.timings) process.stdout.write(`${formatTimings(timings, usedPlaid, modelLoadMs, exactStage)}\n`);
    } finally {
      await index.close();
    }
  });

  addCrossEncoderFlags(program
    .command('rerank')
    .description('re-rank a shortlist of documents for a query (encodes the documents on the fly)')
    .requiredOption('--query <text>', 'the query')
    .requiredOption('--docs <file>', 'JSONL of {"id", "text"} (or BEIR {"_id", "title", "text"}; an object without "text" is ranked on its other fields as "field: value" lines, as over HTTP), or one document per line of plain text')
    .option('-m, --model <model>', 'ColBERT ONNX folder or hub repo id (default: the bundled model)')
    .addOption(new Option('--quantize <kind>', 'run the int8 graph built from the checkpoint (BERT / ModernBERT weights)').choices(['int8']))
    .option('-k, --k <n>', `results to print (topK), 1–${SEARCH_DEFAULTS.maxTopK} (default: all)`, parseIntArg('topK', 1, SEARCH_DEFAULTS.maxTopK))
    .option('--rank-fields <fields>', 'JSONL objects are ranked on these fields, comma-separated, as "field: value" lines (the HTTP routes\' rank_fields, the library\'s rankFields; default: "text", else all fields but the id)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nA query beginning with "-": --query=-text'))
    .action(async (o: { query: string; docs: string; model?: string; quantize?: 'int8'; k?: number; rankFields?: string; json?: boolean }) => {
      requireInput(o.docs, '--docs');
      const docs = readRerankDocs(o.docs, rankFieldsArg(o.rankFields));
      if (await rerankWithCrossEncoder(o.query, docs, o)) return;
      if (o.model === undefined && !o.json) announceBundledModel();
      const reranker = await Reranker.create({ model: o.model, ...(o.quantize === undefined ? {} : { quantize: o.quantize }), encoderOptions: { threads: 1 } });
      try {
        const results = await reranker.rerank(o.query, docs, { topK: o.k ?? docs.length });
        if (o.json) printJson(results);
        else results.forEach((r, i) => process.stdout.write(`${String(i + 1).padStart(3)}  ${r.score.toFixed(4).padStart(9)}  ${r.id ?? `#${r.index}`}\n`));
      } finally {
        await reranker.close();
      }
    });
}

/** `--rank-fields title,body` → ['title', 'body']. @throws PlaitError INVALID_ARGUMENT when it names no field. */
function rankFieldsArg(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const fields = v.split(',').map((f) => f.trim()).filter((f) => f.length > 0);
  if (fields.length === 0) throw invalidArgument('--rank-fields', 'a comma-separated list of field names', v);
  return fields;
}

/**
 * The `--docs` file's documents. With `rankFields`, a JSON object line is ranked on those fields
 * (rerank/field-lines.ts, the routes' and the library's rule), and a `plait: warning:` line counts
 * the objects holding none of them (the routes' meta.warnings).
 */
function readRerankDocs(file: string, rankFields?: readonly string[]): RerankDocument[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new PlaitError('INVALID_INPUT', { message: `cannot read ${file}`, file }, { cause });
  }
  // A gzip'd file is read decompressed (CORRUPT_INPUT when it does not decompress); zip, bzip2, xz, zstd are COMPRESSED_INPUT.
  const lines = decodeUtf8(decompressInput(bytes, file, 'documents'), file).split(/\r?\n/);
  const docs: RerankDocument[] = [];
  const objects: unknown[] = [];
  lines.forEach((line, i) => {
    if (line.trim().length === 0) return;
    if (!line.trimStart().startsWith('{')) {
      docs.push({ id: String(i + 1), text: line });
      return;
    }
    let obj: { id?: unknown; _id?: unknown; text?: unknown; title?: unknown };
    try {
      obj = JSON.parse(line) as typeof obj;
    } catch (cause) {
      throw new PlaitError('MALFORMED_JSONL', { message: (cause as Error).message, file, line: i + 1 }, { cause });
    }
    if (obj.text !== undefined && typeof obj.text !== 'string') throw new PlaitError('MALFORMED_JSONL', { message: 'field "text" is not a string', file, line: i + 1 });
    const idField = obj.id !== undefined && obj.id !== null ? 'id' : '_id';
    const id = obj[idField];
    let text: string;
    if (rankFields !== undefined) {
      objects.push(obj);
      // Its errors (an unpaired surrogate, a text over the encoder's limit) keep their codes, naming the file and the document.
      text = documentText(obj, docs.length, rankFields, `${file}: documents`);
    } else if (typeof obj.text === 'string') {
      text = (typeof obj.title === 'string' && obj.title.trim() ? `${obj.title}\n` : '') + obj.text;
    } else {
      // No `text`: ranked on its other fields as `field: value` lines, as the HTTP rerank routes rank
      // such an object (Together's default); it had been MALFORMED_JSONL 'no "text" string'.
      const fields = Object.keys(obj).filter((f) => f !== 'id' && f !== '_id');
      text = fieldLines(obj as Record<string, unknown>, fields);
      if (text.length === 0) throw new PlaitError('MALFORMED_JSONL', { message: 'no "text" and no field but the id to rank on', file, line: i + 1 });
    }
    // A number id as written (util/json-number-text.ts: String() rounds past 2^53).
    docs.push({ id: id === undefined || id === null ? String(i + 1) : (idText(id, line, idField) ?? String(id)), text });
  });
  const missing = missingRankFields(objects, rankFields);
  if (missing !== null) process.stderr.write(`plait: warning: ${missing.message}\n`);
  return docs;
}
