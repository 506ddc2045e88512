/**
 * Progress reporting for long CLI jobs: a redrawn bar with rate and ETA on a terminal; on a pipe,
 * one JSON line per phase change and at most one per second (machine-readable, log-friendly);
 * nothing with --quiet.
 *
 * `elapsedMs` in JSON lines is the time since the job started (the build's own figure when the
 * caller passes it), never reset per phase; the bar's rate and ETA are per phase. The bar is
 * redrawn every second as well as on each count, so elapsed time and ETA keep moving while the
 * encoder works through a chunk (a chunk of the bundled model takes over a minute).
 *
 * A count that repeats the last one written (same phase, done and total) writes nothing: several
 * callers report a phase's end twice (the build's encode steps and its chunk; eval's every-16th
 * query and its last), and the last line of `plait index`, `plait add` and `plait eval` had been
 * printed twice on a pipe. Nor is a finished phase (done = total) redrawn by the timer: its bar
 * had been drawn again with a falling rate while the command committed ("584/584 242/s 2s", then
 * "584/584 106/s 6s").
 */
export type ProgressStyle = 'bar' | 'json' | 'none';

/** How often the bar is redrawn without new counts. */
const REDRAW_MS = 1000;

export class ProgressReporter {
  private phase = '';
  private readonly started = Date.now();
  private phaseStart = Date.now();
  private lastJson = 0;
  private drawn = false;
  private last: { done: number; total: number } = { done: 0, total: 0 };
  /** The phase, done and total of the last line written (JSON) or drawn (bar), or '' before any. */
  private written = '';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly style: ProgressStyle,
    private readonly stream: NodeJS.WritableStream = process.stderr,
  ) {}

  static auto(quiet: boolean): ProgressReporter {
    return new ProgressReporter(quiet ? 'none' : process.stderr.isTTY ? 'bar' : 'json');
  }

  /** A new count. `elapsedMs`: time since the job started, when the job measures it (else since this reporter was made). */
  update(phase: string, done: number, total: number, elapsedMs?: number): void {
    const now = Date.now();
    const changed = phase !== this.phase;
    if (changed) {
      if (this.drawn) this.stream.write('\n');
      this.drawn = false;
      this.phase = phase;
      this.phaseStart = now;
    }
    this.last = { done, total };
    if (this.style === 'none') return;
    const key = JSON.stringify([phase, done, total]);
    if (key === this.written) return;
    if (this.style === 'json') {
      if (!changed && now - this.lastJson < 1000 && done !== total) return;
      this.lastJson = now;
      this.written = key;
      this.stream.write(`${JSON.stringify({ phase, done, total, elapsedMs: elapsedMs ?? now - this.started })}\n`);
      return;
    }
    this.written = key;
    this.draw(now);
    if (total > 0 && done >= total) this.stopTimer();
    else if (this.timer === null) {
      this.timer = setInterval(() => this.draw(Date.now()), REDRAW_MS);
      this.timer.unref();
    }
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private draw(now: number): void {
    const { done, total } = this.last;
    const width = 28;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const elapsed = (now - this.phaseStart) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = total > 0 && rate > 0 && done > 0 ? (total - done) / rate : NaN;
    const bar = total > 0 ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(0).padStart(3)}%` : '[working]';
    const count = total > 0 ? `${done}/${total}` : `${done}`;
    const tail = ` ${formatSeconds(elapsed)}${Number.isFinite(eta) && done < total ? ` ETA ${formatSeconds(eta)}` : ''}`;
    this.stream.write(`\r${this.phase.padEnd(7)} ${bar} ${count} ${rate >= 1 ? `${rate.toFixed(0)}/s` : ''}${tail}\x1b[K`);
    this.drawn = true;
  }

  /**
   * Writes a line of its own (a warning) without garbling the bar: on a terminal the bar's line is
   * cleared first and redrawn after; on a pipe the line goes between the JSON lines.
   */
  note(line: string): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(`${line}\n`);
    if (this.drawn) this.draw(Date.now());
  }

  /** Ends the bar's line (if one is drawn) and stops redrawing. Safe to call more than once. */
  done(): void {
    this.stopTimer();
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
    this.written = '';
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
