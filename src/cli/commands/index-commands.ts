import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { buildIndex } from '../../indexer/build-index.js';
import { readManifest } from '../../format/index-reader.js';
import { resolveIndexPath } from '../../format/index-path.js';
import { INDEX_FILES, MANIFEST_FILE } from '../../format/manifest.js';
import { kernelsStatus } from '../../kernels/index.js';
import type { CorpusFormat } from '../../indexer/corpus/types.js';
import { ProgressReporter, formatBytes } from '../progress.js';
import { parseIntArg, printJson } from '../options.js';
import { announceBundledModel } from './model-commands.js';
import { calibrateAfterBuild, calibrationLines } from './calibrate-command.js';
import { CALIBRATION_DEFAULTS } from '../../config/defaults.js';

interface IndexCliOptions {
  index: string;
  model?: string;
  nbits: number;
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
  calibrate?: number | true;
  quiet?: boolean;
  json?: boolean;
}

export function registerIndexCommands(program: Command): void {
  program
    .command('index')
    .description('build a PLAID index from a corpus (BEIR corpus.jsonl, JSONL, TSV, or a folder of .txt/.md files)')
    .argument('<input>', 'corpus file or folder')
    .requiredOption('-i, --index <name-or-path>', 'index name (under indexes/) or path')
    .option('-m, --model <model>', 'ColBERT ONNX folder or hub repo id (default: the bundled offline model)')
    .option('--nbits <n>', 'residual bits per dimension: 1, 2 or 4', parseIntArg('nbits', 1), 2)
    .option('--kmeans-iters <n>', 'k-means iterations', parseIntArg('kmeansIters', 0))
    .option('--doc-maxlen <n>', 'document window in tokens (ColBERT checkpoints)', parseIntArg('docMaxlen', 8))
    .option('--split', 'split long documents into overlapping passages (default)', true)
    .option('--no-split', 'index only the first window of each document')
    .option('--stride <n>', 'tokens between passage windows (default 3/4 of the window)', parseIntArg('stride', 1))
    .option('--skip-invalid', 'skip bad documents and report counts instead of failing')
    .option('--format <format>', 'input format: beir, jsonl, tsv, folder (default: detected)')
    .option('--id-field <field>', 'JSONL id field')
    .option('--text-field <field>', 'JSONL text field')
    .option('--title-field <field>', 'JSONL title field')
    .option('--threads <n>', 'encoder worker threads', parseIntArg('threads', 0))
    .option('--calibrate [budget-s]', `then calibrate PLAID's settings on pseudo-queries (plait calibrate), within this budget (default ${CALIBRATION_DEFAULTS.buildBudgetS} s)`, parseIntArg('calibrate', 1))
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, o: IndexCliOptions) => {
      if (o.model === undefined && !o.quiet) announceBundledModel();
      const progress = ProgressReporter.auto(o.quiet === true);
      const result = await buildIndex(input, {
        index: o.index,
        model: o.model,
        nbits: o.nbits,
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
        onProgress: (p) => progress.update(p.phase, p.done, p.total),
      });
      progress.done();
      const { manifest, report, path } = result;
      if (o.calibrate !== undefined) manifest.calibration = (await calibrateAfterBuild(path, o.calibrate === true ? CALIBRATION_DEFAULTS.buildBudgetS : o.calibrate, progress)).calibration;
      if (o.json) {
        printJson({ path, counts: manifest.counts, buildMs: manifest.buildMs, report, calibration: manifest.calibration });
        return;
      }
      const skipped = Object.values(report.skipped).reduce((a, b) => a + b, 0);
      process.stdout.write(
        `indexed ${manifest.counts.documents} documents (${manifest.counts.passages} passages, ${manifest.counts.tokens} tokens, ` +
          `${manifest.counts.centroids} centroids) into ${path} in ${(manifest.buildMs / 1000).toFixed(1)}s` +
          (skipped > 0 ? `; skipped ${skipped} invalid: ${JSON.stringify(report.skipped)}` : '') +
          '\n' +
          (manifest.calibration === undefined ? '' : `${calibrationLines(manifest.calibration).join('\n')}\n`),
      );
    });

  program
    .command('info')
    .description('describe an index: counts, model, codec, bytes per token, size on disk per component')
    .argument('<index>', 'index name or path')
    .option('--json', 'print as JSON')
    .action((name: string, o: { json?: boolean }) => {
      const info = indexInfo(name);
      if (o.json) {
        printJson(info);
        return;
      }
      const m = info.manifest;
      const lines = [
        `index        ${info.path}`,
        `model        ${m.model.name} (${m.model.family}, ${m.dim}-d, query ${m.model.queryMaxlen} / doc ${m.model.docMaxlen} tokens)`,
        `documents    ${m.counts.documents}`,
        `passages     ${m.counts.passages}${m.settings.split ? ` (split: window ${m.settings.window}, stride ${m.settings.stride})` : ''}`,
        `tokens       ${m.counts.tokens}`,
        `centroids    ${m.counts.centroids}`,
        `nbits        ${m.nbits}`,
        `bytes/token  ${info.bytesPerToken.toFixed(2)} (codes + residuals; ${info.bytesPerTokenTotal.toFixed(2)} with everything)`,
        `built        ${m.createdAt} in ${(m.buildMs / 1000).toFixed(1)}s`,
        `kernels      ${info.kernels}`,
        ...(m.calibration === undefined ? ["calibration  none: PLAID uses ColBERT's defaults (run `plait calibrate`)"] : calibrationLines(m.calibration)),
        'size on disk:',
        ...Object.entries(info.files).map(([f, b]) => `  ${f.padEnd(18)} ${formatBytes(b)}`),
        `  ${'total'.padEnd(18)} ${formatBytes(info.totalBytes)}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

export function indexInfo(name: string): {
  path: string;
  manifest: ReturnType<typeof readManifest>;
  files: Record<string, number>;
  totalBytes: number;
  bytesPerToken: number;
  bytesPerTokenTotal: number;
  kernels: string;
} {
  const path = resolveIndexPath(name);
  const manifest = readManifest(path);
  const files: Record<string, number> = {};
  for (const f of [...Object.values(INDEX_FILES), MANIFEST_FILE]) files[f] = statSync(join(path, f)).size;
  const totalBytes = Object.values(files).reduce((a, b) => a + b, 0);
  const tokens = Math.max(1, manifest.counts.tokens);
  return {
    path,
    manifest,
    files,
    totalBytes,
    bytesPerToken: (files[INDEX_FILES.codes]! + files[INDEX_FILES.residuals]!) / tokens,
    bytesPerTokenTotal: totalBytes / tokens,
    kernels: kernelsStatus().active,
  };
}
