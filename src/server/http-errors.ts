/**
 * The one table from PlaitError codes to HTTP statuses, and the translation of everything that can
 * go wrong in a request (library errors, Fastify's own validation, body and media-type errors)
 * into `{error: {code, message, details}}`. A 500 means a real internal fault: anything the client
 * could have caused maps to a 4xx here, and the fuzz test holds the server to that.
 */
import { PlaitError, isPlaitError, type ErrorCode } from '../index.js';

/**
 * HTTP status by error code. Every library code is listed (the `satisfies` makes a new code a
 * compile error until it is placed); INDEX_CLOSED is listed ahead of the engine branch that adds it.
 */
export const HTTP_STATUS = {
  INVALID_ARGUMENT: 400,
  INVALID_INPUT: 400,
  EMPTY_TEXT: 400,
  TEXT_NOT_UTF8: 400,
  MALFORMED_JSONL: 400,
  MISSING_ID: 400,
  DUPLICATE_ID: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  INDEX_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  INDEX_EXISTS: 409,
  QUERY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Library and CLI codes a request can meet: bad input of the request (400, 404), or a model the
  // server cannot run (a checkpoint plait will not convert or a pickle it refuses: the request's
  // choice of model, so 400, not a fault of the server).
  USAGE: 400,
  EMPTY_CORPUS: 400,
  FILE_NOT_FOUND: 404,
  MODEL_UNSUPPORTED: 400,
  MODEL_UNSAFE: 400,
  NOT_WRITABLE: 500,
  // Living index: a metadata filter that does not parse is the request's fault; a write lock held by
  // another writer is a conflict the client may retry.
  INVALID_FILTER: 400,
  // Learning to rank: a model the request names that cannot be scored, or a pipeline missing the stage its features need (the request's choice); training is not served.
  LTR_MODEL_INVALID: 400,
  LTR_FEATURE_MISSING: 400,
  LTR_TRAIN_FAILED: 500,
  INDEX_LOCKED: 409,
  // The client went away (or the server is draining): nobody reads this answer, but it is not a fault.
  ABORTED: 503,
  OVERLOADED: 503,
  OFFLINE: 503,
  INDEX_CLOSED: 503,
  TIMEOUT: 504,
  // Faults of the server's own models, indexes, workers or storage.
  DIMENSION_MISMATCH: 500,
  MODEL_FILE_MISSING: 500,
  MODEL_LOAD_FAILED: 500,
  MODEL_MISMATCH: 500,
  TOKENIZER_FAILED: 500,
  ENCODE_FAILED: 500,
  DOWNLOAD_FAILED: 502,
  DOWNLOAD_CORRUPT: 502,
  INDEX_CORRUPT: 500,
  INDEX_VERSION: 500,
  BUILD_FAILED: 500,
  NATIVE_UNAVAILABLE: 500,
  WORKER_FAILED: 500,
  DOCSTORE_FAILED: 500,
  INTERNAL: 500,
} satisfies Record<ErrorCode, number> & Record<string, number>;

export function statusFor(code: string): number {
  return (HTTP_STATUS as Record<string, number>)[code] ?? 500;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** What Fastify throws on its own (validation, parsing, limits), read structurally. */
interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: { instancePath?: string; message?: string; keyword?: string; params?: Record<string, unknown> }[];
  validationContext?: string;
}

/** Any thrown value → a PlaitError with the right code (unknown throwables become INTERNAL). */
export function toPlaitError(err: unknown): PlaitError {
  if (isPlaitError(err)) return err;
  const e = (err ?? {}) as FastifyLikeError;
  if (Array.isArray(e.validation)) {
    const v = e.validation[0] ?? {};
    const where = `${e.validationContext ?? 'body'}${v.instancePath ?? ''}`;
    const extra = v.keyword === 'additionalProperties' ? ` (${String(v.params?.additionalProperty)})` : '';
    return new PlaitError('INVALID_ARGUMENT', {
      message: `${where} ${v.message ?? 'is invalid'}${extra}`,
      field: where,
      keyword: v.keyword,
      ...(v.keyword === 'additionalProperties' ? { unknownField: v.params?.additionalProperty } : {}),
    });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PlaitError('QUERY_TOO_LARGE', { message: 'the request body is larger than the server accepts' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PlaitError('UNSUPPORTED_MEDIA_TYPE', { message: e.message ?? 'unsupported Content-Type' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PlaitError('INVALID_ARGUMENT', { message: 'the JSON body is empty' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_BAD_URL':
      return new PlaitError('INVALID_ARGUMENT', { message: e.message ?? 'malformed request' });
  }
  // JSON.parse (SyntaxError) and secure-json-parse's prototype-poisoning refusal arrive with a 400.
  if (err instanceof SyntaxError || (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)) {
    const status = e.statusCode ?? 400;
    const code: ErrorCode = status === 413 ? 'QUERY_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 404 ? 'NOT_FOUND' : 'INVALID_ARGUMENT';
    return new PlaitError(code, { message: e.message ?? 'bad request' });
  }
  return new PlaitError('INTERNAL', { message: e.message ?? String(err) }, { cause: err });
}

export function errorBody(err: PlaitError): ErrorBody {
  const j = err.toJSON();
  const details = j.details === undefined ? undefined : Object.fromEntries(Object.entries(j.details).filter(([, v]) => v !== undefined));
  return { error: details === undefined || Object.keys(details).length === 0 ? { code: j.code, message: j.message } : { code: j.code, message: j.message, details } };
}

/** The JSON schema of an error reply (for the OpenAPI document). */
export const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable error code (see the README status table)' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;
