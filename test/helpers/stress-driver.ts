/**
 * Drives the stress workload (stress.ts) against one index: runs the writer child in chunks of
 * steps, SIGKILLs some runs at random moments, searches the index concurrently from this process
 * (every answer must come from one whole generation), and after each run checks the index against
 * the model — acknowledged steps all present, the step in flight at a kill wholly applied or not at
 * all. At the end, BM25 scores must equal those of a fresh document store of the final documents,
 * and token document frequencies a recount of the final documents' token ids.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { openIndex } from '../../src/search/plait-index.js';
import { readManifest } from '../../src/format/index-reader.js';
import { roleFileName } from '../../src/format/manifest.js';
import { DocStoreReader, DocStoreWriter } from '../../src/docstore/index.js';
import { distinctTokenIds } from '../../src/docstore/passage-tokens.js';
import { Random } from '../../src/util/random.js';
import { applyStep, checkIndex, embeddingOf, indexModel, sameModel, stepOf, textOf, wordOf, type Model } from './stress.js';

const WRITER = fileURLToPath(new URL('./stress-writer.js', import.meta.url));

export interface StressOptions {
  path: string;
  /** Folder for the fresh document store built at the end. */
  scratch: string;
  seed: number;
  steps: number;
  /** Steps a writer run is given (it may be killed before). */
  chunk: number;
  /** Share of runs killed with SIGKILL at a random moment. */
  killShare: number;
  /** Longest delay before a kill, ms after the writer is ready. */
  killWithinMs: number;
  /** Whether the writer checks the index against its model after every step. */
  checkEveryStep: boolean;
  log?: (line: string) => void;
}

export interface StressReport {
  steps: number;
  runs: number;
  kills: number;
  killedInsideAStep: number;
  readerSearches: number;
  documents: number;
  bm25MaxDiff: number;
  /** Largest |token df difference| from a recount over the final documents' passages (and of N). */
  tokenDfMaxDiff: number;
}

function runWriter(o: StressOptions, first: number, last: number, killAfterMs: number | null): Promise<{ lines: string[]; killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, o.path, String(o.seed), String(first), String(last), o.checkEveryStep ? 'check' : ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== null && timer === null && out.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer !== null) clearTimeout(timer);
      resolve({ lines: out.split('\n').filter((l) => l.startsWith('intent ') || l.startsWith('ack ')), killed: signal === 'SIGKILL', code, stderr: err });
    });
  });
}

/** Searches in a loop until `done` resolves; every hit must be a live document of the generation served. */
async function readerLoop(path: string, done: Promise<unknown>): Promise<number> {
  let stop = false;
  void done.then(() => (stop = true));
  const index = await openIndex(path);
  let searches = 0;
  try {
    while (!stop) {
      await index.refresh();
      const pool = index.docstore.bm25('common stress', 20);
      if (pool.length > 0) {
        const d = index.docstore.getDocument(pool[searches % pool.length]!.docRowid)!;
        const hits = index.searchEncoded('', embeddingOf(d.docId, Number(/v(\d+) /.exec(d.text)![1])), { topK: 5 }).hits;
        for (const h of hits) if (index.docstore.getDocument(h.docId) === null) throw new Error(`reader: ${h.docId} returned but not in the generation served`);
        searches++;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await index.close();
  }
  return searches;
}

export async function runStress(o: StressOptions): Promise<StressReport> {
  const rng = new Random(o.seed);
  let model: Model = indexModel(o.path);
  const report: StressReport = { steps: 0, runs: 0, kills: 0, killedInsideAStep: 0, readerSearches: 0, documents: 0, bm25MaxDiff: 0, tokenDfMaxDiff: 0 };
  let next = 0;
  while (next < o.steps) {
    const last = Math.min(o.steps, next + o.chunk);
    const kill = rng.next() < o.killShare ? rng.int(o.killWithinMs) : null;
    const run = runWriter(o, next, last, kill);
    const searches = readerLoop(o.path, run);
    const r = await run;
    report.readerSearches += await searches;
    report.runs++;
    if (!r.killed && r.code !== 0) throw new Error(`writer exited ${r.code}: ${r.stderr}`);
    if (r.killed) report.kills++;
    // Replay the acknowledged steps; the step in flight at a kill may or may not have committed.
    let i = next;
    let inFlight: number | null = null;
    for (const l of r.lines) {
      const [what, n] = l.split(' ');
      if (what === 'intent') inFlight = Number(n);
      else {
        model = applyStep(model, stepOf(o.seed, i, [...model.keys()].sort()));
        i = Number(n) + 1;
        inFlight = null;
      }
    }
    if (inFlight !== null) {
      report.killedInsideAStep++;
      const applied = applyStep(model, stepOf(o.seed, inFlight, [...model.keys()].sort()));
      const got = indexModel(o.path);
      if (sameModel(got, applied) && !sameModel(got, model)) {
        model = applied;
        i = inFlight + 1;
      } else if (!sameModel(got, model)) throw new Error(`after a kill in step ${inFlight}: the index matches neither the model before nor after it`);
      else i = inFlight; // not committed: the step is run again (same step, same live documents)
    }
    await checkIndex(o.path, model, 4, o.seed + i);
    o.log?.(`# run ${report.runs}: steps ${next}..${i - 1}${r.killed ? ` (killed${inFlight !== null ? ` inside step ${inFlight}` : ''})` : ''}, ${model.size} documents`);
    next = i;
  }
  report.steps = next;
  report.documents = model.size;
  report.bm25MaxDiff = bm25AgainstFresh(o, model);
  report.tokenDfMaxDiff = tokenDfAgainstRecount(o, model);
  return report;
}

/**
 * Largest |df difference| between the index's token document frequencies and a recount of the
 * distinct token ids of the final documents' passages (one a document), N included: every add,
 * upsert and delete of the run — killed ones too — must have counted and subtracted exactly.
 */
function tokenDfAgainstRecount(o: StressOptions, model: Model): number {
  const vocab = readManifest(o.path).model.vocabSize ?? 0;
  const expected = new Int32Array(vocab);
  for (const [id, v] of model) for (const t of distinctTokenIds(embeddingOf(id, v).tokenIds, vocab)) expected[t]!++;
  const living = indexStore(o.path);
  try {
    const { n, df } = living.tokenDf();
    let maxDiff = Math.abs(n - model.size);
    for (let t = 0; t < vocab; t++) maxDiff = Math.max(maxDiff, Math.abs((df[t] ?? 0) - expected[t]!));
    return maxDiff;
  } finally {
    living.close();
  }
}

/** Largest |BM25 score difference| between the index and a fresh document store of the model's documents. */
function bm25AgainstFresh(o: StressOptions, model: Model): number {
  const freshPath = join(o.scratch, `fresh-${o.seed}.sqlite`);
  const w = new DocStoreWriter(freshPath);
  for (const [id, v] of [...model].sort((a, b) => (a[0] < b[0] ? -1 : 1))) w.addPassage(w.addDocument({ docId: id, title: '', text: textOf(id, v) }), 0, 0);
  w.close();
  const fresh = DocStoreReader.open(freshPath);
  const living = indexStore(o.path);
  try {
    const queries = ['common stress', 'even', 'odd shared', ...[...model].slice(0, 5).map(([id, v]) => `${wordOf(id, v)} words`)];
    let maxDiff = 0;
    for (const q of queries) {
      const a = new Map(living.bm25(q, model.size).map((h) => [living.rowidToDocId(h.docRowid)!, h.score]));
      const b = new Map(fresh.bm25(q, model.size).map((h) => [fresh.rowidToDocId(h.docRowid)!, h.score]));
      if (a.size !== b.size) throw new Error(`BM25 "${q}": ${a.size} hits on the index, ${b.size} on a fresh store`);
      for (const [id, s] of b) maxDiff = Math.max(maxDiff, Math.abs((a.get(id) ?? Infinity) - s));
    }
    return maxDiff;
  } finally {
    fresh.close();
    living.close();
  }
}

function indexStore(path: string): DocStoreReader {
  return DocStoreReader.open(join(path, roleFileName(readManifest(path), 'docstore')));
}
