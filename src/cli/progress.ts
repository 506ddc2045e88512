/**
 * Progress reporting for long CLI jobs: a redrawn bar with rate and ETA on a terminal; on a pipe,
 * one JSON line per phase change and at most one per second (machine-readable, log-friendly);
 * nothing with --quiet.
 */
export type ProgressStyle = 'bar' | 'json' | 'none';

export class ProgressReporter {
  private phase = '';
  private phaseStart = Date.now();
  private lastJson = 0;
  private drawn = false;

  constructor(
    private readonly style: ProgressStyle,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  static auto(quiet: boolean): ProgressReporter {
    return new ProgressReporter(quiet ? 'none' : process.stderr.isTTY ? 'bar' : 'json');
  }

  update(phase: string, done: number, total: number): void {
    const now = Date.now();
    const changed = phase !== this.phase;
    if (changed) {
      if (this.drawn) this.stream.write('\n');
      this.drawn = false;
      this.phase = phase;
      this.phaseStart = now;
    }
    if (this.style === 'none') return;
    if (this.style === 'json') {
      if (!changed && now - this.lastJson < 1000 && done !== total) return;
      this.lastJson = now;
      this.stream.write(`${JSON.stringify({ phase, done, total, elapsedMs: now - this.phaseStart })}\n`);
      return;
    }
    const width = 28;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const elapsed = (now - this.phaseStart) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = total > 0 && rate > 0 ? (total - done) / rate : NaN;
    const bar = total > 0 ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(0).padStart(3)}%` : '[working]';
    const count = total > 0 ? `${done}/${total}` : `${done}`;
    const tail = Number.isFinite(eta) ? ` ETA ${formatSeconds(eta)}` : ` ${formatSeconds(elapsed)}`;
    this.stream.write(`\r${phase.padEnd(7)} ${bar} ${count} ${rate >= 1 ? `${rate.toFixed(0)}/s` : ''}${tail}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
