import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { buildIndex } from '../../indexer/build-index.js';
import { openIndex } from '../../search/plait-index.js';
import { resolveIndexPath } from '../../format/index-path.js';
import { PlaitError } from '../../errors/index.js';
import {
  readQueries,
  readQrels,
  evaluateRun,
  latencyStats,
  buildComparison,
  renderTable,
  writeRun,
  writeReportFiles,
  topKOverlap,
  type ModeInput,
  type Run,
} from '../../eval/index.js';
import { STANDARD_MODES, parseSweep, type EvalMode } from '../../eval/search-modes.js';
import { ProgressReporter } from '../progress.js';
import { parseIntArg } from '../options.js';
import { addEvalPipelineFlags, evalPipelineRows, renderStageLatency } from '../pipeline-options.js';

interface EvalCliOptions {
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
  json?: boolean;
  quiet?: boolean;
  pipelines?: string;
  crossEncoder?: string;
}

/** `plait eval`: quality (trec_eval metrics), latency and significance of several modes in one table. */
export function registerEvalCommand(program: Command): void {
  addEvalPipelineFlags(program
    .command('eval')
    .description('evaluate search modes on judged queries: nDCG@10, MRR@10, MAP@100, recall, P@10, latency, significance')
    .argument('<target>', 'an index (name or path), or a BEIR folder (indexed first into indexes/<name>)')
    .option('--queries <file>', 'queries (BEIR queries.jsonl, TSV, TREC topics); default <BEIR folder>/queries.jsonl')
    .option('--qrels <file>', 'judgments (BEIR TSV or TREC); default <BEIR folder>/qrels/<split>.tsv')
    .option('--split <name>', 'BEIR qrels split', 'test')
    .option('--modes <list>', 'comma-separated: exhaustive, plaid, bm25, hybrid, hybrid-rrf', 'exhaustive,plaid,bm25,hybrid')
    .option('--sweep <settings>', 'extra PLAID settings, e.g. "ncells=1,ndocs=256;ncells=2,ndocs=1024"')
    .option('--depth <n>', 'results per query (Recall@1000 needs 1000)', parseIntArg('depth', 10), 100)
    .option('-m, --model <model>', 'model for indexing a BEIR folder (default: the bundled model)')
    .option('-i, --index <name-or-path>', 'index to build/use for a BEIR folder (default: its folder name)')
    .option('--baseline <mode>', 'mode the others are tested against (default: the first)')
    .option('--test <name>', 'significance test: randomization or t-test', 'randomization')
    .option('--run-dir <dir>', 'write one TREC run file per mode here')
    .option('--report <file.html>', 'write an HTML report with a latency-vs-quality plot (and .json, .txt beside it)')
    .option('--json', 'print the comparison as JSON')
    .option('-q, --quiet', 'no progress output'))
    .action(async (target: string, o: EvalCliOptions) => {
      const progress = ProgressReporter.auto(o.quiet === true || o.json === true);
      const beir = existsSync(join(target, 'corpus.jsonl')) || existsSync(join(target, 'queries.jsonl'));
      const queriesPath = o.queries ?? (beir ? join(target, 'queries.jsonl') : undefined);
      const qrelsPath = o.qrels ?? (beir ? join(target, 'qrels', `${o.split}.tsv`) : undefined);
      if (queriesPath === undefined || qrelsPath === undefined) {
        throw new PlaitError('INVALID_ARGUMENT', { message: 'give --queries and --qrels, or a BEIR folder as the target' });
      }
      let indexPath = beir ? resolveIndexPath(o.index ?? basename(resolve(target))) : resolveIndexPath(target);
      if (beir && !existsSync(join(indexPath, 'manifest.json'))) {
        const built = await buildIndex(join(target, 'corpus.jsonl'), {
          index: indexPath,
          model: o.model,
          skipInvalid: true,
          onProgress: (p) => progress.update(p.phase, p.done, p.total),
        });
        progress.done();
        indexPath = built.path;
      }
      const [queries, qrels] = await Promise.all([readQueries(queriesPath), readQrels(qrelsPath)]);
      const judged = queries.filter((q) => qrels.has(q.id));
      if (judged.length === 0) throw new PlaitError('INVALID_INPUT', { message: `none of the ${queries.length} queries has judgments in ${qrelsPath}` });

      const modes: EvalMode[] = o.modes
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean)
        .map((m) => {
          const make = STANDARD_MODES[m];
          if (make === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: `unknown mode "${m}" (expected ${Object.keys(STANDARD_MODES).join(', ')})` });
          return make(o.depth);
        });
      if (o.sweep !== undefined) modes.push(...parseSweep(o.sweep, o.depth));

      const index = await openIndex(indexPath, { model: o.model, workers: availableParallelism() });
      try {
        // Queries are encoded once, up front; search latency is measured without encoding.
        const encoder = await index.encoder();
        const t0 = performance.now();
        const encoded = await encoder.encodeQueries(judged.map((q) => q.text));
        const encodeMsPerQuery = (performance.now() - t0) / judged.length;
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
            const { hits } = mode.options.exhaustive
              ? (await index.searchEncodedBatch([q.text], [encoded[i]!], mode.options))[0]!
              : index.searchEncoded(q.text, encoded[i]!, mode.options);
            durations[i] = performance.now() - start;
            run.set(q.id, hits.map((h) => ({ docId: h.docId, score: h.score })));
            if (i % 16 === 0) progress.update(mode.name, i + 1, judged.length);
          }
          progress.update(mode.name, judged.length, judged.length);
          const wallMs = performance.now() - wall0;
          inputs.push({ name: mode.name, result: evaluateRun(run, qrels), latency: latencyStats(durations, { wallMs }) });
          runs.set(mode.name, run);
          if (o.runDir !== undefined) await writeRun(join(o.runDir, `${mode.name.replace(/[^\w.=-]+/g, '_')}.trec`), run, { tag: mode.name.replace(/\s+/g, '_') });
        }
        const piped = await evalPipelineRows(index, judged, qrels, o, progress);
        inputs.push(...piped.inputs);
        for (const [name, run] of piped.runs) {
          runs.set(name, run);
          if (o.runDir !== undefined) await writeRun(join(o.runDir, `${name.replace(/[^\w.=-]+/g, '_')}.trec`), run, { tag: name.replace(/\s+/g, '_') });
        }
        progress.done();
        const comparison = buildComparison(inputs, { baseline: o.baseline, test: o.test, title: `${basename(indexPath)}: ${judged.length} queries, depth ${o.depth}` });
        if (o.report !== undefined) {
          const base = o.report.replace(/\.html?$/i, '');
          await writeReportFiles(comparison, { html: `${base}.html`, json: `${base}.json`, text: `${base}.txt` });
        }
        // Fidelity of each late-interaction mode to exhaustive MaxSim: share of its top-10 found.
        const exact = runs.get('exhaustive');
        const fidelity: Record<string, number> = {};
        if (exact !== undefined) {
          for (const m of modes) if (m.name !== 'exhaustive' && m.options.mode === 'late') fidelity[m.name] = topKOverlap(runs.get(m.name)!, exact, 10);
        }
        if (o.json) process.stdout.write(`${JSON.stringify({ ...comparison, encodeMsPerQuery, fidelityTop10: fidelity }, null, 2)}\n`);
        else {
          process.stdout.write(`${renderTable(comparison)}\n`);
          process.stdout.write(renderStageLatency(piped.inputs));
          for (const [name, share] of Object.entries(fidelity)) process.stdout.write(`${name}: finds ${(100 * share).toFixed(1)}% of the exhaustive top-10\n`);
          process.stdout.write(`query encoding: ${encodeMsPerQuery.toFixed(1)} ms/query (${encoder.info.name}), not included in the latencies above\n`);
          if (o.report !== undefined) process.stdout.write(`report: ${o.report}\n`);
        }
      } finally {
        await index.close();
      }
    });
}
