/**
 * A fast document count for progress bars and ETAs: non-blank lines (less a TSV header), CSV rows
 * (a row may span lines: csv-parser.ts scanCsv; less the header), or the number of files for a
 * folder. Exact for well-formed input; bad lines are counted too.
 */

import { countNonBlankLines } from './line-reader.js';
import { firstLine, resolveCorpusInput } from './resolve-input.js';
import { looksLikeTsvHeader } from './tsv-parser.js';
import { scanCsv } from './csv-parser.js';
import type { CorpusInput, CorpusReaderOptions } from './types.js';
import { CORPUS_READER_OPTION_KEYS } from './read-corpus.js';
import { checkOptionKeys } from '../../util/option-keys.js';

export async function countDocuments(input: CorpusInput, options: CorpusReaderOptions = {}): Promise<number> {
  checkOptionKeys(options, CORPUS_READER_OPTION_KEYS, 'corpus reader option');
  const { files, format } = await resolveCorpusInput(input, options.format);
  if (format === 'folder') return files.length;
  let total = 0;
  for (const file of files) {
    if (format === 'csv') {
      total += Math.max(0, (await scanCsv(file)).rows - 1);
      continue;
    }
    total += await countNonBlankLines(file);
    if (format === 'tsv' && (options.tsvHeader ?? looksLikeTsvHeader(await firstLine(file)))) total--;
  }
  return Math.max(0, total);
}
