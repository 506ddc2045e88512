/**
 * `plait ltr train <index> --queries … --qrels … --out model.json`: trains a LambdaMART ranking
 * model (src/ltr/) on judged queries, over the candidates of a pipeline (`--pipeline`, default
 * LTR_DEFAULTS.candidates), and writes the model file that `--ltr-model` reads.
 * `plait ltr import <xgboost-model> --features … --out model.json`: wraps a model XGBoost trained
 * elsewhere (LtrModel.fromXgboost).
 * `plait ltr importance <model>`: the features by total split gain.
 */
import type { Command } from 'commander';
import { LTR_DEFAULTS } from '../../config/defaults.js';
import { readQrels, readQueries } from '../../eval/index.js';
import { openIndexForCli } from '../open-index.js';
import { checkJudgedQueries, checkQrelsInIndex } from '../qrels-check.js';
import { collectLtrGroups, trainLtrModel } from '../../ltr/train-ltr.js';
import { LtrModel } from '../../ltr/ltr-model.js';
import type { XgboostTrainOptions } from '../../ltr/xgboost-train.js';
import { PlaitError, invalidArgument } from '../../errors/index.js';
import { addCrossEncoderFlags, crossEncoderOptionsFrom, type CrossCliOptions } from '../pipeline-options.js';
import { parsePipeline } from '../../pipeline/pipeline-spec.js';
import { CrossEncoder } from '../../rerank/cross-encoder/cross-encoder.js';
import { ProgressReporter } from '../progress.js';
import { parseFloatArgIn, parseIntArg, printJson, range, plural } from '../options.js';
import { prepareOutputFile, requireInput } from '../validate.js';
import { formatTable } from '../table.js';

interface LtrTrainCliOptions extends CrossCliOptions {
  queries: string;
  qrels: string;
  out: string;
  pipeline?: string;
  features?: string;
  objective?: string;
  eta?: number;
  maxDepth?: number;
  maxRounds?: number;
  earlyStopping?: number;
  validFraction?: number;
  seed?: number;
  model?: string;
  json?: boolean;
  quiet?: boolean;
}

function importanceLines(model: LtrModel): string[] {
  const imp = model.importance();
  const total = imp.reduce((s, f) => s + f.gain, 0) || 1;
  return formatTable(imp.map((f) => [f.name, f.gain.toFixed(2), `${((100 * f.gain) / total).toFixed(1)}%`]), ['left', 'right', 'right'], { indent: '  ' });
}

export function registerLtrCommand(program: Command): void {
  const ltr = program.command('ltr').description('learning to rank: train a LambdaMART model for the ltr pipeline stage');
  addCrossEncoderFlags(
    ltr
      .command('train')
      .description('train a gradient-boosted ranking model (XGBoost rank:pairwise, or LambdaMART with --objective rank:ndcg) on judged queries over a pipeline\'s candidates')
      .argument('<index>', 'index name or path')
      .requiredOption('--queries <file>', 'training queries (BEIR queries.jsonl, TSV, TREC topics)')
      .requiredOption('--qrels <file>', 'judgments of the training queries (BEIR TSV or TREC)')
      .requiredOption('--out <file>', 'model file to write (JSON)')
      .option('--pipeline <spec>', `candidate pipeline the ltr stage will follow (default: "${LTR_DEFAULTS.candidates}")`)
      .option('--features <fields>', 'comma-separated numeric metadata fields to add as features (meta:<field>)')
      .option('--objective <name>', `rank:ndcg, rank:pairwise or rank:map (default: ${LTR_DEFAULTS.objective})`)
      .option('--eta <x>', `learning rate, > 0 (default: ${LTR_DEFAULTS.eta})`, parseFloatArgIn('eta', 'a number > 0', (n) => n > 0))
      .option('--max-depth <n>', `tree depth, ${range(1)} (default: ${LTR_DEFAULTS.maxDepth})`, parseIntArg('maxDepth', 1))
      .option('--max-rounds <n>', `most boosting rounds, ${range(1)} (default: ${LTR_DEFAULTS.maxRounds})`, parseIntArg('maxRounds', 1))
      .option('--early-stopping <n>', `rounds without validation gain before stopping, ${range(0)}, 0: off (default: ${LTR_DEFAULTS.earlyStoppingRounds})`, parseIntArg('earlyStoppingRounds', 0))
      .option('--valid-fraction <x>', `share of queries held out for early stopping, in (0, 1) (default: ${LTR_DEFAULTS.validFraction})`, parseFloatArgIn('validFraction', 'a number in (0, 1)', (n) => n > 0 && n < 1))
      .option('--seed <n>', `seed of the query split and XGBoost (default: ${LTR_DEFAULTS.seed})`, parseIntArg('seed', 0))
      .option('-m, --model <model>', 'query encoder (default: the model the index was built with)')
      .option('--json', 'print the training record as JSON')
      .option('-q, --quiet', 'no progress output'),
  ).action(async (name: string, o: LtrTrainCliOptions) => {
    requireInput(o.queries, '--queries');
    requireInput(o.qrels, '--qrels');
    prepareOutputFile(o.out, '--out');
    // A cross-encoder scores only a cross stage of the candidates: without one it was loaded and not used.
    if (o.crossEncoder !== undefined && !parsePipeline(o.pipeline ?? LTR_DEFAULTS.candidates).some((s) => s.stage === 'cross')) {
      throw new PlaitError('INVALID_ARGUMENT', { message: `--cross-encoder needs --pipeline with a cross stage, e.g. --pipeline "hybrid:100 > cross:20" (the candidates are "${o.pipeline ?? LTR_DEFAULTS.candidates}")`, name: 'cross-encoder' });
    }
    const train: XgboostTrainOptions = {};
    if (o.objective !== undefined) {
      if (!['rank:ndcg', 'rank:pairwise', 'rank:map'].includes(o.objective)) throw invalidArgument('objective', '"rank:ndcg", "rank:pairwise" or "rank:map"', o.objective);
      train.objective = o.objective as XgboostTrainOptions['objective'];
    }
    if (o.eta !== undefined) train.eta = o.eta;
    if (o.maxDepth !== undefined) train.maxDepth = o.maxDepth;
    if (o.maxRounds !== undefined) train.maxRounds = o.maxRounds;
    if (o.earlyStopping !== undefined) train.earlyStoppingRounds = o.earlyStopping;
    if (o.validFraction !== undefined) train.validFraction = o.validFraction;
    if (o.seed !== undefined) train.seed = o.seed;
    const queries = await readQueries(o.queries);
    const qrels = await readQrels(o.qrels);
    checkJudgedQueries(queries, [...qrels.keys()], o.queries, o.qrels);
    const metadataFields = o.features === undefined ? [] : o.features.split(',').map((f) => f.trim()).filter((f) => f.length > 0);
    const index = await openIndexForCli(name, { model: o.model });
    const cross = o.crossEncoder === undefined ? undefined : await CrossEncoder.create(o.crossEncoder, crossEncoderOptionsFrom(o));
    try {
      checkQrelsInIndex(index, qrels, queries.map((q) => q.id), o.qrels, 'trained on');
      const progress = ProgressReporter.auto(o.quiet === true || o.json === true);
      const { groups, features, candidates, trainedOn } = await collectLtrGroups(index, queries, qrels, {
        ...(o.pipeline === undefined ? {} : { candidates: o.pipeline }),
        ...(cross === undefined ? {} : { crossEncoder: cross }),
        metadataFields,
        onProgress: (done, total) => progress.update('features', done, total),
      });
      progress.done();
      const model = await trainLtrModel(groups, features, candidates, train, trainedOn);
      model.save(o.out);
      const t0 = model.file.training!;
      // A model no better than its candidates' own order on held-out queries ranks worse than no model.
      if (t0.validBaseline !== null && t0.validBaseline !== undefined && t0.validScore <= t0.validBaseline) {
        process.stderr.write(
          `plait: warning: the model does not beat its candidates' own order on the ${plural(t0.validQueries, 'validation query', 'validation queries')} (${t0.metric} ${t0.validScore.toFixed(4)} vs ${t0.validBaseline.toFixed(4)} for "${candidates}" alone): an ltr stage with it would rank worse than none; more judged queries, other candidates (--pipeline) or metadata features (--features) may help\n`,
        );
      }
      if (o.json === true) printJson({ out: o.out, features, candidates, training: model.file.training, importance: model.importance() });
      else {
        const t = model.file.training!;
        process.stdout.write(
          [
            `wrote ${o.out}: ${t.objective}, ${t.rounds} rounds (early stopping after ${t.roundsTried}), validation ${t.metric} ${t.validScore.toFixed(4)}${t.validBaseline === null || t.validBaseline === undefined ? '' : ` (the candidates' own order: ${t.validBaseline.toFixed(4)})`}`,
            `queries: ${t.trainQueries} train, ${t.validQueries} validation, ${t.droppedQueries} without a judged-relevant candidate in "${candidates}" (dropped)`,
            'feature importance (total split gain):',
            ...importanceLines(model),
            '',
          ].join('\n'),
        );
      }
    } finally {
      await cross?.close();
      await index.close();
    }
  });
  ltr
    .command('import')
    .description('wrap a model XGBoost trained elsewhere (JSON, or UBJSON from Python\'s save_model) as a plait ranking model')
    .argument('<xgboost-model>', 'XGBoost model file (model_out=<file>.json, save_model("model.json" | "model.ubj"))')
    .requiredOption('--out <file>', 'plait model file to write (JSON)')
    .option('--features <names>', 'the plait feature of each column, in column order, comma-separated (default: the model\'s own feature_names)')
    .option('--pipeline <spec>', 'the candidate pipeline the model was trained on (recorded; explain uses it)')
    .action(async (file: string, o: { out: string; features?: string; pipeline?: string }) => {
      requireInput(file, '<xgboost-model>');
      prepareOutputFile(o.out, '--out');
      const features = o.features === undefined ? undefined : o.features.split(',').map((f) => f.trim());
      const model = await LtrModel.fromXgboost(file, { ...(features === undefined ? {} : { features }), ...(o.pipeline === undefined ? {} : { candidates: o.pipeline }) });
      const candidates = model.file.candidates;
      model.save(o.out);
      process.stdout.write(`wrote ${o.out}: ${plural(model.trees.trees.length, 'tree')} over ${model.features.join(', ')}${candidates === undefined ? '' : `, candidates "${candidates}"`}\n`);
    });
  ltr
    .command('importance')
    .description('list a ranking model\'s features by total split gain')
    .argument('<model>', 'model file (plait ltr train --out)')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const model = await LtrModel.load(requireInput(file, '<model>'));
      if (o.json === true) printJson({ features: model.features, candidates: model.file.candidates ?? null, training: model.file.training ?? null, importance: model.importance() });
      else process.stdout.write(`${[`${file}: ${plural(model.trees.trees.length, 'tree')} over ${plural(model.features.length, 'feature')}, candidates "${model.file.candidates ?? '?'}"`, ...importanceLines(model)].join('\n')}\n`);
    });
}
