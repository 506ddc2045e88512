/**
 * EMPTY_CORPUS for a build or an add that read no document, naming what `skipInvalid` skipped: how
 * many lines, by reason, and the first few reasons with their file and line (report.firstSkipped).
 * Without them "has no document" after `--skip-invalid` reads as an empty file when every line was
 * in fact refused (a new user's trial: a corpus whose every line lacked its text field).
 */
import { plural } from '../../util/plural.js';
import { PlaitError, checkArray, checkShape } from '../../errors/index.js';
import type { CorpusDocumentInput, CorpusInput, CorpusReadReport } from './types.js';

/**
 * @param what "index" (a build) or "add" (`plait add`, the living index).
 * @returns EMPTY_CORPUS with details `read`, `skipped` (counts by kind, non-zero only),
 * `skippedTotal` and `firstSkipped` ({code, file, line, message}[]).
 */
export function emptyCorpusError(input: CorpusInput | readonly CorpusDocumentInput[], report: CorpusReadReport, what: 'index' | 'add'): PlaitError {
  if (typeof input !== 'string') checkArray('input', input, 'a corpus path, an array of paths or an array of documents');
  checkShape('report', report, 'a CorpusReadReport', ['skipped']);
  const source = typeof input === 'string' ? input : input.every((x) => typeof x === 'string') ? input.join(', ') : `the ${plural(input.length, 'document')} given`;
  const skipped = Object.fromEntries(Object.entries(report.skipped).filter(([, n]) => n > 0));
  const skippedTotal = Object.values(skipped).reduce((a, b) => a + b, 0);
  let message = `${source} has no document to ${what} (${report.read} read)`;
  if (skippedTotal > 0) {
    const kinds = Object.entries(skipped)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    const first = report.firstSkipped.map((s) => `${s.code} at ${s.file}:${s.line}: ${s.message}`).join('; ');
    message =
      `${source} has no document to ${what}: ${skippedTotal === 1 ? 'its one document was' : `all ${skippedTotal} documents were`} skipped as invalid (--skip-invalid; ${kinds})` +
      (first === '' ? '' : `; first ${report.firstSkipped.length === 1 ? 'reason' : `${report.firstSkipped.length} reasons`}: ${first}`);
  }
  return new PlaitError('EMPTY_CORPUS', { message, read: report.read, skipped, skippedTotal, firstSkipped: report.firstSkipped });
}
