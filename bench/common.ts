/** Shared bits of the benchmarks: where the data is, the machine, timing helpers. */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

/** `../shared/data` beside the repository (PLAIT_DATA_DIR overrides). */
export function dataDir(): string | null {
  const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const candidates = [process.env.PLAIT_DATA_DIR, join(repo, '..', 'shared', 'data')].filter((p): p is string => typeof p === 'string');
  return candidates.find((p) => existsSync(p)) ?? null;
}

export function machine(): { cpu: string; cores: number; node: string } {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // Not Linux: keep os.cpus()'s name.
  }
  return { cpu, cores: availableParallelism(), node: process.version };
}

export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export function percentiles(ms: ArrayLike<number>): { p50: number; p95: number; p99: number; mean: number } {
  const s = Float64Array.from(ms).sort();
  const at = (p: number): number => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
  let sum = 0;
  for (const v of s) sum += v;
  return { p50: at(50), p95: at(95), p99: at(99), mean: sum / s.length };
}

export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && url === new URL(`file://${resolve(process.argv[1])}`).href;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; closed again before it is returned), for a benchmark's server. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once `plait serve` at `url` answers /ready with 200; throws if the child exits first. Polls every 250 ms. */
export async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`plait serve exited with ${child.exitCode}`);
    const r = await fetch(`${url}/ready`).catch(() => null);
    if (r?.status === 200) return;
    await new Promise((res) => setTimeout(res, 250));
  }
}
