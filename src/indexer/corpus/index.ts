export { openCorpus } from './read-corpus.js';
export { countDocuments } from './count-documents.js';
export { detectFileFormat, resolveCorpusInput } from './resolve-input.js';
export type { ResolvedCorpusInput } from './resolve-input.js';
export type { CorpusDocument, CorpusFormat, CorpusInput, CorpusReadReport, CorpusReader, CorpusReaderOptions, CorpusWarning, IgnoredField } from './types.js';
