export { openCorpus, SKIP_REASON_CODES, CORPUS_READER_OPTION_KEYS, corpusReaderOptionsOf, isDocumentList } from './read-corpus.js';
export { countDocuments } from './count-documents.js';
export { emptyCorpusError } from './empty-corpus.js';
export { fieldsToRecord, withRecordedFields } from './recorded-fields.js';
export { detectFileFormat, resolveCorpusInput, checkCorpusInput } from './resolve-input.js';
export type { ResolvedCorpusInput } from './resolve-input.js';
export type { CorpusDocument, CorpusDocumentInput, CorpusFormat, CorpusInput, CorpusReadReport, CorpusReader, CorpusReaderOptions, CorpusWarning, IgnoredField, SkippedDocument } from './types.js';
