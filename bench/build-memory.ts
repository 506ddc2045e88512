/**
 * Peak memory of a real index build (issue 9): `plait index` with the bundled model (encoder
 * worker threads, transfers, the real model — not views into a pre-made pool), each run in a
 * child process under `/usr/bin/time -v`, whose "Maximum resident set size" is the figure (the
 * largest RSS of the process; worker threads are in it). Goal: ≤ 1 GiB for cranfield-, cacm- and
 * wordnet-scale corpora, i.e. not growing with the corpus.
 *
 * Run: `node dist/bench/build-memory.js [dataset ...]` (default: cranfield cisi; datasets are
 * folders of ../shared/data with a corpus.jsonl). Prints one JSON object per dataset and a summary
 * with bytes of peak RSS per corpus token, the figure that must not grow.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataDir, isMain, machine } from './common.js';

export interface MemoryRun {
  dataset: string;
  documents: number;
  passages: number;
  tokens: number;
  centroids: number;
  wallSeconds: number;
  peakRssMiB: number;
  peakRssBytesPerToken: number;
  tokensPerSecond: number;
}

/** Fields of `/usr/bin/time -v` output. */
function timeField(stderr: string, label: string): string | null {
  const line = stderr.split('\n').find((l) => l.trim().startsWith(label));
  return line === undefined ? null : line.slice(line.lastIndexOf(': ') + 2).trim();
}

function wallSeconds(v: string): number {
  const parts = v.split(':').map(Number);
  return parts.reduce((a, b) => a * 60 + b, 0);
}

export function measure(dataset: string, threads?: number): MemoryRun {
  const data = dataDir();
  if (data === null) throw new Error('no ../shared/data (set PLAIT_DATA_DIR)');
  const corpus = join(data, dataset, 'corpus.jsonl');
  if (!existsSync(corpus)) throw new Error(`no corpus at ${corpus}`);
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-mem-'));
  const index = join(dir, dataset);
  const cli = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
  const args = ['-v', process.execPath, cli, 'index', corpus, '--index', index, '--skip-invalid', '--quiet', '--json'];
  if (threads !== undefined) args.push('--threads', String(threads));
  try {
    const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`plait index ${dataset} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const kib = Number(timeField(r.stderr, 'Maximum resident set size'));
    const wall = wallSeconds(timeField(r.stderr, 'Elapsed (wall clock) time') ?? '0');
    const manifest = JSON.parse(readFileSync(join(index, 'manifest.json'), 'utf8')) as { counts: { documents: number; passages: number; tokens: number; centroids: number } };
    const { documents, passages, tokens, centroids } = manifest.counts;
    return {
      dataset,
      documents,
      passages,
      tokens,
      centroids,
      wallSeconds: wall,
      peakRssMiB: kib / 1024,
      peakRssBytesPerToken: (kib * 1024) / tokens,
      tokensPerSecond: tokens / wall,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const sets = process.argv.slice(2);
  const runs: MemoryRun[] = [];
  for (const d of sets.length > 0 ? sets : ['cranfield', 'cisi']) {
    const run = measure(d);
    runs.push(run);
    console.error(JSON.stringify(run));
  }
  console.log(JSON.stringify({ benchmark: 'build-memory', machine: machine(), goalMiB: 1024, runs }, null, 2));
}
