/**
 * What reading a gzip'd corpus costs against the plain file: `countDocuments` then a full
 * `openCorpus` pass (what a build does before and while it encodes), on `<dataset>/corpus.jsonl`
 * and a gzip'd copy written to a temporary folder, alternated `rounds` times in this process. Prints
 * one JSON line per read (wall and CPU ms) and a summary with the gz/plain ratio of the medians.
 * Peak RSS is the process's and so not per read: run each input alone under `/usr/bin/time -v` for
 * that (bench/RESULTS.md, "gzip'd corpus", did so for whole builds).
 *
 * Run: `node dist/bench/gzip-read.js [dataset] [rounds]` (default: scifact 5).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { countDocuments, openCorpus } from '../src/index.js';
import { dataDir, isMain, machine } from './common.js';

interface ReadRun {
  input: 'plain' | 'gz';
  documents: number;
  wallMs: number;
  cpuMs: number;
}

async function readOnce(input: 'plain' | 'gz', file: string): Promise<ReadRun> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await countDocuments(file);
  let documents = 0;
  for await (const _ of await openCorpus(file)) documents++;
  const cpu = process.cpuUsage(c0);
  return { input, documents, wallMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function gzipRead(dataset: string, rounds: number): Promise<void> {
  const data = dataDir();
  if (data === null) throw new Error('no ../shared/data (set PLAIT_DATA_DIR)');
  const plain = join(data, dataset, 'corpus.jsonl');
  const dir = mkdtempSync(join(tmpdir(), 'plait-gzip-read-'));
  try {
    const gz = join(dir, 'corpus.jsonl.gz');
    writeFileSync(gz, gzipSync(readFileSync(plain), { level: 6 }));
    const runs: ReadRun[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const [input, file] of [['plain', plain], ['gz', gz]] as const) {
        const r = await readOnce(input, file);
        runs.push(r);
        console.log(JSON.stringify(r));
      }
    }
    const of = (input: string, k: 'wallMs' | 'cpuMs'): number => median(runs.filter((r) => r.input === input).map((r) => r[k]));
    console.log(JSON.stringify({ machine: machine(), dataset, rounds, medianCpuMs: { plain: of('plain', 'cpuMs'), gz: of('gz', 'cpuMs') }, gzOverPlainCpu: of('gz', 'cpuMs') / of('plain', 'cpuMs'), gzOverPlainWall: of('gz', 'wallMs') / of('plain', 'wallMs') }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await gzipRead(process.argv[2] ?? 'scifact', Number(process.argv[3] ?? 5));
