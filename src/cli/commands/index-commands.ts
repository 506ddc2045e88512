import { Option, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildIndex, type BuildOptions, type BuildResult } from '../../indexer/build-index.js';
import { verifyIndex } from '../../format/index-reader.js';
import { locateIndex, resolveIndexPath, checkFolderDestination, indexHome, listIndexHome } from '../../format/index-path.js';
import { checkShardedDestination, refuseClusterShard } from '../../format/publish.js';
import { MANIFEST_FILE, roleFileName, type IndexManifest } from '../../format/manifest.js';
import { DocStoreReader } from '../../docstore/docstore-reader.js';
import { BUILD_DEFAULTS, ENCODER_DEFAULTS, LIVING_DEFAULTS, DRIFT_DEFAULTS, SERVER_DEFAULTS, THREAD_LIMITS } from '../../config/defaults.js';
import { SCORING_WORKERS_AUTO_MAX, resolveScoringWorkers } from '../../search/scoring-workers.js';
import { PlaitError, isPlaitError } from '../../errors/index.js';
import { kernelsStatus, type CpuFeatures, type KernelsStatus } from '../../kernels/index.js';
import { NBITS_NAMES, nbitsName, parseNbits } from '../../kernels/validate.js';
import { describeExactStage } from '../../codec/code-scorer.js';
import { CORPUS_FORMATS, type CorpusFormat, type CorpusWarning } from '../../indexer/corpus/types.js';
import { SKIP_REASON_CODES } from '../../indexer/corpus/read-corpus.js';
import { BEIR_FIELDS, GENERIC_ID_FIELDS } from '../../indexer/corpus/jsonl-parser.js';
import { ProgressReporter, formatBytes } from '../progress.js';
import { formatTable } from '../table.js';
import { parseIntArg, plural, printJson } from '../options.js';
import { exitCleanlyOnSignals } from '../interrupt.js';
import { prepareOutputDir } from '../validate.js';
import { withHint } from '../report-error.js';
import { announceBundledModel } from './model-commands.js';
import { withCorpusInput } from '../stdin-corpus.js';
import { CALIBRATION_DEFAULTS, DOCSTORE_DEFAULTS, TWO_LEVEL_ASSIGN_DEFAULTS } from '../../config/defaults.js';
import { BM25_STEMMERS, type Bm25Stemmer } from '../../docstore/schema.js';
import { CENTROID_ASSIGNMENTS, type CentroidAssignment } from '../../indexer/two-level-assign.js';
import { clusterRebuildHint, findClusterRoot, readClusterManifest, shardDir, type ClusterManifest } from '../../cluster/cluster-manifest.js';

/** The corpus report's kinds of invalid document and the error code each stands for (the reader's own table). */
export const SKIP_CODES: Readonly<Record<string, string>> = SKIP_REASON_CODES;
const SKIPPABLE = new Set(Object.values(SKIP_CODES));

/**
 * Whether the "add --skip-invalid" hint fits `err`: a document the reader can step over (its code is
 * a skip reason), unless the reader marked the fault as one no skipping passes (`skippable: false`:
 * a CSV header or quoting fault, a UTF-16 file), where the hint had contradicted the message.
 */
export function skipInvalidApplies(err: unknown, skipInvalid: boolean | undefined): err is PlaitError {
  return isPlaitError(err) && SKIPPABLE.has(err.code) && skipInvalid !== true && err.details?.['skippable'] !== false;
}
/** Skip reasons that manifests of older plait versions record and this one no longer has (ids with any white space were refused). */
const LEGACY_SKIP_CODES: Readonly<Record<string, string>> = { idWhitespace: 'ID_WHITESPACE' };

/** Skipped documents by reason, e.g. "2 EMPTY_TEXT, 1 DUPLICATE_ID"; '' when none. */
export function describeSkipped(skipped: Record<string, number> | undefined): string {
  return Object.entries(skipped ?? {})
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${SKIP_CODES[kind] ?? LEGACY_SKIP_CODES[kind] ?? kind}`)
    .join(', ');
}

export function totalSkipped(skipped: Record<string, number> | undefined): number {
  return Object.values(skipped ?? {}).reduce((a, b) => a + b, 0);
}

/** "; skipped 2 invalid (1 EMPTY_TEXT, 1 DUPLICATE_ID)" for a result line of index, add and cluster add; '' when none. */
export function skippedNote(skipped: Record<string, number> | undefined): string {
  const n = totalSkipped(skipped);
  return n > 0 ? `; skipped ${n} invalid (${describeSkipped(skipped)})` : '';
}

/**
 * Runs a build for the CLI (`index`, `eval` on a BEIR folder, `quickstart`): progress, the
 * interrupt handlers, and the one behaviour for invalid documents — stop on the first one (with a
 * hint at `--skip-invalid`), or with `--skip-invalid` skip them and say how many, by reason, on
 * stderr; the manifest records them and `plait info` shows them. Top-level JSONL fields the reader
 * does not read are named on stderr once each, as they first appear.
 */
export async function runCliBuild(
  input: string | readonly string[],
  options: Omit<BuildOptions, 'onProgress'>,
  ui: { progress: ProgressReporter; json: boolean; quiet: boolean; shown?: (text: string) => string },
): Promise<BuildResult> {
  const shown = ui.shown ?? ((text: string) => text);
  const restore = exitCleanlyOnSignals(ui.progress, ui.json);
  let result: BuildResult;
  try {
    result = await buildIndex(input, {
      ...options,
      onProgress: (p) => ui.progress.update(p.phase, p.done, p.total, p.elapsedMs),
      // Said as soon as the line is read, not after the encoding (with --json: in the result's report.ignoredFields).
      ...(ui.json ? {} : { onWarning: (w: CorpusWarning) => ui.progress.note(`plait: warning: ${shown(w.message)}`) }),
    });
  } catch (err) {
    if (skipInvalidApplies(err, options.skipInvalid)) {
      throw withHint(err, 'add --skip-invalid to skip such documents and report their counts by reason');
    }
    throw err;
  } finally {
    ui.progress.done();
    restore();
  }
  // A field the corpus holds with several JSON types (docstore/metadata-types.ts): built, and said.
  if (!ui.json) for (const w of result.metadataWarnings ?? []) process.stderr.write(`plait: warning: ${w.message} [${w.code}]\n`);
  const skipped = totalSkipped(result.report.skipped);
  if (skipped > 0 && !ui.json) process.stderr.write(`plait: skipped ${skipped} invalid document${skipped === 1 ? '' : 's'} (${describeSkipped(result.report.skipped)})\n`);
  return result;
}

interface IndexCliOptions {
  index: string;
  model?: string;
  quantize?: 'int8';
  nbits: string;
  kmeansIters?: number;
  docMaxlen?: number;
  split: boolean;
  stride?: number;
  skipInvalid?: boolean;
  format?: CorpusFormat;
  idField?: string;
  textField?: string;
  titleField?: string;
  threads?: number;
  centroidAssignment?: CentroidAssignment;
  coarseCentroids?: number;
  coarseProbe?: number;
  calibrate?: number | true;
  bm25Stemmer?: Bm25Stemmer;
  shards?: number;
  quiet?: boolean;
  json?: boolean;
}

/** ", tokens assigned two-level (C 181 coarse cells, probe 16)", the fallback an 'auto' build took, or ''. */
function assignmentNote(a: IndexManifest['settings']['centroidAssignment']): string {
  if (a?.method === 'two-level') return `, tokens assigned two-level (${a.nCoarse} coarse cells, probe ${a.probe}${a.agreement === undefined ? '' : `, ${(a.agreement * 100).toFixed(1)}% agreement`})`;
  if (a?.checked !== undefined) return `, tokens assigned exactly (two-level agreed on ${(a.checked.agreement * 100).toFixed(1)}% at probe ${a.checked.probe})`;
  return '';
}

/** --skip-invalid of every command that reads a corpus (index, add, cluster add; eval's names its case): the reader's skip reasons. */
export const SKIP_INVALID_HELP = 'skip invalid documents (malformed line, CSV row or Markdown front matter, missing, duplicate or white-space id, empty text, bad UTF-8) and report their counts, instead of stopping at the first';

/** The corpus reader's options of `plait index`, `plait add` and `plait cluster add`: format, JSONL fields (defaults: the reader's), encoder threads. */
export function withCorpusOptions(command: Command): Command {
  return command
    .addOption(new Option('--format <format>', 'input format (default: detected by extension, then by the first line)').choices([...CORPUS_FORMATS]))
    .option('--id-field <field>', `JSONL id field or CSV id column (default: ${BEIR_FIELDS.idFields.join(', ')} in BEIR; else the first present of ${GENERIC_ID_FIELDS.join(', ')})`)
    .option('--text-field <field>', `JSONL text field or CSV text column (default: ${BEIR_FIELDS.textField})`)
    .option('--title-field <field>', `JSONL title field or CSV title column (default: ${BEIR_FIELDS.titleField})`)
    .option('--threads <n>', `encoder worker threads, 0–${THREAD_LIMITS.maxThreads} (0 = in-process; default: one per core, at most ${ENCODER_DEFAULTS.maxAutoThreads})`, parseIntArg('threads', 0, THREAD_LIMITS.maxThreads));
}

export function registerIndexCommands(program: Command): void {
  const index = program
    .command('index')
    .description('build a PLAID index from a corpus (BEIR corpus.jsonl, JSONL, TSV, CSV with a header row, or a folder of .txt/.md files; any of them gzip\'d)')
    .argument('<input>', 'corpus file or folder, or - for standard input (read whole first; its format told by --format or its first line)')
    .requiredOption('-i, --index <name-or-path>', 'index name or path (a bare name: ./<name> if that is an index, else indexes/<name>)')
    .option('-m, --model <model>', 'ColBERT ONNX folder or hub repo id (default: the bundled offline model)')
    .addOption(new Option('--quantize <kind>', 'encode with the int8 graph built from the checkpoint (BERT / ModernBERT weights); searches then use it too').choices(['int8']))
    .addOption(new Option('--nbits <n>', 'residual bits per dimension, or ternary (three levels, 1.6 bits: 26 bytes a token at 128 d)').choices([...NBITS_NAMES]).default(String(BUILD_DEFAULTS.nbits)))
    .option(
      '--kmeans-iters <n>',
      `k-means iterations, >= 0 (default: ${BUILD_DEFAULTS.kmeansIters}, as ColBERT)`,
      parseIntArg('kmeansIters', 0),
    )
    .option('--doc-maxlen <n>', "document window in tokens, >= 8 and at most the model's positions (ColBERT checkpoints; default: the checkpoint's doc_maxlen)", parseIntArg('docMaxlen', 8))
    .option('--split', 'split long documents into overlapping passages', true)
    .option('--no-split', 'index only the first window of each document')
    .option('--stride <n>', `tokens between passage windows, >= 1 (default: ${BUILD_DEFAULTS.splitStrideFraction} of the window)`, parseIntArg('stride', 1))
    .option('--skip-invalid', SKIP_INVALID_HELP);
  withCorpusOptions(index)
    .addOption(
      new Option('--centroid-assignment <mode>', `token-to-centroid assignment when compressing: exact, two-level (coarse cells first, approximate), or auto (two-level from ${TWO_LEVEL_ASSIGN_DEFAULTS.autoMinCentroids} centroids when it agrees with exact on ${TWO_LEVEL_ASSIGN_DEFAULTS.minAgreement * 100}% of held-out tokens)`)
        .choices([...CENTROID_ASSIGNMENTS])
        .default(TWO_LEVEL_ASSIGN_DEFAULTS.mode),
    )
    .option('--coarse-centroids <n>', 'two-level: coarse cells, >= 1 (default: sqrt of the centroid count)', parseIntArg('coarseCentroids', 1))
    .option('--coarse-probe <n>', `two-level: coarse cells searched per token, >= 1 (default: ${TWO_LEVEL_ASSIGN_DEFAULTS.probe})`, parseIntArg('coarseProbe', 1))
    .option('--calibrate [budget-s]', `then calibrate PLAID's settings on pseudo-queries (plait calibrate), within this budget in seconds (default: ${CALIBRATION_DEFAULTS.buildBudgetS})`, parseIntArg('calibrate', 1))
    .addOption(new Option('--bm25-stemmer <stemmer>', "BM25's stemmer: porter (English) or none (other languages)").choices([...BM25_STEMMERS]).default(DOCSTORE_DEFAULTS.bm25Stemmer))
    .option('--shards <n>', 'build a sharded index for a cluster: <index>/shard-<i> (documents by a hash of their id), one codebook, and <index>/cluster.json', parseIntArg('shards', 1))
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, o: IndexCliOptions) => {
      if (input !== '-') checkCorpusInput(input);
      prepareOutputDir(dirname(resolveIndexPath(o.index)), '--index');
      // In the first second, not after encoding; a sharded build's root may hold a killed build's claims (publish.ts).
      if (o.shards === undefined) refuseClusterShard(resolveIndexPath(o.index));
      try {
        (o.shards === undefined ? checkFolderDestination : checkShardedDestination)(resolveIndexPath(o.index), 'choose another --index');
      } catch (e) {
        // A sharded index is not rebuilt in place: say what to do instead (cluster-manifest.ts clusterRebuildHint).
        if (isPlaitError(e, 'DESTINATION_EXISTS') && e.details?.['reason'] === 'cluster') {
          throw new PlaitError('DESTINATION_EXISTS', { ...e.details, message: `${resolveIndexPath(o.index)} is a sharded index (it holds cluster.json). ${clusterRebuildHint(resolveIndexPath(o.index))}` });
        }
        throw e;
      }
      if (o.model === undefined && !o.quiet && !o.json) announceBundledModel();
      const progress = ProgressReporter.auto(o.quiet === true);
      const buildOptions: Omit<BuildOptions, 'onProgress'> = {
          index: o.index,
          model: o.model,
          ...(o.quantize === undefined ? {} : { quantize: o.quantize }),
          nbits: parseNbits(o.nbits),
          kmeansIters: o.kmeansIters,
          docMaxlen: o.docMaxlen,
          split: o.split,
          stride: o.stride,
          skipInvalid: o.skipInvalid,
          format: o.format,
          idField: o.idField,
          textField: o.textField,
          titleField: o.titleField,
          encoderOptions: o.threads === undefined ? {} : { threads: o.threads },
          centroidAssignment: o.centroidAssignment,
          coarseCentroids: o.coarseCentroids,
          coarseProbe: o.coarseProbe,
          bm25Stemmer: o.bm25Stemmer,
      };
      if (o.shards !== undefined) {
        if (o.calibrate !== undefined) throw new PlaitError('USAGE', { message: '--calibrate applies to one index; calibrate each shard with plait calibrate <index>/shard-<i>', reason: 'conflictingOptions' });
        // The cluster's modules (NATS, the server) load only for a sharded build.
        const { runShardedCliBuild } = await import('./cluster-commands.js');
        // `-`: standard input, read whole first (stdin-corpus.ts), as plait add reads it.
        const shards = o.shards;
        await withCorpusInput(input, 'plait index', (path) => runShardedCliBuild(path, buildOptions, shards, { progress, json: o.json === true, quiet: o.quiet === true }));
        return;
      }
      const result = await withCorpusInput(input, 'plait index', (path, shown) => runCliBuild(path, buildOptions, { progress, json: o.json === true, quiet: o.quiet === true, shown }));
      const { manifest, report, path } = result;
      const { calibrateAfterBuild, calibrationLines } = await import('./calibrate-command.js');
      if (o.calibrate !== undefined) manifest.calibration = (await calibrateAfterBuild(path, o.calibrate === true ? CALIBRATION_DEFAULTS.buildBudgetS : o.calibrate, progress)).calibration;
      if (o.json) {
        printJson({ path, counts: manifest.counts, buildMs: manifest.buildMs, report, calibration: manifest.calibration, ...(result.metadataWarnings === undefined ? {} : { metadataWarnings: result.metadataWarnings }) });
        return;
      }
      process.stdout.write(
        `indexed ${plural(manifest.counts.documents, 'document')} (${plural(manifest.counts.passages, 'passage')}, ${plural(manifest.counts.tokens, 'token')}, ` +
          `${plural(manifest.counts.centroids, 'centroid')}) into ${path} in ${(manifest.buildMs / 1000).toFixed(1)}s` +
          skippedNote(report.skipped) +
          '\n' +
          (manifest.calibration === undefined ? '' : `${calibrationLines(manifest.calibration).join('\n')}\n`),
      );
    });

  program
    .command('info')
    .description('describe an index: counts, model, codec, bytes per token, size on disk per component; a sharded index: its shards and their counts; or, with --kernels, the scoring kernels')
    .argument('[index]', "index name or path (or a sharded index's folder)")
    .option('--kernels', 'show which scoring kernels are active (native SIMD or TypeScript) and why')
    .option('--json', 'print as JSON')
    .action(async (name: string | undefined, o: { json?: boolean; kernels?: boolean }) => {
      if (name === undefined) {
        if (!o.kernels) {
          const names = listIndexHome();
          throw withHint(
            new PlaitError('USAGE', { message: 'give an index name or path (or --kernels)', reason: 'missingArgument' }),
            names.length === 0 ? `no index in ${indexHome()} yet (plait quickstart builds one)` : `indexes in ${indexHome()}: ${names.join(', ')}`,
          );
        }
        const k = kernelsStatus();
        if (o.json) printJson({ kernels: k });
        else process.stdout.write(`${kernelsLine(k)}\n`);
        return;
      }
      // A sharded build's folder is no one index: describe the cluster and each shard's counts.
      const root = findClusterRoot(name);
      if (root !== null && !existsSync(join(root, MANIFEST_FILE))) {
        const c = clusterInfo(root);
        if (o.json) printJson(c);
        else process.stdout.write(`${clusterInfoLines(c).join('\n')}\n`);
        return;
      }
      const info = indexInfo(name);
      if (o.json) {
        printJson(o.kernels ? { ...info, kernelsStatus: kernelsStatus() } : info);
        return;
      }
      const m = info.manifest;
      const skipped = totalSkipped(m.skipped);
      const { calibrationLines } = await import('./calibrate-command.js');
      const lines = [
        `index        ${info.path}`,
        `model        ${m.model.name} (${m.model.family}, ${m.dim}-d, query ${m.model.queryMaxlen} / doc ${m.model.docMaxlen} tokens${m.model.quantization === undefined ? '' : `, ${m.model.quantization} graph`})`,
        `documents    ${m.counts.documents}`,
        `skipped      ${m.skipped === undefined ? 'not recorded' : skipped === 0 ? 'none' : `${skipped} invalid (${describeSkipped(m.skipped)})`}`,
        // The JSONL fields plait add reads by default (corpus/recorded-fields.ts).
        ...(m.settings.corpusFields === undefined ? [] : [`fields       ${Object.entries(m.settings.corpusFields).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')} (plait add reads JSONL with them)`]),
        `passages     ${m.counts.passages}${m.settings.split ? ` (split: window ${m.settings.window}, stride ${m.settings.stride})` : ''}`,
        `tokens       ${m.counts.tokens}`,
        `centroids    ${m.counts.centroids}${assignmentNote(m.settings.centroidAssignment)}`,
        `nbits        ${nbitsName(m.nbits)}`,
        `exact stage  ${describeExactStage(m.nbits)}`,
        `bm25         ${info.bm25Stemmer === 'porter' ? 'Porter-stemmed' : 'unstemmed (built with --bm25-stemmer none, or by an older plait)'}`,
        `bytes/token  ${info.bytesPerToken.toFixed(2)} (codes + residuals; ${info.bytesPerTokenTotal.toFixed(2)} with everything)`,
        `built        ${m.createdAt} in ${(m.buildMs / 1000).toFixed(1)}s`,
        ...livingInfoLines(m),
        `kernels      ${o.kernels ? kernelsLine(kernelsStatus()) : info.kernels}`,
        `scoring      plait serve: ${plural(info.scoringWorkers.serve, 'worker thread', 'worker threads')} (--workers auto: one per core, at most ${SCORING_WORKERS_AUTO_MAX}); plait search/eval: the calling thread`,
        ...(m.calibration === undefined ? ["calibration  none: PLAID uses plait's defaults by k (run `plait calibrate`)"] : calibrationLines(m.calibration, m.counts.documents)),
        'size on disk:',
        ...sizeTable(info.files, info.totalBytes),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** One shard of a sharded index as `plait info` shows it: its manifest's counts, or null where its folder holds none (not fetched). */
export interface ShardSummary {
  shard: number;
  path: string;
  documents: number | null;
  passages: number | null;
  generation: number | null;
}

/**
 * `plait info <sharded folder>` (trial6c: it answered INDEX_NOT_FOUND, "not one index"): the cluster
 * manifest and each shard's current counts and generation, read from the shard's own manifest
 * (cluster.json's per-shard counts are the build's; adds and deletes change the shards').
 * @throws PlaitError as readClusterManifest for a malformed cluster.json.
 */
export function clusterInfo(root: string): { path: string; cluster: ClusterManifest; shards: ShardSummary[] } {
  const cluster = readClusterManifest(root);
  const shards = cluster.shardInfo.map((_, i): ShardSummary => {
    const path = shardDir(root, i);
    if (!existsSync(join(path, MANIFEST_FILE))) return { shard: i, path, documents: null, passages: null, generation: null };
    const m = verifyIndex(path).manifest;
    return { shard: i, path, documents: m.counts.documents, passages: m.counts.passages, generation: m.generation ?? 0 };
  });
  return { path: root, cluster, shards };
}

/** clusterInfo as `plait info`'s lines: totals over the shards present, then one line a shard. */
export function clusterInfoLines(c: ReturnType<typeof clusterInfo>): string[] {
  const present = c.shards.filter((s) => s.documents !== null);
  const sum = (f: (s: ShardSummary) => number | null): number => present.reduce((a, s) => a + (f(s) ?? 0), 0);
  const missing = c.shards.length - present.length;
  const rows = c.shards.map((s) => [
    `  shard ${s.shard}`,
    s.documents === null ? 'not here (plait cluster fetch)' : `${plural(s.documents, 'document')}, ${plural(s.passages ?? 0, 'passage')}, generation ${s.generation}`,
    s.path,
  ]);
  return [
    `cluster      ${c.path} (sharded index "${c.cluster.name}": ${plural(c.cluster.shards, 'shard')}, routing ${c.cluster.routing})`,
    `documents    ${sum((s) => s.documents)}${missing > 0 ? ` in the ${plural(present.length, 'shard')} here` : ''}`,
    `passages     ${sum((s) => s.passages)}`,
    `built        ${c.cluster.createdAt}`,
    'shards (plait info <shard folder> for its model, codec and sizes; plait serve --nats <url> --coordinate <folder> searches them whole):',
    ...formatTable(rows, ['left', 'left', 'left'], { indent: '' }),
  ];
}

/** `plait info`'s sizes on disk: one line a file and the total, names as wide as the longest, sizes right-aligned. */
export function sizeTable(files: Record<string, number>, totalBytes: number): string[] {
  const rows = [...Object.entries(files), ['total', totalBytes] as const].map(([f, b]) => [f, formatBytes(b)]);
  return formatTable(rows, ['left', 'right'], { indent: '  ' });
}

/**
 * Living index (issue 12): generation, deleted passages awaiting compaction, and drift with a
 * recommendation past LIVING_DEFAULTS.driftWarnRatio — judged only once DRIFT_DEFAULTS.minAddedTokens
 * added tokens are still indexed (below it: "too few added tokens to judge"); the line says what its
 * mean covers (every token added since the build) and how many of those tokens are still indexed.
 */
export function livingInfoLines(m: IndexManifest): string[] {
  // A build's manifest carries no generation field: it is generation 0, as add, delete and compact say.
  const lines = [`generation   ${m.generation ?? 0}${m.generation === undefined ? ' (as built: add, delete and compact make the next)' : ''}`];
  if (m.tombstones !== undefined) lines.push(`deleted      ${plural(m.tombstones.deleted, 'passage')} awaiting compaction (plait compact; automatic past ${LIVING_DEFAULTS.autoCompactShare * 100}%)`);
  const d = m.drift;
  if (d !== undefined && d.addedTokens > 0) {
    // A build whose residuals were all zero (as many centroids as tokens) has no distance to compare with.
    const ratio = d.buildMeanDistance < DRIFT_DEFAULTS.zeroBuildDistance ? null : d.addedMeanDistance / d.buildMeanDistance;
    // Judged on the added tokens still indexed; the mean is a running one over every token added (DriftFigures).
    const live = d.liveAddedTokens ?? d.addedTokens;
    const still = d.liveAddedTokens === undefined ? '' : `; ${d.liveAddedTokens} of them still indexed`;
    const figures = `mean |residual| ${d.addedMeanDistance.toFixed(4)} vs ${d.buildMeanDistance.toFixed(4)} over the ${plural(d.addedTokens, 'token')} added since the build, replaced and deleted ones included${still}`;
    // A few added documents measure those documents, not a shift of the corpus (DRIFT_DEFAULTS.minAddedTokens).
    if (ratio === null) {
      lines.push(`drift        n/a (the build's residuals were all zero: as many centroids as tokens; rebuild the index (plait index) to cluster what it holds now: ${figures})`);
    } else if (live < DRIFT_DEFAULTS.minAddedTokens) {
      lines.push(`drift        too few added tokens to judge (${live} of the ${DRIFT_DEFAULTS.minAddedTokens} needed; so far ${ratio.toFixed(2)}× the build's distance to centroids: ${figures})`);
    } else {
      lines.push(
        `drift        added tokens sit ${ratio.toFixed(2)}× as far from their centroids as the build's (${figures})` +
          (ratio > LIVING_DEFAULTS.driftWarnRatio ? `; past ${LIVING_DEFAULTS.driftWarnRatio}×: rebuild the index (plait index) to re-cluster` : ''),
      );
    }
  }
  return lines;
}

function kernelsLine(k: KernelsStatus): string {
  return `${k.active}${k.cpu === undefined ? '' : ` (cpu: ${cpuFeaturesText(k.cpu)})`}; fast-scan ${k.fastScanPath}; int8 centroid scores ${k.intDotPath}${k.nativeError === undefined ? '' : `; native unavailable: ${k.nativeError}`}`;
}

/** The features the kernels choose by, in CPU names: `x64 with avx2, fma, …, avx-vnni; without avx512vbmi` (a feature nothing could probe is left out). */
export function cpuFeaturesText(cpu: CpuFeatures): string {
  const names: [string, boolean | undefined][] = [
    ['avx2', cpu.avx2],
    ['fma', cpu.fma],
    ['avx512f', cpu.avx512f],
    ['avx512bw', cpu.avx512bw],
    ['avx512vl', cpu.avx512vl],
    ['avx512vbmi', cpu.avx512vbmi],
    ['avx512vnni', cpu.avx512vnni],
    ['avx-vnni', cpu.avxvnni],
  ];
  const has = names.filter(([, v]) => v === true).map(([n]) => n);
  const lacks = names.filter(([, v]) => v === false).map(([n]) => n);
  return `${cpu.arch}${has.length === 0 ? '' : ` with ${has.join(', ')}`}${lacks.length === 0 ? '' : `${has.length === 0 ? ' ' : '; '}without ${lacks.join(', ')}`}`;
}

/** The corpus must exist before the encoder is loaded: a file, a folder, or a glob whose folder exists. */
function checkCorpusInput(input: string): void {
  if (existsSync(input)) return;
  if (/[*?[]/.test(input) && existsSync(dirname(input))) return;
  throw new PlaitError('FILE_NOT_FOUND', { message: `no corpus at ${input}`, path: input });
}

export function indexInfo(name: string): {
  path: string;
  manifest: IndexManifest;
  files: Record<string, number>;
  totalBytes: number;
  bytesPerToken: number;
  bytesPerTokenTotal: number;
  kernels: string;
  /** BM25's stemmer, read from the document store: its figures differ (README, "Models"). */
  bm25Stemmer: Bm25Stemmer;
  /**
   * Scoring worker threads the index would run here: `serve` under `plait serve`'s default
   * `--workers auto` (resolved by the server's own resolveScoringWorkers on this machine; a running
   * server says its own in GET /v1/indexes, its ready line and /metrics), `search` under `plait
   * search` / `eval` (openIndex's default: 0, scored on the calling thread).
   */
  scoringWorkers: { serve: number; search: number };
} {
  const path = locateIndex(name);
  // Verifies every listed file (sizes, and CRC-32s unless the index is large) before reporting it.
  const { manifest, files: listed } = verifyIndex(path);
  const files: Record<string, number> = {};
  for (const f of listed) files[f.name] = f.bytes;
  files[MANIFEST_FILE] = statSync(join(path, MANIFEST_FILE)).size;
  const totalBytes = Object.values(files).reduce((a, b) => a + b, 0);
  const tokens = Math.max(1, manifest.counts.tokens);
  const perToken = manifest.segments.reduce((s, g) => s + g.codes.bytes + g.residuals.bytes, 0);
  return {
    path,
    manifest,
    files,
    totalBytes,
    bytesPerToken: perToken / tokens,
    bytesPerTokenTotal: totalBytes / tokens,
    kernels: kernelsStatus().active,
    bm25Stemmer: docstoreStemmer(path, manifest),
    scoringWorkers: { serve: resolveScoringWorkers(SERVER_DEFAULTS.scoringWorkers, 'scoringWorkers'), search: 0 },
  };
}

/** The stemmer the index's document store was built with (opened and closed again). */
function docstoreStemmer(path: string, manifest: IndexManifest): Bm25Stemmer {
  const store = DocStoreReader.open(join(path, roleFileName(manifest, 'docstore')), { commit: manifest.docstoreCommit ?? null });
  try {
    return store.stemmer;
  } finally {
    store.close();
  }
}
