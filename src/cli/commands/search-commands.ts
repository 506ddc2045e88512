import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { openIndex, type SearchMode, type SearchOptions } from '../../search/plait-index.js';
import { Reranker, type RerankDocument } from '../../rerank/reranker.js';
import { readQueries } from '../../eval/queries.js';
import { writeRun, type Run } from '../../eval/run.js';
import { PlaitError } from '../../errors/index.js';
import { decodeUtf8 } from '../../encoder/validate-text.js';
import { parseFloatArg, parseIntArg, printJson } from '../options.js';
import { ProgressReporter } from '../progress.js';
import { announceBundledModel } from './model-commands.js';
import { addCrossEncoderFlags, addPipelineFlags, rerankWithCrossEncoder, searchWithPipeline } from '../pipeline-options.js';

interface SearchCliOptions {
  k: number;
  json?: boolean;
  mode?: SearchMode;
  exhaustive?: boolean;
  ncells?: number;
  threshold?: number;
  ndocs?: number;
  idf?: boolean;
  fusion?: 'minmax' | 'rrf';
  alpha?: number;
  model?: string;
  queries?: string;
  run?: string;
  tag: string;
  text?: boolean;
  timings?: boolean;
  quiet?: boolean;
}

export function searchOptionsFrom(o: Partial<SearchCliOptions>): SearchOptions {
  const s: SearchOptions = { topK: o.k };
  if (o.mode !== undefined) s.mode = o.mode;
  if (o.exhaustive) s.exhaustive = true;
  if (o.ncells !== undefined) s.nIvfProbe = o.ncells;
  if (o.threshold !== undefined) s.centroidScoreThreshold = o.threshold;
  if (o.ndocs !== undefined) s.ndocs = o.ndocs;
  if (o.idf !== undefined) s.idfWeighting = o.idf;
  if (o.fusion !== undefined) s.fusion = o.fusion;
  if (o.alpha !== undefined) s.alpha = o.alpha;
  return s;
}

export function addSearchFlags(cmd: Command): Command {
  return cmd
    .option('--mode <mode>', 'late | bm25 | hybrid (default: the model profile)')
    .option('--exhaustive', 'score every passage exactly instead of PLAID')
    .option('--ncells <n>', 'centroids probed per query token (nIvfProbe)', parseIntArg('ncells', 1))
    .option('--threshold <x>', 'centroid score threshold for pruning', parseFloatArg('threshold'))
    .option('--ndocs <n>', 'candidates kept after centroid interaction', parseIntArg('ndocs', 1))
    .option('--idf', 'weight query tokens by IDF')
    .option('--no-idf', 'do not weight query tokens by IDF')
    .option('--fusion <f>', 'hybrid fusion: minmax | rrf')
    .option('--alpha <a>', 'late-interaction weight in min-max fusion', parseFloatArg('alpha'));
}

export function registerSearchCommands(program: Command): void {
  addPipelineFlags(addSearchFlags(
    program
      .command('search')
      .description('search an index with one query, or a queries file into a TREC run file')
      .argument('<index>', 'index name or path')
      .argument('[query]', 'query text')
      .option('-k, --k <n>', 'results per query', parseIntArg('k', 1), 10)
      .option('--queries <file>', 'queries file (BEIR queries.jsonl, TSV, TREC topics) for batch mode')
      .option('--run <file>', 'TREC run file to write in batch mode (qid Q0 docid rank score tag)')
      .option('--tag <tag>', 'run tag', 'plait')
      .option('-m, --model <model>', 'query encoder (default: the model the index was built with)')
      .option('--text', 'print document text')
      .option('--timings', 'print per-stage timings')
      .option('-q, --quiet', 'no progress output')
      .option('--json', 'print JSON'),
  )).action(async (name: string, query: string | undefined, o: SearchCliOptions) => {
    const index = await openIndex(name, { model: o.model });
    try {
      if (await searchWithPipeline(index, query, o)) return;
      const opts = { ...searchOptionsFrom(o), includeText: o.text === true || o.json === true };
      if (o.queries !== undefined) {
        const queries = await readQueries(o.queries);
        const progress = ProgressReporter.auto(o.quiet === true || o.json === true);
        const run: Run = new Map();
        const batch = 32;
        for (let i = 0; i < queries.length; i += batch) {
          const slice = queries.slice(i, i + batch);
          const results = await index.searchBatch(slice.map((q) => q.text), { ...opts, includeText: false });
          results.forEach((r, j) => run.set(slice[j]!.id, r.hits.map((h) => ({ docId: h.docId, score: h.score }))));
          progress.update('search', Math.min(i + batch, queries.length), queries.length);
        }
        progress.done();
        if (o.run !== undefined) await writeRun(o.run, run, { tag: o.tag });
        if (o.json) printJson(Object.fromEntries([...run].map(([qid, hits]) => [qid, hits])));
        else if (o.run !== undefined) process.stdout.write(`wrote ${run.size} queries to ${o.run}\n`);
        return;
      }
      if (query === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'give a query, or --queries <file>' });
      const { hits, timings } = await index.search(query, opts);
      if (o.json) {
        printJson(o.timings ? { hits, timings } : { hits });
        return;
      }
      for (const h of hits) {
        const snippet = h.text === undefined ? '' : `  ${(h.title ? `${h.title}: ` : '') + h.text.replace(/\s+/g, ' ').slice(0, 120)}`;
        process.stdout.write(`${String(h.rank).padStart(3)}  ${h.score.toFixed(4).padStart(9)}  ${h.docId}${snippet}\n`);
      }
      if (o.timings) process.stdout.write(`${JSON.stringify(timings)}\n`);
    } finally {
      await index.close();
    }
  });

  addCrossEncoderFlags(program
    .command('rerank')
    .description('re-rank a shortlist of documents for a query (encodes the documents on the fly)')
    .requiredOption('--query <text>', 'the query')
    .requiredOption('--docs <file>', 'JSONL of {"id", "text"} (or BEIR {"_id", "title", "text"}), or one document per line of plain text')
    .option('-m, --model <model>', 'ColBERT ONNX folder or hub repo id (default: the bundled model)')
    .option('-k, --k <n>', 'results to print', parseIntArg('k', 1))
    .option('--json', 'print JSON'))
    .action(async (o: { query: string; docs: string; model?: string; k?: number; json?: boolean }) => {
      const docs = readRerankDocs(o.docs);
      if (await rerankWithCrossEncoder(o.query, docs, o)) return;
      if (o.model === undefined && !o.json) announceBundledModel();
      const reranker = await Reranker.create({ model: o.model, encoderOptions: { threads: 1 } });
      try {
        const results = await reranker.rerank(o.query, docs, { topK: o.k ?? docs.length });
        if (o.json) printJson(results);
        else results.forEach((r, i) => process.stdout.write(`${String(i + 1).padStart(3)}  ${r.score.toFixed(4).padStart(9)}  ${r.id ?? `#${r.index}`}\n`));
      } finally {
        await reranker.close();
      }
    });
}

function readRerankDocs(file: string): RerankDocument[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new PlaitError('INVALID_INPUT', { message: `cannot read ${file}`, file }, { cause });
  }
  const lines = decodeUtf8(bytes, file).split(/\r?\n/);
  const docs: RerankDocument[] = [];
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
    if (typeof obj.text !== 'string') throw new PlaitError('MALFORMED_JSONL', { message: 'no "text" string', file, line: i + 1 });
    const id = obj.id ?? obj._id;
    const title = typeof obj.title === 'string' && obj.title.trim() ? `${obj.title}\n` : '';
    docs.push({ id: id === undefined ? String(i + 1) : String(id), text: title + obj.text });
  });
  return docs;
}
