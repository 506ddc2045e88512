import { Option, type Command } from 'commander';
import { THREAD_LIMITS } from '../../config/defaults.js';
import { createEncoder } from '../../encoder/create-encoder.js';
import { resolveModelSpec } from '../../encoder/resolve-model.js';
import { pullModel } from '../../encoder/hub/index.js';
import { parseIntArg, printJson, plural } from '../options.js';
import { ProgressReporter } from '../progress.js';
import { withHint } from '../report-error.js';
import { isPlaitError } from '../../errors/index.js';
import { prepareOutputDir } from '../validate.js';

/** One line, on stderr, whenever the bundled model stands in for an unspecified one. */
export function announceBundledModel(): void {
  process.stderr.write(
    'plait: no --model given; using the bundled offline model (USE-lite, 512-d, not a ColBERT checkpoint: see README for quality figures and real models)\n',
  );
}

export function registerModelCommands(program: Command): void {
  program
    .command('encode')
    .description('encode texts into per-token vectors and print token counts, dim and timing')
    .argument('<texts...>', 'texts to encode (a text beginning with "-" goes after "--")')
    .option('-m, --model <model>', 'ColBERT folder (ONNX, or weights to convert) or hub repo id (default: the bundled model)')
    .addOption(new Option('--quantize <kind>', 'run the int8 graph built from the checkpoint (BERT / ModernBERT weights)').choices(['int8']))
    .option('--query', 'encode as queries (default: documents)')
    .option('--vectors', 'include the vectors in JSON output')
    .option('--threads <n>', `encoder worker threads, 0–${THREAD_LIMITS.maxThreads} (0 = in-process)`, parseIntArg('threads', 0, THREAD_LIMITS.maxThreads), 0)
    .option('--json', 'print JSON')
    .action(async (texts: string[], o: { model?: string; quantize?: 'int8'; query?: boolean; vectors?: boolean; threads: number; json?: boolean }) => {
      if (o.model === undefined && !o.json) announceBundledModel();
      const t0 = performance.now();
      const encoder = await createEncoder(await resolveModelSpec(o.model, o.quantize === undefined ? {} : { quantize: o.quantize }), { threads: o.threads });
      const loadMs = performance.now() - t0;
      try {
        const t1 = performance.now();
        const out = o.query ? await encoder.encodeQueries(texts) : await encoder.encodeDocuments(texts);
        const encodeMs = performance.now() - t1;
        const items = out.map((e, i) => ({
          text: texts[i],
          tokens: e.length,
          ...(o.vectors ? { tokenIds: Array.from(e.tokenIds), vectors: Array.from(e.vectors, (v) => Number(v.toFixed(6))) } : {}),
        }));
        const summary = { model: encoder.info.name, dim: encoder.info.dim, ...(encoder.info.quantization === undefined ? {} : { quantization: encoder.info.quantization }), kind: o.query ? 'query' : 'document', loadMs, encodeMs, items };
        if (o.json) printJson(summary);
        else {
          for (const it of items) process.stdout.write(`${plural(it.tokens, 'token').padStart(12)}  ${String(it.text).slice(0, 80)}\n`);
          process.stdout.write(`${encoder.info.name}: dim ${encoder.info.dim}, encoded ${items.length} in ${encodeMs.toFixed(1)} ms (model load ${loadMs.toFixed(0)} ms)\n`);
        }
      } finally {
        await encoder.close();
      }
    });

  const model = program.command('model').description('manage ColBERT checkpoints');
  model
    .command('pull')
    .description('download a ColBERT checkpoint from the Hugging Face hub into the cache (building model.onnx from its weights when it has none)')
    .argument('<repo-id>', 'e.g. colbert-ir/colbertv2.0, answerdotai/answerai-colbert-small-v1, or org/name@revision as --model takes it')
    // No commander default: "org/name@v2" beside an implicit "main" would look like two revisions.
    .option('--revision <rev>', 'branch, tag, commit or ref such as refs/pr/1 (default: the @revision of the id, else main)')
    .option('--cache-dir <dir>', 'cache folder (default: $PLAIT_CACHE_DIR or the XDG cache)')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print JSON')
    .action(async (repoId: string, o: { revision?: string; cacheDir?: string; quiet?: boolean; json?: boolean }) => {
      if (o.cacheDir !== undefined) prepareOutputDir(o.cacheDir, '--cache-dir');
      const progress = ProgressReporter.auto(o.quiet === true || o.json === true);
      const result = await pullModel(repoId, {
        ...(o.revision === undefined ? {} : { revision: o.revision }),
        cacheDir: o.cacheDir,
        onProgress: (p) => progress.update(p.file, p.bytesDone, p.bytesTotal ?? 0),
      }).catch((err: unknown) => {
        // `model pull` has no --model: the other commands' hint ("--model <dir> names a local model folder") does not apply here.
        if (isPlaitError(err, 'OFFLINE')) throw withHint(err, '--cache-dir <dir> looks in another model cache');
        if (isPlaitError(err, 'DOWNLOAD_FAILED') && err.details?.['unreachable'] === true) throw withHint(err, 'HF_ENDPOINT=<url> names a mirror of the hub');
        throw err;
      });
      progress.done();
      if (o.json) printJson(result);
      else {
        const built = result.converted === undefined ? '' : ` (model.onnx built from its weights in ${result.converted.seconds.toFixed(1)} s)`;
        process.stdout.write(`${repoId} → ${result.dir}${built}\n`);
      }
    });
}
