/**
 * A fast document count for progress bars and ETAs: non-blank lines (less a TSV header), or the
 * number of files for a folder. Exact for well-formed input; bad lines are counted too.
 */

import { countNonBlankLines } from './line-reader.js';
import { firstLine, resolveCorpusInput } from './resolve-input.js';
import { looksLikeTsvHeader } from './tsv-parser.js';
import type { CorpusInput, CorpusReaderOptions } from './types.js';
import { CORPUS_READER_OPTION_KEYS } from './read-corpus.js';
import { checkOptionKeys } from '../../util/option-keys.js';

export async function countDocuments(input: CorpusInput, options: CorpusReaderOptions = {}): Promise<number> {
  checkOptionKeys(options, CORPUS_READER_OPTION_KEYS, 'corpus reader option');
  const { files, format } = await resolveCorpusInput(input, options.format);
  if (format === 'folder') return files.length;
  let total = 0;
  for (const file of files) {
    total += await countNonBlankLines(file);
    if (format === 'tsv' && (options.tsvHeader ?? looksLikeTsvHeader(await firstLine(file)))) total--;
  }
  return Math.max(0, total);
}
