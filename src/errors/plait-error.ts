/**
 * One error class for the whole engine. Every error carries a stable `code` (part of the public
 * API: callers and the HTTP server switch on it), a message built from the template table below,
 * optional structured `details`, and `cause` when wrapping a lower-level failure.
 */

export const ERROR_TEMPLATES = {
  INVALID_ARGUMENT: 'Invalid argument: {message}',
  INVALID_INPUT: 'Invalid input: {message}',
  EMPTY_TEXT: 'Empty text: {message}',
  TEXT_NOT_UTF8: 'Text is not valid UTF-8: {message}',
  MALFORMED_JSONL: 'Malformed JSONL in {file} at line {line}: {message}',
  MALFORMED_TSV: 'Malformed TSV in {file} at line {line}: {message}',
  // A CSV corpus's header (no id or text column, a nameless or repeated column, an unknown type), a row of the wrong width, a typed cell not of its type, or quoting that does not parse: skip reason `malformedCsv`.
  MALFORMED_CSV: 'Malformed CSV in {file} at line {line}: {message}',
  // A Markdown file's YAML front matter that does not parse, or is not a mapping of keys (its metadata): the corpus reader's skip reason `malformedFrontMatter`.
  MALFORMED_FRONT_MATTER: 'Malformed front matter in {file} at line {line}: {message}',
  MISSING_ID: 'Missing id in {file} at line {line}: {hint}',
  DUPLICATE_ID: 'Duplicate id "{id}" in {file} at line {line}',
  DIMENSION_MISMATCH: 'Dimension mismatch: expected {expected} but received {received}',
  MODEL_NOT_FOUND: 'Model not found: {message}',
  MODEL_FILE_MISSING: 'Model file missing: {message}',
  MODEL_LOAD_FAILED: 'Model failed to load: {message}',
  MODEL_MISMATCH: 'Model mismatch: {message}',
  TOKENIZER_FAILED: 'Tokenizer failed: {message}',
  ENCODE_FAILED: 'Encoding failed: {message}',
  DOWNLOAD_FAILED: 'Download failed: {message}',
  DOWNLOAD_CORRUPT: 'Downloaded file failed verification: {message}',
  OFFLINE: 'Offline: {message}',
  INDEX_NOT_FOUND: 'Index not found: {message}',
  INDEX_CORRUPT: 'Index is corrupt: {message}',
  INDEX_VERSION: 'Unsupported index format: {message}',
  INDEX_EXISTS: 'Index already exists: {message}',
  BUILD_FAILED: 'Index build failed: {message}',
  NATIVE_UNAVAILABLE: 'Native kernels unavailable: {message}',
  // Too large (HTTP 413), named by what was too large: a query request (search, explain, rerank; also the encoder's per-text limit, which any text meets), a write (documents, doc_ids), an encode request.
  QUERY_TOO_LARGE: 'Request too large: {message}',
  WRITE_TOO_LARGE: 'Write too large: {message}',
  ENCODE_TOO_LARGE: 'Encode request too large: {message}',
  ABORTED: 'Aborted: {message}',
  TIMEOUT: 'Timed out: {message}',
  WORKER_FAILED: 'Worker failed: {message}',
  DOCSTORE_FAILED: 'Document store failed: {message}',
  INTERNAL: 'Internal error: {message}',
  INDEX_CLOSED: 'Index is closed: {message}',
  // A Reranker, encoder or cross-encoder used after its close(): the caller's own object, not a bad argument (it had been INVALID_ARGUMENT).
  CLOSED: 'Closed: {message}',
  EMPTY_CORPUS: 'Empty corpus: {message}',
  // CLI and files (issue 8): a path that does not exist, an output that cannot be written, a command line commander refused.
  FILE_NOT_FOUND: 'File not found: {message}',
  NOT_WRITABLE: 'Cannot write: {message}',
  // The disk (or quota) holding an index is full: a write committed nothing (HTTP 507, the server's translation of ENOSPC, EDQUOT, SQLITE_FULL).
  NO_SPACE: 'No space left: {message}',
  USAGE: 'Usage: {message}',
  MODEL_UNSUPPORTED: 'Model not supported: {message}',
  MODEL_UNSAFE: 'Model file refused: {message}',
  OVERLOADED: 'Overloaded: {message}',
  UNAUTHORIZED: 'Unauthorized: {message}',
  NOT_FOUND: 'Not found: {message}',
  // A document id the index does not hold, where one must be (explain, rerank of stored documents): HTTP 404, as every search API answers a missing document.
  DOCUMENT_NOT_FOUND: 'Document not found: {message}',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type: {message}',
  // Living index (issue 12): a second writer while one holds the index's write lock; a metadata filter that is not valid.
  INDEX_LOCKED: 'Index is locked: {message}',
  INVALID_FILTER: 'Invalid filter: {message}',
  // Query rewriting (issue 26): a synonyms file that is not in Solr's format.
  SYNONYMS_INVALID: 'Invalid synonyms file: {message}',
  // One door into an index folder (issue 20): a change measured on a generation that is no longer the committed one.
  INDEX_CHANGED: 'Index changed: {message}',
  // Server start (issue 27): the address to listen on is taken by another process.
  ADDRESS_IN_USE: 'Address in use: {message}',
  // Learning to rank (issue 25, src/ltr/): a model file plait cannot score; a feature the model needs that the pipeline does not produce; XGBoost missing or failing in training.
  LTR_MODEL_INVALID: 'Invalid ranking model: {message}',
  LTR_FEATURE_MISSING: 'Ranking feature missing: {message}',
  LTR_TRAIN_FAILED: 'Ranking model training failed: {message}',
  // The cluster (issue 24, src/cluster/): the NATS server cannot be reached, or no shard answers.
  CLUSTER_UNAVAILABLE: 'Cluster unavailable: {message}',
  // A new folder's destination (backup, index --index, cluster fetch) holds a file or a folder that is not an index.
  DESTINATION_EXISTS: 'Destination exists: {message}',
  // An id holding white space where the format written cannot carry it: a TREC run line (`qid Q0 docid rank score tag`, split on white space; eval/run.ts formatRun, the one door that refuses it). Ids with spaces are accepted everywhere else (issue: note file names).
  ID_WHITESPACE: 'Invalid id: {message}',
  // A document id that no line-based file could name again: a control character or line break in it, or white space at an end (indexer/corpus/document-id.ts; `details.reason`). The corpus reader's skip reason `invalidId`, and every other write door's refusal (checkDocument).
  INVALID_ID: 'Invalid id: {message}',
  // An input file (corpus, queries, qrels, run, id list, documents, query log; util/input-bytes.ts) in a compression plait does not read (zip, bzip2, xz, zstd; gzip is read): read as UTF-8 it had been garbage.
  COMPRESSED_INPUT: 'Compressed input: {message}',
  // A gzip'd input file that does not decompress to its end (truncated, a bad CRC): refused whole, never read as the part before the fault.
  CORRUPT_INPUT: 'Corrupt input: {message}',
  // An added document whose id is already indexed, under noReplace (no_replace, --no-replace): a conflict with the index's state (HTTP 409), not malformed input like DUPLICATE_ID (an id twice in one input).
  DOCUMENT_EXISTS: 'Document exists: {message}',
  // A cluster write whose part was stored on some shards' write logs and not on others (src/cluster/partial-write.ts): `details` name the shards and ids of each; sending it again converges.
  WRITE_PARTIAL: 'Write partly stored: {message}',
} as const;

export type ErrorCode = keyof typeof ERROR_TEMPLATES;

export type ErrorDetails = Record<string, unknown>;

function render(template: string, params: ErrorDetails): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = params[key];
    return value === undefined ? `{${key}}` : String(value);
  });
}

export class PlaitError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, params: ErrorDetails & { message?: string } = {}, options: { cause?: unknown } = {}) {
    // A code that is not plait's had rendered nothing ("Cannot read properties of undefined (reading 'replace')").
    if (!Object.hasOwn(ERROR_TEMPLATES, code)) throw invalidArgument('code', "one of plait's error codes (a key of ERROR_TEMPLATES)", code);
    super(render(ERROR_TEMPLATES[code], params), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PlaitError';
    this.code = code;
    const { message: _ignored, ...rest } = params;
    this.details = Object.keys(rest).length > 0 ? rest : undefined;
  }

  toJSON(): { code: ErrorCode; message: string; details?: ErrorDetails } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Shorthand for the most common failure: a bad argument, phrased "Expected X for NAME but received Y". */
export function invalidArgument(name: string, expected: string, received: unknown): PlaitError {
  return new PlaitError('INVALID_ARGUMENT', {
    message: `Expected ${expected} for ${name} but received ${describe(received)}`,
    name,
  });
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return Object.prototype.toString.call(value).slice(8, -1);
}

/** Whether `value` is one of plait's error codes (a key of ERROR_TEMPLATES), not Node's (`ERR_MODULE_NOT_FOUND`) or another library's. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_TEMPLATES, value);
}

/**
 * A coded error thrown in a worker thread (it arrives as a plain Error): the PlaitError of that code
 * when the code is plait's (`message` already carries its template's words), else ENCODE_FAILED
 * naming the foreign code (`details.cause`). A worker's `ERR_MODULE_NOT_FOUND` had become a PlaitError
 * whose `code` was no ErrorCode, which a caller's `switch (e.code)` could not meet.
 */
export function workerCodedError(code: string, message: string, cause: unknown): PlaitError {
  if (isErrorCode(code)) return Object.assign(new PlaitError('ENCODE_FAILED', { message }, { cause }), { code });
  return new PlaitError('ENCODE_FAILED', { message: `${code}: ${message}`, cause: code }, { cause });
}

/**
 * `e` with `more` appended to what it says and `details` added, same code: the message without its
 * template's words ("Timed out: "), which the new error renders again, so they are not doubled.
 */
export function extendedError(e: PlaitError, more: string, details: ErrorDetails = {}): PlaitError {
  const prefix = ERROR_TEMPLATES[e.code].split('{message}')[0]!;
  const said = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return new PlaitError(e.code, { ...e.details, ...details, message: `${said}${more}` }, { cause: e });
}

export function isPlaitError(e: unknown, code?: ErrorCode): e is PlaitError {
  return e instanceof PlaitError && (code === undefined || e.code === code);
}

/**
 * An `options.signal` as a caller gave it: undefined, or an AbortSignal (anything with a boolean
 * `aborted` and `addEventListener`, so another realm's signal or a polyfill's passes). Anything
 * else — a string, a plain object, null — is refused: a write had ignored it and committed, a
 * search had failed with a bare TypeError from deep inside.
 * @throws PlaitError INVALID_ARGUMENT ("Expected an AbortSignal for signal but received ...").
 */
export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  const s = value as { aborted?: unknown; addEventListener?: unknown } | null;
  if (typeof s === 'object' && s !== null && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function') return value as AbortSignal;
  throw invalidArgument(name, 'an AbortSignal', value);
}

/**
 * The PlaitError an aborted signal stands for, for work that takes an optional `signal` (writes,
 * encoding): the signal's own reason when it is a PlaitError (the server's TIMEOUT, a drain's
 * INDEX_CLOSED), TIMEOUT for `AbortSignal.timeout()`'s TimeoutError, else ABORTED
 * (`controller.abort()`'s AbortError); `message` and the reason as `cause` either way.
 */
export function abortedBy(signal: AbortSignal, message: string): PlaitError {
  const reason: unknown = signal.reason;
  if (reason instanceof PlaitError) return reason;
  const timedOut = (reason as { name?: unknown } | null | undefined)?.name === 'TimeoutError';
  return new PlaitError(timedOut ? 'TIMEOUT' : 'ABORTED', { message }, { cause: reason });
}
