import { compressedInputError, fileCompression } from '../../util/input-bytes.js';
import { Option, type Command } from 'commander';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, cpus, platform, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { BUILD_DEFAULTS, EVAL_DEFAULTS } from '../../config/defaults.js';
import { NBITS_NAMES, nbitsName, parseNbits } from '../../kernels/validate.js';
import { openIndexForCli } from '../open-index.js';
import { locateIndex, resolveIndexPath, isIndexDir, checkFolderDestination } from '../../format/index-path.js';
import { readManifest } from '../../format/index-reader.js';
import { PlaitError, isPlaitError } from '../../errors/index.js';
import { SEARCH_DEFAULTS } from '../../config/defaults.js';
import {
  readQueries,
  readQrels,
  evaluateRun,
  latencyStats,
  buildComparison,
  renderTable,
  writeRun,
  checkRunId,
  writeReportFiles,
  topKOverlap,
  type ComparisonMeta,
  type ModeInput,
  type Run,
  type Qrels,
} from '../../eval/index.js';
import type { SkippedQuery } from '../../eval/queries.js';
import { EVAL_REWRITES, STANDARD_MODES, describeMode, parseSweep, rewriteMode, type EvalMode } from '../../eval/search-modes.js';
import { readSynonyms, type SynonymMap } from '../../rewrite/synonyms.js';
import { ProgressReporter } from '../progress.js';
import { exitCleanlyOnSignals } from '../interrupt.js';
import { parseIntArg, plural } from '../options.js';
import { prepareOutputDir, prepareOutputFile, requireInput } from '../validate.js';
import { withHint } from '../report-error.js';
import { SKIP_INVALID_HELP, runCliBuild, describeSkipped, totalSkipped } from './index-commands.js';
import { warnSkippedQueries } from './query-warnings.js';
import { LEXICAL_STAGES, addEvalPipelineFlags, checkPipelineFlags, evalPipelineRows, identicalIdsOption, renderStageLatency, type IdenticalIdsRule } from '../pipeline-options.js';
import { splitPipelineSpecs } from '../../eval/pipeline-modes.js';
import { parsePipeline } from '../../pipeline/pipeline-spec.js';
import { matchCorpus } from '../corpus-match.js';
import { checkJudgedQueries, checkQrelsInIndex } from '../qrels-check.js';

interface EvalCliOptions {
  synonyms?: string;
  queries?: string;
  qrels?: string;
  split: string;
  modes: string;
  sweep?: string;
  depth: number;
  model?: string;
  index?: string;
  baseline?: string;
  test: 'randomization' | 't-test';
  runDir?: string;
  report?: string;
  skipInvalid?: boolean;
  nbits?: string;
  json?: boolean;
  quiet?: boolean;
  pipelines?: string;
  crossEncoder?: string;
  identicalIds?: IdenticalIdsRule;
}

/** The modes named in `--modes` and `--sweep`; an unknown name fails here, before any build. */
export function parseModes(list: string, sweep: string | undefined, depth: number, synonyms: SynonymMap | null = null): EvalMode[] {
  const modes = list
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean)
    .map((m) => {
      if (m.includes('+')) {
        try {
          return rewriteMode(m, depth, synonyms);
        } catch (cause) {
          if (cause instanceof PlaitError) throw cause;
          throw new PlaitError('INVALID_ARGUMENT', { message: `--modes: ${(cause as Error).message}`, name: 'modes' }, { cause });
        }
      }
      const make = STANDARD_MODES[m];
      if (make === undefined) {
        throw new PlaitError('INVALID_ARGUMENT', { message: `unknown mode "${m}" in --modes (expected ${Object.keys(STANDARD_MODES).join(', ')})`, name: 'modes' });
      }
      return make(depth);
    });
  if (sweep !== undefined) {
    try {
      modes.push(...parseSweep(sweep, depth));
    } catch (cause) {
      throw new PlaitError('INVALID_ARGUMENT', { message: `--sweep: ${(cause as Error).message}`, name: 'sweep' }, { cause });
    }
  }
  if (modes.length === 0) throw new PlaitError('INVALID_ARGUMENT', { message: '--modes names no mode', name: 'modes' });
  return modes;
}

function plaitVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** `plait eval`: quality (trec_eval metrics), latency and significance of several modes in one table. */
export function registerEvalCommand(program: Command): void {
  addEvalPipelineFlags(program
    .command('eval')
    .description('evaluate search modes on judged queries: nDCG@10, MRR@10, MAP@100, recall, P@10, latency, significance')
    .argument('<target>', 'an index (name or path), or a BEIR folder (indexed first into indexes/<name>; its files may be gzip\'d: corpus.jsonl.gz, …)')
    .option('--queries <file>', 'queries (BEIR queries.jsonl, TSV, TREC topics); default <BEIR folder>/queries.jsonl; empty queries are skipped with a warning')
    .option('--qrels <file>', 'judgments (BEIR TSV or TREC); default <BEIR folder>/qrels/<split>.tsv')
    .option('--split <name>', 'BEIR qrels split', 'test')
    .option('--modes <list>', `comma-separated: ${Object.keys(STANDARD_MODES).join(', ')}; each may add query rewrites after "+" (${EVAL_REWRITES.join(', ')}), e.g. "bm25,bm25+rm3,hybrid,hybrid+spelling,plaid+prf"`, 'exhaustive,plaid,bm25,hybrid')
    .option('--synonyms <file>', 'synonyms file (Solr or WordNet format) for modes with +synonyms')
    .option('--sweep <settings>', 'extra PLAID settings, e.g. "ncells=1,ndocs=256;ncells=2,ndocs=1024"')
    .option('--depth <n>', `results per query, 10–${SEARCH_DEFAULTS.maxTopK} (Recall@1000 needs 1000; metrics deeper than this are not shown)`, parseIntArg('depth', 10, SEARCH_DEFAULTS.maxTopK), EVAL_DEFAULTS.depth)
    .option('-m, --model <model>', 'model for indexing a BEIR folder (default: the bundled model)')
    .option('-i, --index <name-or-path>', 'index to build/use for a BEIR folder (default: its folder name)')
    .option('--skip-invalid', `when indexing a BEIR folder: ${SKIP_INVALID_HELP}`)
    .addOption(new Option('--nbits <n>', `when indexing a BEIR folder: residual width, as plait index --nbits (default: ${BUILD_DEFAULTS.nbits}); an existing index of another width is refused`).choices([...NBITS_NAMES]))
    .option('--baseline <mode>', 'mode the others are tested against (default: the first)')
    .addOption(new Option('--test <name>', 'significance test').choices(['randomization', 't-test']).default('randomization'))
    .addOption(
      new Option(
        '--identical-ids <rule>',
        "a hit whose document id is its query's id: drop it (BEIR's ignore_identical_ids, for sets whose queries are corpus documents), keep it (trec_eval), or auto: drop unless the qrels judge a document under its own query's id (the ids are then separate numberings, as in cisi and cranfield) (default: auto)",
      ).choices(['auto', 'drop', 'keep']),
    )
    .option('--run-dir <dir>', 'write one TREC run file per mode here (created if missing)')
    .option('--report <file.html>', 'write an HTML report with a latency-vs-quality plot (and .json, .txt beside it; the folder is created if missing)')
    .option('--json', 'print the comparison as JSON')
    .option('-q, --quiet', 'no progress output'))
    .action(async (target: string, o: EvalCliOptions) => {
      // 1. Everything that can be checked is checked before any long work (a build can take hours).
      // A BEIR file given for its folder (`plait eval data/cisi/queries.jsonl`) had read as "no index".
      if (existsSync(target) && statSync(target).isFile()) {
        // BEIR's own download is a .zip of the folder: named as such, not as "a file".
        const compression = await fileCompression(target);
        if (compression !== null && compression !== 'gzip') throw compressedInputError(target, 'BEIR', compression);
        const folder = dirname(target);
        const hint = hasBeirFile(folder, 'corpus.jsonl') || hasBeirFile(folder, 'queries.jsonl') ? `: for the BEIR folder it is in, plait eval ${folder}` : '';
        throw new PlaitError('USAGE', { message: `${target} is a file; eval's target is an index or a BEIR folder (corpus.jsonl, queries.jsonl, qrels/; each may be gzip'd)${hint}`, reason: 'invalidArgument' });
      }
      // A BEIR folder as a Hugging Face download keeps it (corpus.jsonl.gz, queries.jsonl.gz) is read as one.
      const beir = hasBeirFile(target, 'corpus.jsonl') || hasBeirFile(target, 'queries.jsonl');
      const corpusPath = beir ? await beirFile(target, 'corpus.jsonl', 'corpus') : undefined;
      const queriesPath = o.queries ?? (beir ? await beirFile(target, 'queries.jsonl', 'queries') : undefined);
      const qrelsPath = o.qrels ?? (beir ? await beirFile(target, join('qrels', `${o.split}.tsv`), 'qrels') : undefined);
      if (queriesPath === undefined || qrelsPath === undefined) {
        if (!beir) locateIndex(target); // a typo in the target says so first
        throw new PlaitError('USAGE', { message: 'give --queries and --qrels, or a BEIR folder as the target', reason: 'missingArgument' });
      }
      requireInput(queriesPath, o.queries === undefined ? 'BEIR queries.jsonl' : '--queries');
      if (o.qrels === undefined) requireSplit(target, qrelsPath, o.split);
      else requireInput(qrelsPath, '--qrels');
      let indexPath = beir ? resolveIndexPath(o.index ?? basename(resolve(target))) : locateIndex(target);
      const mustBuild = beir && !isIndexDir(indexPath);
      if (mustBuild) requireInput(corpusPath!, 'BEIR corpus.jsonl');
      if (mustBuild) checkFolderDestination(indexPath, 'choose another --index');
      // --nbits shapes a build: refused where eval builds nothing, or where the index it would reuse has another width.
      if (o.nbits !== undefined && !beir) throw new PlaitError('USAGE', { message: '--nbits applies when eval indexes a BEIR folder; this target is an index (rebuild it with plait index --nbits)', reason: 'conflictingArguments' });
      if (o.nbits !== undefined && !mustBuild && readManifest(indexPath).nbits !== parseNbits(o.nbits)) {
        throw withHint(new PlaitError('INVALID_ARGUMENT', { message: `the index ${indexPath} has nbits ${nbitsName(readManifest(indexPath).nbits)}, not ${o.nbits}; eval reuses an existing index as it is`, name: 'nbits' }), 'give --index a new name to build the folder at this width');
      }
      // A reused index must hold this folder's corpus: overlapping ids would otherwise be scored against another corpus's qrels.
      if (beir && !mustBuild && existsSync(corpusPath!)) await checkIndexCorpus(indexPath, corpusPath!, o.index === undefined);
      const modes = parseModes(o.modes, o.sweep, o.depth, o.synonyms === undefined ? null : readSynonyms(o.synonyms));
      checkPipelineFlags(o.pipelines === undefined ? [] : splitPipelineSpecs(o.pipelines), o, '--pipelines');
      if (o.baseline !== undefined && !modes.some((m) => m.name === o.baseline)) {
        throw new PlaitError('INVALID_ARGUMENT', { message: `--baseline "${o.baseline}" is not one of the modes (${modes.map((m) => m.name).join(', ')})`, name: 'baseline' });
      }
      const reportBase = o.report?.replace(/\.html?$/i, '');
      if (reportBase !== undefined) for (const ext of ['html', 'json', 'txt']) prepareOutputFile(`${reportBase}.${ext}`, '--report');
      if (o.runDir !== undefined) prepareOutputDir(o.runDir, '--run-dir');

      // 2. Queries and judgments, read (and so validated) before the build.
      const skippedQueries: SkippedQuery[] = [];
      const [queries, qrels] = await Promise.all([readQueries(queriesPath, { onSkip: (q) => skippedQueries.push(q) }), readQrels(qrelsPath)]);
      warnSkippedQueries(queriesPath, skippedQueries);
      // The run files cannot carry a query id with white space: said before the build and the searches.
      if (o.runDir !== undefined) for (const q of queries) checkRunId(q.id, 'queryId', q.id);
      // The judged query ids as written, for the refusal below when none of them is asked.
      const qrelsQueryIds = [...qrels.keys()];
      // A skipped query was not asked: it leaves the evaluation instead of scoring 0.
      for (const q of skippedQueries) qrels.delete(q.id);
      // Nor was a judged query that the queries file does not hold: it had been scored 0 in every
      // mean (evaluateRun's trec_eval -c rule), so 17 queries asked of 69 judged gave nDCG@10 0.082
      // for 0.38, under a title saying 17 queries and a footnote saying 69.
      leaveOutUnasked(qrels, queries, skippedQueries, queriesPath, qrelsPath);
      const judged = queries.filter((q) => qrels.has(q.id));
      if (judged.length === 0) checkJudgedQueries(queries, qrelsQueryIds, queriesPath, qrelsPath);

      // 3. Build the index of a BEIR folder when there is none yet.
      const progress = ProgressReporter.auto(o.quiet === true || o.json === true);
      // Ctrl-C ends the progress line and says so, in the searches as in the build.
      exitCleanlyOnSignals(progress, o.json === true);
      if (mustBuild) {
        const built = await runCliBuild(
          corpusPath!,
          { index: indexPath, model: o.model, skipInvalid: o.skipInvalid, ...(o.nbits === undefined ? {} : { nbits: parseNbits(o.nbits) }) },
          { progress, json: o.json === true, quiet: o.quiet === true },
        );
        indexPath = built.path;
      } else if (beir && !o.json) {
        const skipped = readManifest(indexPath).skipped;
        if (totalSkipped(skipped) > 0) process.stderr.write(`plait: note: the index ${indexPath} left out ${plural(totalSkipped(skipped), 'invalid document')} (${describeSkipped(skipped)})\n`);
      }
      const index = await openIndexForCli(indexPath, { model: o.model, workers: availableParallelism() });
      try {
        checkQrelsInIndex(index, qrels, judged.map((q) => q.id), qrelsPath, 'evaluated');
        // The one-time costs (model load, the encoder's first run, the scoring kernels' and document
        // store's first use) are paid before anything is timed, and said apart: they had gone into
        // encodeMsPerQuery (648.7 ms/query over 3 queries for the bundled model's ~13 on cisi's 76)
        // and into the first query of the first mode (p95 53.9 ms for a p50 of 18.9).
        // Lexical modes read no vectors: with only those (`--modes bm25,bm25+rm3`, pipelines of bm25,
        // rm3 and cross stages) the index's model is neither loaded nor run (it had been: 1.9 s of model
        // load and 2.4 s of encoding cisi's 75 queries for a BM25 run of 1.5 s). A rewriting mode
        // encodes its own rewritten text; pipelines encode their own.
        const lexicalOnly =
          modes.every((m) => m.options.mode === 'bm25') &&
          (o.pipelines === undefined ? [] : splitPipelineSpecs(o.pipelines)).every((spec) => parsePipeline(spec).every((s) => LEXICAL_STAGES.has(s.stage)));
        const warm0 = performance.now();
        await index.warmUp({ encoder: !lexicalOnly });
        const warmUpMs = performance.now() - warm0;
        // Queries are encoded once, up front, for the modes that score them as given; search latency is measured without encoding.
        const encodeUpFront = modes.some((m) => m.options.mode !== 'bm25' && m.options.rewrite === undefined);
        const t0 = performance.now();
        const encoded = encodeUpFront ? await (await index.encoder()).encodeQueries(judged.map((q) => q.text)) : [];
        // undefined when nothing was encoded: no note about encoding, and no encodeMsPerQuery in --json.
        const encodeMsPerQuery = encodeUpFront ? (performance.now() - t0) / judged.length : undefined;
        const inputs: ModeInput[] = [];
        const runs = new Map<string, Run>();
        for (const mode of modes) {
          const run: Run = new Map();
          const durations = new Float64Array(judged.length);
          const wall0 = performance.now();
          for (let i = 0; i < judged.length; i++) {
            const q = judged[i]!;
            const start = performance.now();
            // Exhaustive scoring splits each query's passages across the workers; the other modes
            // run one query at a time on this thread, so their latency is an unloaded one.
            // A rewriting mode encodes its rewritten query itself (spelling, synonyms change the late side's text).
            const { hits } = mode.options.rewrite !== undefined
              ? await index.search(q.text, mode.options)
              : mode.options.exhaustive
              ? (await index.searchEncodedBatch([q.text], [encoded[i]!], mode.options))[0]!
              : index.searchEncoded(q.text, mode.options.mode === 'bm25' ? null : encoded[i]!, mode.options);
            durations[i] = performance.now() - start;
            run.set(q.id, hits.map((h) => ({ docId: h.docId, score: h.score })));
            if (i % 16 === 0) progress.update(mode.name, i + 1, judged.length);
          }
          progress.update(mode.name, judged.length, judged.length);
          const wallMs = performance.now() - wall0;
          inputs.push({ name: mode.name, result: evaluateRun(run, qrels, { ignoreIdenticalIds: identicalIdsOption(o.identicalIds) }), latency: latencyStats(durations, { wallMs }) });
          runs.set(mode.name, run);
        }
        const piped = await evalPipelineRows(index, judged, qrels, o, progress);
        inputs.push(...piped.inputs);
        for (const [name, run] of piped.runs) runs.set(name, run);
        progress.done();
        // BEIR's identical-id rule changes the figures from trec_eval's: said whenever it took a hit out.
        const dropped = inputs.filter((m) => m.result.identicalIds.hitsDropped > 0);
        if (dropped.length > 0) {
          const most = Math.max(...dropped.map((m) => m.result.identicalIds.hitsDropped));
          process.stderr.write(`plait: note: ${most} ${most === 1 ? 'hit' : 'hits'} whose document id equals its query's id ${most === 1 ? 'was' : 'were'} dropped before scoring (in a mode, at most; BEIR's ignore_identical_ids; trec_eval keeps them: --identical-ids keep)\n`);
        }
        // Fidelity of each late-interaction mode to exhaustive MaxSim: share of its top-10 found.
        const exact = runs.get('exhaustive');
        const fidelity: Record<string, number> = {};
        if (exact !== undefined) {
          for (const m of modes) if (m.name !== 'exhaustive' && m.options.mode === 'late' && m.options.rewrite === undefined) fidelity[m.name] = topKOverlap(runs.get(m.name)!, exact, 10);
        }
        const meta: ComparisonMeta = {
          index: indexPath,
          model: index.manifest.model.name,
          date: new Date().toISOString(),
          machine: { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), platform: `${platform()} ${process.arch}, node ${process.versions.node}`, memoryGiB: Math.round(totalmem() / 2 ** 30) },
          plaitVersion: plaitVersion(),
          depth: o.depth,
          skippedQueries: { EMPTY_TEXT: skippedQueries.length },
          ...(encodeMsPerQuery === undefined ? {} : { encodeMsPerQuery }),
          warmUpMs,
          ...(Object.keys(fidelity).length === 0 ? {} : { fidelityTop10: fidelity }),
          modeDescriptions: Object.fromEntries(inputs.map((m) => [m.name, describeMode(m.name)])),
        };
        const comparison = buildComparison(inputs, { baseline: o.baseline, test: o.test, depth: o.depth, meta, title: `${basename(indexPath)}: ${plural(judged.length, 'query', 'queries')}, depth ${o.depth}` });
        // The results are printed first: a report or run file that fails now (a disk filled, a folder
        // removed during the run) must not lose an evaluation that took minutes or hours.
        if (o.json) process.stdout.write(`${JSON.stringify({ ...comparison, encodeMsPerQuery, fidelityTop10: fidelity }, null, 2)}\n`);
        else {
          process.stdout.write(`${renderTable(comparison)}\n`);
          process.stdout.write(renderStageLatency(piped.inputs));
          // renderTable's notes already say PLAID's share of the exhaustive top-10 and that latencies exclude encoding.
        }
        try {
          if (reportBase !== undefined) await writeReportFiles(comparison, { html: `${reportBase}.html`, json: `${reportBase}.json`, text: `${reportBase}.txt` });
          if (o.runDir !== undefined) {
            for (const [name, run] of runs) await writeRun(join(o.runDir, `${name.replace(/[^\w.=-]+/g, '_')}.trec`), run, { tag: name.replace(/\s+/g, '_') });
          }
        } catch (cause) {
          // A run that cannot carry an id (eval/run.ts formatRun) is the run format's refusal, not a file system's.
          if (isPlaitError(cause, 'ID_WHITESPACE')) throw withHint(cause, 'the results were printed above; --json carries every id (the TREC run files cannot)');
          const what = cause instanceof Error ? cause.message : String(cause);
          throw withHint(new PlaitError('NOT_WRITABLE', { message: `writing the report or run files failed: ${what}` }, { cause }), 'the results were printed above; re-run with another --report / --run-dir to get the files');
        }
        if (o.report !== undefined && !o.json) process.stdout.write(`report: ${o.report}\n`);
      } finally {
        await index.close();
      }
    });
}

/**
 * Drops from `qrels` the judged queries that the queries file does not hold (they are not asked),
 * saying on stderr how many of them had a relevant judgment, and the first.
 */
function leaveOutUnasked(qrels: Qrels, queries: readonly { id: string }[], skipped: readonly SkippedQuery[], queriesPath: string, qrelsPath: string): void {
  const asked = new Set([...queries.map((q) => q.id), ...skipped.map((q) => q.id)]);
  const unasked: string[] = [];
  for (const [qid, judged] of qrels) {
    if (asked.has(qid)) continue;
    qrels.delete(qid);
    if ([...judged.values()].some((g) => g > 0)) unasked.push(qid);
  }
  // None asked at all: the refusal that follows shows both files' ids; a note before it said half of that.
  if (unasked.length === 0 || qrels.size === 0) return;
  process.stderr.write(
    `plait: note: ${unasked.length} ${unasked.length === 1 ? 'query' : 'queries'} judged in ${qrelsPath} ${unasked.length === 1 ? 'is' : 'are'} not in ${queriesPath} (first: "${unasked[0]}"): left out of the means, not scored 0\n`,
  );
}

/**
 * Refuses an existing index that holds none of the BEIR corpus's first documents (INVALID_ARGUMENT,
 * naming the first that is missing or differs), and warns when only some match (a changed corpus).
 */
async function checkIndexCorpus(indexPath: string, corpus: string, defaultName: boolean): Promise<void> {
  const m = await matchCorpus(indexPath, corpus);
  if (m.firstMismatch === null) return;
  const first = `document "${m.firstMismatch.id}" is ${m.firstMismatch.reason === 'missing' ? 'not in the index' : 'stored with another title or text'}`;
  if (m.matched === 0) {
    const refused = new PlaitError('INVALID_ARGUMENT', {
      message: `the index ${indexPath} does not hold ${corpus}: none of its first ${plural(m.compared, 'document')} is stored there as the corpus has it (${first}); its figures would measure another corpus`,
      name: 'index',
    });
    throw withHint(refused, defaultName ? "give --index <a new name> to build this folder's index there, or remove the one in the way" : 'give --index the index built from this folder, or a new name to build it');
  }
  process.stderr.write(`plait: warning: the index ${indexPath} differs from ${corpus}: ${m.compared - m.matched} of its first ${m.compared} documents are missing or changed (${first}); the index is evaluated as it is\n`);
}

/** Extensions of the compressions plait does not read, as a BEIR file downloaded some other way may carry them. */
const UNREAD_COMPRESSED_EXTENSIONS = ['.zip', '.bz2', '.xz', '.zst'] as const;

/** True when BEIR file `name` is in `folder`, plain, gzip'd or in another compression (which beirFile then names). */
function hasBeirFile(folder: string, name: string): boolean {
  return ['', '.gz', ...UNREAD_COMPRESSED_EXTENSIONS].some((ext) => existsSync(join(folder, `${name}${ext}`)));
}

/**
 * The path eval reads BEIR file `name` of `folder` from: the plain file, else `name.gz` (as the
 * Hugging Face hub's BEIR sets keep corpus.jsonl.gz and queries.jsonl.gz; read decompressed), else
 * the plain path, for the caller to report as missing.
 * @throws PlaitError COMPRESSED_INPUT when the file is there only in a compression plait does not read (told by its magic bytes).
 */
async function beirFile(folder: string, name: string, what: string): Promise<string> {
  const plain = join(folder, name);
  if (existsSync(plain) || existsSync(`${plain}.gz`)) return existsSync(plain) ? plain : `${plain}.gz`;
  for (const ext of UNREAD_COMPRESSED_EXTENSIONS) {
    if (!existsSync(`${plain}${ext}`) || !statSync(`${plain}${ext}`).isFile()) continue;
    const compression = await fileCompression(`${plain}${ext}`);
    if (compression !== null && compression !== 'gzip') throw compressedInputError(`${plain}${ext}`, what, compression);
  }
  return plain;
}

/**
 * The BEIR qrels file of `split`, or FILE_NOT_FOUND naming the splits the folder's qrels/ holds
 * (`details.splits`): a set judged on dev only (BEIR's msmarco keeps dev.tsv beside train.tsv) had
 * been "no such file qrels/test.tsv" without a word of `--split dev`.
 */
function requireSplit(target: string, qrelsPath: string, split: string): void {
  if (existsSync(qrelsPath) && statSync(qrelsPath).isFile()) return;
  let splits: string[] = [];
  try {
    splits = [...new Set(readdirSync(join(target, 'qrels')).filter((n) => /\.tsv(\.gz)?$/.test(n)).map((n) => n.replace(/\.tsv(\.gz)?$/, '')))].sort();
  } catch {
    // no qrels/ folder: the plain message below
  }
  const error = new PlaitError('FILE_NOT_FOUND', { message: `BEIR qrels/${split}.tsv: no such file ${qrelsPath}${splits.length > 0 ? ` (qrels/ holds ${splits.map((x) => `${x}.tsv`).join(', ')})` : ''}`, path: qrelsPath, option: `BEIR qrels/${split}.tsv`, splits });
  throw splits.length > 0 ? withHint(error, `choose a split: ${splits.map((x) => `--split ${x}`).join(' or ')}`) : error;
}
