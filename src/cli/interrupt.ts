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
import { removeActiveBuildDirs } from '../format/publish.js';
import type { ProgressReporter } from './progress.js';

const EXIT_STATUS: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/** Installs the handlers until the returned function is called. */
export function exitCleanlyOnSignals(progress: ProgressReporter, json: boolean): () => void {
  const handler = (signal: 'SIGINT' | 'SIGTERM'): void => {
    progress.done();
    const removed = removeActiveBuildDirs();
    const message = `interrupted by ${signal}${removed.length > 0 ? `; removed the unfinished build ${removed.join(', ')}` : ''}`;
    process.stderr.write(json ? `${JSON.stringify({ error: { code: 'ABORTED', message: `Aborted: ${message}`, details: { signal, removed } } })}\n` : `plait: ${message}\n`);
    process.exit(EXIT_STATUS[signal]);
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
