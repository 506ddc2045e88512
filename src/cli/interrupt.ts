/**
 * Ctrl-C and kill during a long command (`plait index`, `plait eval`, `plait quickstart`): remove
 * the unfinished build's temporary folder, end the progress line, say "interrupted" and exit with
 * the shell's status for the signal (130 for SIGINT, 143 for SIGTERM).
 *
 * The handler works synchronously and exits at once rather than asking the build to abort: an
 * encoder chunk of the bundled model runs for a minute or more before the build could next look at
 * an AbortSignal, and a user who pressed Ctrl-C wants the prompt back now. Folders of a builder
 * killed without a chance to clean (SIGKILL, power loss) are removed by the next build
 * (src/format/publish.ts).
 */
import { PlaitError } from '../errors/index.js';
import { abortOpenTransactions, commitIdOf, observeTransactions } from '../format/index-transaction.js';
import { removeActiveBuildDirs } from '../format/publish.js';
import { abortActiveBackups } from '../mutate/index-backup.js';
import type { ProgressReporter } from './progress.js';
import { reportError } from './report-error.js';

type Signal = 'SIGINT' | 'SIGTERM';
const EXIT_STATUS: Record<Signal, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Ends the process as the signal itself would have: plait's handlers removed and the signal raised
 * again with its default action, so the shell sees 128 + its number (130, 143) and a parent sees
 * the signal. `process.exit()` instead ran Node's teardown while onnxruntime's threads were still
 * encoding, and a native callback threw into it: "terminate called after throwing an instance of
 * 'Napi::Error'", exit 134 (`plait add` interrupted 2.5 s into encoding; `plait index` in its
 * sample phase). The exit after the kill is only a fallback should the signal stay blocked.
 */
function exitWithSignal(signal: Signal): never {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  process.exit(EXIT_STATUS[signal]);
}

/**
 * Ends `plait serve` once closeOnSignals (src/server/lifecycle.ts) is done with it: the exit code
 * set (0 after a clean drain); a second SIGINT / SIGTERM during the drain ends the process by that
 * signal (130 / 143), a failed close exits 1. `process.exit(1)` on the second signal aborted the
 * server the same way as above while a write was encoding (exit 134, "terminate called after
 * throwing an instance of 'Napi::Error'"; a 32-document POST /documents, two SIGTERMs 300 ms apart).
 */
export function endServe(code: number, signal?: NodeJS.Signals): void {
  process.exitCode = code;
  if (signal === 'SIGINT' || signal === 'SIGTERM') exitWithSignal(signal);
  if (code !== 0) process.exit(code);
}

/** Installs the handlers until the returned function is called. */
export function exitCleanlyOnSignals(progress: ProgressReporter, json: boolean): () => void {
  const handler = (signal: 'SIGINT' | 'SIGTERM'): void => {
    progress.done();
    const removed = removeActiveBuildDirs();
    const message = `interrupted by ${signal}${removed.length > 0 ? `; removed the unfinished build ${removed.join(', ')}` : ''}`;
    process.stderr.write(json ? `${JSON.stringify({ error: { code: 'ABORTED', message: `Aborted: ${message}`, details: { signal, removed } } })}\n` : `plait: ${message}\n`);
    exitWithSignal(signal);
  };
  const onInt = (): void => handler('SIGINT');
  const onTerm = (): void => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}

/**
 * Ctrl-C and kill during a write command (`plait add`, `delete`, `compact`, `backup`, `calibrate`):
 * before the commit has started the change is rolled back — this process's open transactions
 * closed (their files unlinked, the lock released: index-transaction.ts `abortOpenTransactions`),
 * an unfinished backup's folder removed — and the command says "interrupted before commit: nothing
 * changed" (ABORTED, `details.committed` false) with the signal's exit status. Once a commit has
 * started it is finished, never abandoned part-way: the command prints its result as usual, then
 * what was committed (generation and commit id), and exits with the signal's status; a second
 * signal meanwhile says that it is finishing.
 *
 * A transaction's work runs synchronously (updateIndex, compactIndex), and Node runs a signal's
 * handler only between synchronous steps: a signal that arrives inside one is handled when it
 * returns, by then committed (or failed, and reported as such). `run` yields to the event loop
 * after the write so that such a signal is seen before the result is reported.
 */
export class WriteInterrupts {
  private signal: Signal | null = null;
  private commitStarted = false;
  private settled = false;
  private lastCommit: { generation: number; commit: string } | null = null;
  private readonly stopObserving: () => void;
  private readonly onInt = (): void => this.handle('SIGINT');
  private readonly onTerm = (): void => this.handle('SIGTERM');

  private constructor(private readonly json: boolean) {
    this.stopObserving = observeTransactions((e) => {
      if (e.phase === 'commitStart') this.commitStarted = true;
      if (e.phase === 'committed') this.lastCommit = { generation: e.manifest.generation ?? 0, commit: commitIdOf(e.manifest) };
    });
    process.on('SIGINT', this.onInt);
    process.on('SIGTERM', this.onTerm);
  }

  /** Installs the handlers (removed by `finish` or `dispose`). */
  static install(json: boolean): WriteInterrupts {
    return new WriteInterrupts(json);
  }

  /** Runs the write; then lets a signal that came during its synchronous commit be handled. */
  async run<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.settled = true;
      // A signal delivered while the commit ran synchronously waits in the event loop's poll phase.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 0));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Call after printing the result: when a signal came once the commit had started, says what was
   * committed (or `done`, for a command that commits nothing in the index: a backup) and exits with
   * the signal's status; otherwise removes the handlers.
   */
  finish(done?: string): void {
    this.dispose();
    const signal = this.signal;
    if (signal === null) return;
    const c = this.lastCommit;
    const what = c !== null ? `the write was finished and committed: generation ${c.generation}, commit ${c.commit}` : (done ?? 'the write had finished and committed nothing');
    process.stderr.write(
      this.json
        ? `${JSON.stringify({ interrupted: { signal, committed: c !== null, ...(c ?? {}) } })}\n`
        : `plait: interrupted by ${signal} ${c !== null ? 'after the commit had started' : 'after the work had finished'}: ${what}\n`,
    );
    exitWithSignal(signal);
  }

  /** Removes the handlers (a failed write: its error is reported as usual). */
  dispose(): void {
    this.stopObserving();
    process.off('SIGINT', this.onInt);
    process.off('SIGTERM', this.onTerm);
  }

  private handle(signal: Signal): void {
    if (!this.commitStarted && !this.settled) {
      // Builds (a restore) and backups first: they give a new name's folder back as they found it,
      // which a bare rollback of their transaction (the lock released, its file kept) would not.
      const builds = removeActiveBuildDirs();
      const backups = abortActiveBackups();
      const rolledBack = abortOpenTransactions();
      reportError(
        new PlaitError('ABORTED', { message: `interrupted by ${signal} before commit: nothing changed`, signal, committed: false, rolledBack: [...rolledBack, ...backups, ...builds] }),
        this.json,
      );
      exitWithSignal(signal);
    }
    if (this.signal !== null) {
      process.stderr.write(this.json ? `${JSON.stringify({ interrupted: { signal, finishing: true } })}\n` : `plait: ${signal} again: finishing the commit (it is never abandoned part-way)\n`);
      return;
    }
    this.signal = signal;
    if (!this.settled) process.stderr.write(this.json ? `${JSON.stringify({ interrupted: { signal, finishing: true } })}\n` : `plait: ${signal}: the commit has started; finishing it, then saying what was committed\n`);
  }
}

/**
 * The human line as a drain starts: a Ctrl-C with a write waiting for another process's lock sat
 * silent for the whole --drain-timeout-ms (10 s) before; now it says what it waits for and how to
 * stop at once (a second signal: endServe above).
 */
export function drainingLine(signal: NodeJS.Signals, drainTimeoutMs: number, shutdownDelayMs = 0): string {
  const again = signal === 'SIGINT' ? 'Ctrl-C' : signal;
  const delay = shutdownDelayMs > 0 ? `/ready answers 503 and requests are served for ${shutdownDelayMs} ms more (--shutdown-delay-ms), then ` : '';
  return `plait: stopping (${signal}): ${delay}requests in flight get up to ${drainTimeoutMs} ms to finish (--drain-timeout-ms); ${again} again stops at once\n`;
}
