/**
 * The cost of the metadata type counts (docstore/metadata-types.ts) on scifact's texts: the write
 * path (one add of 1,000 documents with metadata, the docstore step alone and the whole write) and
 * the filtered search (BM25, a filter matching a third of the documents and one matching none;
 * the first search after open, which reads the counts of the generation, and the median after).
 *
 * Embeddings are synthetic (128-d, 8 tokens a passage), the texts scifact's: the measured code is
 * the store's, not the encoder's. How "before" was measured (bench/RESULTS.md, "Metadata type counts"):
 *
 *   node dist/bench/metadata-types.js [--base /tmp/plait-base/dist] [--repeats 9]
 *
 * `--base` names another build of plait (an older checkout's `dist`, its node_modules and native
 * build beside it): both are loaded into this process and measured alternately, medians of each.
 * The base of bench/RESULTS.md was made so (a005b6e, this work's parent):
 *
 *   mkdir /tmp/plait-base13 && git archive a005b6e | tar -x -C /tmp/plait-base13
 *   ln -s $PWD/node_modules /tmp/plait-base13/; cp -r native-kernels/build native-kernels/node_modules /tmp/plait-base13/native-kernels/
 *   cp bench/metadata-types.ts /tmp/plait-base13/bench/ && (cd /tmp/plait-base13 && npx tsc -p tsconfig.json)
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dataDir, isMain, machine } from './common.js';

const DIM = 128;

interface Doc {
  _id: string;
  title: string;
  text: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Plait {
  root: string;
  buildIndexFromEmbeddings: typeof import('../src/indexer/build-from-embeddings.js').buildIndexFromEmbeddings;
  updateIndex: typeof import('../src/mutate/index-updater.js').updateIndex;
  openIndex: typeof import('../src/index.js').openIndex;
}

async function load(root: string): Promise<Plait> {
  const imp = async <T>(p: string): Promise<T> => (await import(pathToFileURL(join(root, p)).href)) as T;
  return {
    root,
    buildIndexFromEmbeddings: (await imp<typeof import('../src/indexer/build-from-embeddings.js')>('src/indexer/build-from-embeddings.js')).buildIndexFromEmbeddings,
    updateIndex: (await imp<typeof import('../src/mutate/index-updater.js')>('src/mutate/index-updater.js')).updateIndex,
    openIndex: (await imp<typeof import('../src/index.js')>('src/index.js')).openIndex,
  };
}

export async function main(argv: string[]): Promise<void> {
  const at = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const repeats = Number(at('--repeats') ?? 9);
  // Each build of plait measured (this one, and `--base`'s), alternately in one process: the load of a shared machine falls on both alike.
  const builds = [await load(resolve(new URL('../', import.meta.url).pathname))];
  if (at('--base') !== undefined) builds.unshift(await load(resolve(at('--base')!)));
  const { syntheticModel } = await import('../fixtures/synthetic-index.js');
  const { SyntheticVectors } = await import('../fixtures/synthetic.js');

  const data = dataDir();
  if (data === null) throw new Error('no data folder (PLAIT_DATA or /work/shared/data)');
  const docs = readFileSync(join(data, 'scifact', 'corpus.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Doc);
  const gen = new SyntheticVectors({ dim: DIM, clusters: 256, spread: 0.3, seed: 7 });
  const venues = ['nature', 'cell', 'science', 'lancet', 'nejm'];
  const meta = (i: number, yearAsString = false): Record<string, unknown> => ({ year: yearAsString ? String(1990 + (i % 30)) : 1990 + (i % 30), venue: venues[i % venues.length], tags: [venues[(i + 1) % 5], venues[(i + 2) % 5]], peer_reviewed: i % 7 !== 0 });
  const nBase = docs.length - 1000;
  const vectors = docs.map(() => gen.passage(8));
  const encoded = (i: number, yearAsString = false) => ({ doc: { docId: docs[i]!._id, title: docs[i]!.title, text: docs[i]!.text, metadata: meta(i, yearAsString) }, passages: [{ start: 0, end: docs[i]!.text.length }], embeddings: [vectors[i]!] });
  const seedPassages = Array.from({ length: 512 }, () => gen.passage(8));

  const base = mkdtempSync(join(tmpdir(), 'plait-bench-metatypes-'));
  try {
    // Per build of plait, a living index of scifact's first 4,183 documents (built from embeddings, then given their texts and metadata by one write).
    const built = builds.map((b, k) => join(base, `built${k}`));
    for (const [k, b] of builds.entries()) {
      await b.buildIndexFromEmbeddings({ nPassages: seedPassages.length, dim: DIM, vocabSize: 1000, embed: async (pids) => Array.from(pids, (p) => seedPassages[p]!) }, { index: built[k]!, model: syntheticModel(DIM), modelSpec: { family: 'colbert-onnx', dir: '/none' }, docId: (p) => `seed${p}` });
      b.updateIndex(built[k]!, { add: docs.slice(0, nBase).map((_, i) => encoded(i)), delete: seedPassages.map((_, p) => `seed${p}`) });
    }
    const writes = [['add 1,000 (types held)', Array.from({ length: 1000 }, (_, i) => encoded(nBase + i))], ['add 1,000 (year as strings: mixed)', Array.from({ length: 1000 }, (_, i) => encoded(nBase + i, true))]] as const;
    const store = builds.map(() => writes.map(() => [] as number[]));
    const total = builds.map(() => writes.map(() => [] as number[]));
    for (let r = 0; r < repeats; r++) {
      for (const [w, [, add]] of writes.entries()) {
        for (const [k, b] of builds.entries()) {
          const work = join(base, 'work');
          rmSync(work, { recursive: true, force: true });
          cpSync(built[k]!, work, { recursive: true });
          const steps = new Map<string, number>();
          const t = performance.now();
          b.updateIndex(work, { add }, { onStep: (s) => steps.set(s, performance.now()) });
          total[k]![w]!.push(performance.now() - t);
          store[k]![w]!.push((steps.get('docstore-written') ?? Number.NaN) - t);
        }
      }
    }
    const rows = builds.flatMap((b, k) => writes.map(([label], w) => ({ plait: b.root, write: label, storeMs: +median(store[k]![w]!).toFixed(1), totalMs: +median(total[k]![w]!).toFixed(1) })));

    const searchRows: Record<string, unknown>[] = [];
    const indexes = await Promise.all(builds.map((b, k) => b.openIndex(built[k]!)));
    try {
      for (const [label, filter] of [['$gte 2010 (a third)', { year: { $gte: 2010 } }], ['$gte 3000 (none)', { year: { $gte: 3000 } }]] as const) {
        const times = builds.map(() => [] as number[]);
        const first = builds.map(() => [] as number[]);
        for (let r = 0; r < repeats; r++) {
          for (const [k, b] of builds.entries()) {
            // A fresh generation each round: its first filtered search reads the metadata types (once a generation).
            b.updateIndex(built[k]!, { add: [encoded(nBase + r)] });
            await indexes[k]!.refresh();
            for (let q = 0; q < 6; q++) {
              const t = performance.now();
              await indexes[k]!.search('cerebral white matter development', { mode: 'bm25', topK: 10, filter });
              (q === 0 ? first : times)[k]!.push(performance.now() - t);
            }
          }
        }
        for (const [k, b] of builds.entries()) searchRows.push({ plait: b.root, filter: label, firstAfterWriteMs: +median(first[k]!).toFixed(2), thenMs: +median(times[k]!).toFixed(2) });
      }
    } finally {
      await Promise.all(indexes.map((i) => i.close()));
    }
    console.log(JSON.stringify({ machine: machine(), loadavg: readFileSync('/proc/loadavg', 'utf8').trim(), documents: nBase, repeats, writes: rows, searches: searchRows }, null, 2));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await main(process.argv.slice(2));
