/**
 * The one table from PlaitError codes to HTTP statuses, and the translation of everything that can
 * go wrong in a request (library errors, Fastify's own validation, body and media-type errors)
 * into `{error: {code, message, details}}`, `details` keys in snake_case (errorBody), or the shape
 * of the API a route imitates (shapeErrorBody: Cohere's, TEI's). A 500 means a real internal fault: anything the client
 * could have caused maps to a 4xx here, and the fuzz test holds the server to that.
 */
import { homedir, tmpdir } from 'node:os';
import { PlaitError, isPlaitError, type ErrorCode } from '../index.js';
import { checkString, describe, noSpaceCode } from '../errors/index.js';
import { integerRange } from '../config/parse-number.js';
import { closestKey } from '../util/option-keys.js';
import { OTHER_APIS_FIELDS, paginationHint } from '../util/other-api-fields.js';
import { snakeKey, snakeKeys } from './snake-keys.js';

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
  MALFORMED_TSV: 400,
  MALFORMED_CSV: 400,
  MALFORMED_FRONT_MATTER: 400,
  MISSING_ID: 400,
  DUPLICATE_ID: 400,
  // Only the TREC run writer throws it (no route writes a run); listed because every code is.
  ID_WHITESPACE: 400,
  INVALID_ID: 400,
  // Only the CLI and the library's file readers meet it (no route reads a file); listed because every code is.
  COMPRESSED_INPUT: 400,
  CORRUPT_INPUT: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  INDEX_NOT_FOUND: 404,
  // explain (or a stored rerank) of a doc_id the index does not hold: a missing document, not a malformed request.
  DOCUMENT_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  INDEX_EXISTS: 409,
  DESTINATION_EXISTS: 409,
  QUERY_TOO_LARGE: 413,
  WRITE_TOO_LARGE: 413,
  ENCODE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Library and CLI codes a request can meet: bad input of the request (400, 404), or a model the
  // server cannot run (a checkpoint plait will not convert or a pickle it refuses: the request's
  // choice of model, so 400, not a fault of the server).
  USAGE: 400,
  EMPTY_CORPUS: 400,
  FILE_NOT_FOUND: 404,
  MODEL_UNSUPPORTED: 400,
  MODEL_UNSAFE: 400,
  // A served index whose folder the server process may not write (a read-only mount, another
  // user's files): the index refuses writes, as Elasticsearch answers 403 for an index's write block.
  NOT_WRITABLE: 403,
  // The index's disk is full: nothing was committed; 507 Insufficient Storage (RFC 4918 §11.5).
  NO_SPACE: 507,
  // Living index: a metadata filter that does not parse is the request's fault; a write lock held by
  // another writer is a conflict the client may retry.
  INVALID_FILTER: 400,
  SYNONYMS_INVALID: 400,
  // Learning to rank: a model the request names that cannot be scored, or a pipeline missing the stage its features need (the request's choice); training is not served.
  LTR_MODEL_INVALID: 400,
  LTR_FEATURE_MISSING: 400,
  LTR_TRAIN_FAILED: 500,
  INDEX_LOCKED: 409,
  INDEX_CHANGED: 409,
  // no_replace and a doc_id already indexed: the body is well formed, the index's state refuses it.
  DOCUMENT_EXISTS: 409,
  // The client went away (or the server is draining): nobody reads this answer, but it is not a fault.
  ABORTED: 503,
  OVERLOADED: 503,
  OFFLINE: 503,
  INDEX_CLOSED: 503,
  CLOSED: 503,
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
  // Only `plait serve`'s start meets it (no request can); listed because every code is.
  ADDRESS_IN_USE: 500,
  // A cluster's coordinator with no NATS server to reach (a shard without replicas is a degraded 200, not this).
  CLUSTER_UNAVAILABLE: 503,
  // A cluster write stored on some shards' logs only (a shard's log refused or did not acknowledge): retry it; its details say which part is where.
  WRITE_PARTIAL: 503,
} satisfies Record<ErrorCode, number> & Record<string, number>;

/**
 * The HTTP status a PlaitError code answers with (HTTP_STATUS); 500 for a code it does not list.
 * Only the table's own keys count: "toString" or "constructor" had answered a function, not a status.
 * @throws PlaitError INVALID_ARGUMENT when `code` is not a string.
 */
export function statusFor(code: string): number {
  checkString('code', code);
  return Object.hasOwn(HTTP_STATUS, code) ? (HTTP_STATUS as Record<string, number>)[code]! : 500;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown>; request_id?: string };
}

/** What Fastify throws on its own (validation, parsing, limits), read structurally. */
interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: { instancePath?: string; message?: string; keyword?: string; params?: Record<string, unknown>; parentSchema?: { type?: unknown; minimum?: unknown; maximum?: unknown; properties?: unknown }; data?: unknown }[];
  validationContext?: string;
}

/**
 * An integer field's refusal (a string such as "0x10" or "16", a fraction, a value out of range)
 * worded as the CLI and the library word theirs, with the field's whole range: "Expected an integer
 * in [1, 10000] for body/top_k but received "0x10"" (ajv alone says "must be integer", or only the
 * bound that failed). JSON numbers such as 1e3 are integers (config/parse-number.ts).
 */
function integerRefusal(where: string, v: NonNullable<FastifyLikeError['validation']>[number], maxTimeoutMs?: number): PlaitError | null {
  const schema = v.parentSchema;
  if (schema?.type !== 'integer' || !['type', 'minimum', 'maximum'].includes(v.keyword ?? '')) return null;
  const min = typeof schema.minimum === 'number' ? schema.minimum : undefined;
  // timeout_ms's upper bound is the server's maxTimeoutMs, not in the schema: named here too, so
  // timeout_ms 0 says [1, max] as 2e9 does (request-work.ts) instead of ">= 1" alone.
  const max = typeof schema.maximum === 'number' ? schema.maximum : where === 'body/timeout_ms' ? maxTimeoutMs : undefined;
  const expected = min !== undefined ? integerRange(min, max) : max !== undefined ? `an integer <= ${max}` : 'an integer';
  return new PlaitError('INVALID_ARGUMENT', {
    message: `Expected ${expected} for ${where} but received ${'data' in v ? describe(v.data) : 'another value'}`,
    field: where,
    keyword: v.keyword,
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
  });
}

/** What a client must send instead: every body-carrying route takes JSON (replies may be msgpack by Accept). */
export const ACCEPTED_BODY_TYPE = 'application/json';

/** 415: names the Content-Type that came (or its absence) and the one to send. */
export function unsupportedMediaType(contentType: string | undefined): PlaitError {
  const came = contentType === undefined || contentType.trim() === '' ? 'no Content-Type' : `Content-Type ${contentType.split(';')[0]!.trim()}`;
  return new PlaitError('UNSUPPORTED_MEDIA_TYPE', {
    message: `the body came with ${came}; send a JSON body with "Content-Type: ${ACCEPTED_BODY_TYPE}"`,
    received: contentType ?? null,
    accepted: [ACCEPTED_BODY_TYPE],
  });
}

/**
 * What a route's body carries, which names its 413: a route declares it in its Fastify config
 * (`config: { bodyKind: 'write' }`); a route that declares none carries a query (search, explain,
 * rerank). test/server-messages.test.ts sends an oversized body to every POST route.
 */
export type BodyKind = 'query' | 'write' | 'encode';

/** Per body kind: its 413 code, what the body is, and what to send less of. */
export const TOO_LARGE: Readonly<Record<BodyKind, { code: ErrorCode; body: string; less: string }>> = {
  query: { code: 'QUERY_TOO_LARGE', body: 'query request', less: 'fewer queries or documents per request' },
  write: { code: 'WRITE_TOO_LARGE', body: 'write', less: 'fewer documents or ids per request' },
  encode: { code: 'ENCODE_TOO_LARGE', body: 'encode request', less: 'fewer texts per request' },
};

/** 413 for a body over the server's byte limit: names what the body was, the limit in bytes and the serve option that sets it. */
export function bodyTooLarge(maxBodyBytes: number | undefined, kind: BodyKind = 'query'): PlaitError {
  const limit = maxBodyBytes === undefined ? 'the server\'s limit' : `the server's limit of ${maxBodyBytes} bytes`;
  const t = TOO_LARGE[kind];
  return new PlaitError(t.code, {
    message: `the ${t.body}'s body is larger than ${limit}; send ${t.less} (the limit is the server operator's: plait serve --max-body-bytes)`,
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  });
}

/**
 * What a refusal of `field` adds when it is another API's pagination field on a route with `top_k`
 * (util/other-api-fields.ts); '' otherwise.
 */
function routePaginationHint(field: string, parentSchema: unknown): string {
  const properties = (parentSchema as { properties?: unknown } | undefined)?.properties;
  if (properties === null || typeof properties !== 'object' || !('top_k' in properties)) return '';
  return paginationHint(field, { offset: 'offset', topK: 'top_k' }, 'offset' in properties);
}

/**
 * The field an unknown one most likely meant, among the properties of the object schema it was
 * refused by (ajv's verbose `parentSchema`): the library's camelCase name of a field (`topK`,
 * `nIvfProbe`, `docId` — the spellings of the README's library examples) → its snake_case field,
 * then another API's name for it (OTHER_APIS_FIELDS: `limit`, `size`, `q`), else the nearest field
 * within a typo or two (`closestKey`, as the library's option checks).
 */
function fieldMeant(field: string, parentSchema: unknown): string | undefined {
  const properties = (parentSchema as { properties?: unknown } | undefined)?.properties;
  if (properties === null || typeof properties !== 'object') return undefined;
  const known = Object.keys(properties);
  const snake = snakeKey(field);
  if (known.includes(snake)) return snake;
  const other = OTHER_APIS_FIELDS[field];
  if (other !== undefined && known.includes(snakeKey(other))) return snakeKey(other);
  // A field's last word alone (`ids` for `doc_ids`, as `plait delete --ids` spells it), too far from
  // it in edits for closestKey: the one field that ends with it (`k` ends top_k and rrf_k: no guess).
  const endsSo = known.filter((k) => k.endsWith(`_${snake}`));
  return closestKey(field, known) ?? (endsSo.length === 1 ? endsSo[0] : undefined);
}

/**
 * For a `required` refusal: the field of the refused object (ajv's verbose `data`) that the missing
 * one was most likely given as (`_id`, `id`, `docId` for doc_id; `docs` for documents; `body` for
 * text: fieldMeant). ajv reports the missing field before the unknown one, so `{"_id": "n1"}` had
 * been only "must have required property 'doc_id'" (trial 12).
 */
function givenAs(missing: string, data: unknown, parentSchema: unknown): string | undefined {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const properties = (parentSchema as { properties?: unknown } | undefined)?.properties;
  const known = properties !== null && typeof properties === 'object' ? properties : {};
  return Object.keys(data).find((k) => !(k in known) && fieldMeant(k, parentSchema) === missing);
}

/**
 * The body fields that belong to one route of an index, and the route: a write's body sent to the
 * search route, or a delete's to the add route, had been told only that the field is unknown
 * ("body must NOT have additional properties (doc_ids)") or that `documents` is missing (trial 13).
 */
const ROUTE_OF_FIELD: Readonly<Record<string, string>> = {
  documents: 'POST /v1/indexes/{name}/documents (add or replace documents)',
  doc_ids: 'POST /v1/indexes/{name}/documents/delete (delete by id, and/or by filter)',
  no_replace: 'POST /v1/indexes/{name}/documents (add or replace documents)',
  query: 'POST /v1/indexes/{name}/search (or /v1/rerank with documents)',
  queries: 'POST /v1/indexes/{name}/search',
};

/**
 * `; "doc_ids" is a field of POST …/documents/delete …` when `field` (given in a body whose schema
 * is `parentSchema`) is a field of another of an index's routes and not of this one; '' otherwise.
 */
function otherRouteHint(field: string, parentSchema: unknown): string {
  const properties = (parentSchema as { properties?: unknown } | undefined)?.properties;
  if (properties === null || typeof properties !== 'object' || field in properties) return '';
  // Documents beside a query (the search route): a rerank's body more likely than a write's.
  const route = field === 'documents' && 'query' in properties ? `POST /v1/rerank (re-rank the documents given for a query) and of ${ROUTE_OF_FIELD[field]!}` : ROUTE_OF_FIELD[field];
  if (route === undefined) return '';
  return `; "${field}" is a field of ${route}, not of this route`;
}

/** otherRouteHint for the first field of a body refused for a missing field (`{"doc_ids": […]}` on the add route). */
function otherRouteFieldOf(data: unknown, parentSchema: unknown): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return '';
  for (const k of Object.keys(data)) {
    const hint = otherRouteHint(k, parentSchema);
    if (hint !== '') return hint;
  }
  return '';
}

/** Whether a refused object's schema is a document's (it has `metadata` beside `text`): its unknown fields belong under metadata. */
function isDocumentSchema(parentSchema: unknown): boolean {
  const properties = (parentSchema as { properties?: unknown } | undefined)?.properties;
  return properties !== null && typeof properties === 'object' && 'metadata' in properties && 'text' in properties;
}

type Validation = NonNullable<FastifyLikeError['validation']>[number];

/**
 * The refusal to report among ajv's errors. A field that takes one of several shapes (`anyOf`:
 * `highlights` true or an options object, `rewrite.synonyms` true or lines) collects one error per
 * branch, the first being the first branch's `type`: `"highlights": {"preTag": "<mark>"}` had been
 * answered "body/highlights must be boolean" (trial 12), not that `preTag` is unknown. The error
 * inside the branch the value has the shape of (any keyword but `type` under the union's path) is
 * the one meant, as is an error deeper in the value (an item of the lines); a value of none of the
 * shapes is told them all ("must be boolean or object").
 */
function unionRefusal(errors: readonly Validation[]): Validation {
  const first = errors[0] ?? {};
  const union = errors.find((x) => x.keyword === 'anyOf');
  if (union === undefined) return first;
  const path = union.instancePath ?? '';
  const inside = errors.find((x) => {
    const at = x.instancePath ?? '';
    return x.keyword !== 'anyOf' && at.startsWith(path) && (at.length > path.length || x.keyword !== 'type');
  });
  if (inside !== undefined) return inside;
  const types = errors.filter((x) => x.keyword === 'type' && (x.instancePath ?? '') === path).map((x) => String(x.params?.['type']));
  return types.length > 1 ? { ...first, message: `must be ${[...new Set(types)].join(' or ')}` } : first;
}

/**
 * Any thrown value → a PlaitError with the right code (unknown throwables become INTERNAL).
 * `maxBodyBytes`, the route's `bodyKind` and `contentType` (of the request) go into the 413 and 415 replies;
 * `maxTimeoutMs` into a refused `timeout_ms`'s range.
 */
export function toPlaitError(err: unknown, maxBodyBytes?: number, contentType?: string, bodyKind: BodyKind = 'query', maxTimeoutMs?: number): PlaitError {
  if (isPlaitError(err)) return err;
  const e = (err ?? {}) as FastifyLikeError;
  if (Array.isArray(e.validation)) {
    const v = unionRefusal(e.validation);
    const where = `${e.validationContext ?? 'body'}${v.instancePath ?? ''}`;
    const integer = integerRefusal(where, v, maxTimeoutMs);
    if (integer !== null) return integer;
    // An invalid enum value names the values the field takes (ajv puts them in params.allowedValues).
    const allowed = v.keyword === 'enum' && Array.isArray(v.params?.allowedValues) ? (v.params.allowedValues as unknown[]) : undefined;
    const missing = v.keyword === 'required' ? String(v.params?.missingProperty) : undefined;
    const given = missing === undefined ? undefined : givenAs(missing, v.data, v.parentSchema);
    const unknownField = v.keyword === 'additionalProperties' ? String(v.params?.additionalProperty) : given;
    const suggestion = given !== undefined ? missing : unknownField === undefined ? undefined : fieldMeant(unknownField, v.parentSchema);
    // A document's field that is neither its id, title, text nor metadata (`"year": 2020`) is metadata the writer meant.
    const unknownHint = unknownField !== undefined && suggestion === undefined && isDocumentSchema(v.parentSchema)
      ? `; a document's own fields go under "metadata": {"metadata": {${JSON.stringify(unknownField)}: …}}`
      : '';
    // A field of another route at the body's root: the route it belongs to (a delete's doc_ids sent to the add route).
    const atRoot = (v.instancePath ?? '') === '';
    const routeHint = !atRoot ? '' : unknownField !== undefined ? otherRouteHint(unknownField, v.parentSchema) : missing !== undefined ? otherRouteFieldOf(v.data, v.parentSchema) : '';
    const extra =
      given !== undefined
        ? `; it has "${given}": did you mean "${missing}"?`
        : unknownField !== undefined
        ? ` (${unknownField})${suggestion === undefined ? routePaginationHint(unknownField, v.parentSchema) + (routeHint !== '' ? routeHint : unknownHint) : `; did you mean "${suggestion}"?`}`
        : routeHint !== ''
        ? routeHint
        : allowed !== undefined
          ? `: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`
          : '';
    return new PlaitError('INVALID_ARGUMENT', {
      message: `${where} ${v.message ?? 'is invalid'}${extra}`,
      field: where,
      keyword: v.keyword,
      ...(unknownField !== undefined ? { unknownField, ...(suggestion === undefined ? {} : { suggestion }) } : {}),
      ...(allowed !== undefined ? { allowedValues: allowed } : {}),
    });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyTooLarge(maxBodyBytes, bodyKind);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType(contentType);
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
    if (status === 413) return bodyTooLarge(maxBodyBytes, bodyKind);
    if (status === 415) return unsupportedMediaType(contentType);
    const code: ErrorCode = status === 404 ? 'NOT_FOUND' : 'INVALID_ARGUMENT';
    return new PlaitError(code, { message: e.message ?? 'bad request' });
  }
  return new PlaitError('INTERNAL', { message: e.message ?? String(err) }, { cause: err });
}

/**
 * A write's failure that is the state of the index's storage, not a fault of the server, worded for
 * the client (no server path): NOT_WRITABLE (403) when the server process may not write the index's
 * folder, NO_SPACE (507) when its disk is full — the write committed nothing either way (the
 * transaction removes what it had written). Both had been a 500 INTERNAL whose detail only the log held.
 * Any other error is returned unchanged.
 */
export function storageRefusal(err: unknown, index: string): unknown {
  if (isPlaitError(err, 'NOT_WRITABLE')) {
    return new PlaitError('NOT_WRITABLE', { message: `index "${index}" is read-only on this server: the server process cannot write to its folder, so searches are served and writes are refused`, index }, { cause: err });
  }
  const code = noSpaceCode(err);
  if (code !== undefined) {
    return new PlaitError('NO_SPACE', { message: `the disk holding index "${index}" is full (${code}): the write committed nothing; free space on the server and retry`, index }, { cause: err });
  }
  return err;
}

/**
 * A client error's body: code, message and details, with any server-local file path replaced by
 * "<path>" (a library message may name an index or model file; a client learns nothing from it).
 * The one door every HTTP error answer goes through (the error handler, the 404 handler, the
 * receive timeout's raw-socket answers): here the library's camelCase `details` keys become the
 * HTTP API's snake_case, deeply (`expectedWaitMs` → `expected_wait_ms`; nested objects and objects in
 * arrays too, `firstSkipped` → `first_skipped`); values, such as a field name a message quotes, are left as they are.
 * The library's PlaitError (and the CLI's `--json`, which prints it) keeps camelCase.
 */
export function errorBody(err: PlaitError, requestId?: string): ErrorBody {
  const j = err.toJSON();
  const details = j.details === undefined ? undefined : (snakeKeys(Object.fromEntries(Object.entries(j.details).filter(([, v]) => v !== undefined).map(([k, v]) => [k, scrubPaths(v)]))) as Record<string, unknown>);
  const error: ErrorBody['error'] = { code: j.code, message: scrubPaths(j.message) };
  if (details !== undefined && Object.keys(details).length > 0) error.details = details;
  if (requestId !== undefined) error.request_id = requestId;
  return { error };
}

/**
 * The error body a route's clients read. `plait` (every route but the rerank routes): `{error: {code, message,
 * details, request_id}}`. `cohere` (/v1/rerank, /v2/rerank): the same plus Cohere's own top-level
 * `message` (Cohere answers `{"message": "invalid request: …"}`), which `@ai-sdk/cohere` reads for
 * its APICallError's message: without it the Vercel AI SDK said only "Bad Request". `tei` (TEI's
 * POST /rerank, and a 404 of any path ending in /rerank or of TEI's other routes): TEI's
 * ErrorResponse, see teiErrorBody.
 */
export type ErrorShape = 'plait' | 'cohere' | 'tei';

/**
 * TEI's error kinds as its server writes them (text-embeddings-inference router/src/lib.rs,
 * `enum ErrorType`, serialised by serde as the variant's name: "Validation", not the lowercase of
 * its OpenAPI examples). TEI's status for each: Unhealthy 503, Backend 424, Overloaded 429,
 * Validation 422, Tokenizer 422, Empty 400 (router/src/http/server.rs, `From<&ErrorType> for
 * StatusCode`); TEI's route answers the same (teiStatus), see teiErrorType.
 */
export type TeiErrorType = 'Unhealthy' | 'Backend' | 'Overloaded' | 'Validation' | 'Tokenizer' | 'Empty';

/**
 * The nearest TEI kind of a plait error code (answered at `status`, the table's unless a raw-socket
 * answer says otherwise: the receive timeout's 408 carries TIMEOUT): EMPTY_TEXT → Empty (TEI's "`texts` cannot be
 * empty"); OVERLOADED (TEI's route answers it 429, teiStatus) and TIMEOUT (504: the work
 * did not finish within its deadline, a retry later may) → Overloaded; a draining or closed server
 * (503, as TEI's) → Unhealthy; TOKENIZER_FAILED → Tokenizer; any other 5xx → Backend (TEI's 424);
 * any other 4xx (400 validation, 401, 404, 408, 413, 415; TEI answers 422, or for 401, 404, 413 and
 * 415 a body that is not JSON at all) → Validation. `status` is plait's; teiStatus says what TEI's route answers.
 */
export function teiErrorType(code: string, status: number = statusFor(code)): TeiErrorType {
  if (status === 408) return 'Validation';
  switch (code) {
    case 'EMPTY_TEXT':
      return 'Empty';
    case 'OVERLOADED':
    case 'TIMEOUT':
      return 'Overloaded';
    case 'OFFLINE':
    case 'CLOSED':
    case 'INDEX_CLOSED':
    case 'ABORTED':
    case 'CLUSTER_UNAVAILABLE':
      return 'Unhealthy';
    case 'TOKENIZER_FAILED':
      return 'Tokenizer';
  }
  return status >= 500 ? 'Backend' : 'Validation';
}

/**
 * TEI's status for each of its kinds (router/src/http/server.rs, `From<&ErrorType> for StatusCode`).
 */
export const TEI_STATUS: Readonly<Record<TeiErrorType, number>> = { Unhealthy: 503, Backend: 424, Overloaded: 429, Validation: 422, Tokenizer: 422, Empty: 400 };

/**
 * The status of an error answered on TEI's route, as TEI answers it, so that a TEI client's
 * handling of each status (huggingface_hub and its users retry 429, and treat 422 as the request's
 * fault) holds: an error of a TEI kind gets that kind's status (TEI_STATUS: a shed request 429
 * where plait's other routes answer 503 — Retry-After is still sent; a refused field, a wrong type,
 * a missing field or too many texts 422 where they answer 400 or 413; TOKENIZER_FAILED 422; a fault
 * of the server's models or workers 424). The refusals TEI leaves to its HTTP layer, outside its
 * ErrorResponse, keep plait's status, which is theirs: a body that is not JSON or not UTF-8 (400,
 * axum's JSON syntax rejection; so a lone surrogate, TEXT_NOT_UTF8), a body over the byte limit
 * (413), a wrong Content-Type (415), a missing key (401), no route (404); so do those TEI has no
 * counterpart for: plait's deadline (504 TIMEOUT) and the receive timeout (408).
 * `parsed`: the error came after the body was parsed (a PlaitError or a schema refusal), not from
 * Fastify's own body reading (413 by bytes, 415, malformed JSON), whose status always stays.
 */
export function teiStatus(code: string, status: number, parsed: boolean): number {
  if (!parsed || code === 'TEXT_NOT_UTF8' || code === 'TIMEOUT' || [401, 404, 408].includes(status)) return status;
  return TEI_STATUS[teiErrorType(code, status)];
}

/**
 * TEI's error body: `error`, the message as a string, and `error_type`, first and as TEI writes
 * them (huggingface_hub, Haystack's TEI ranker and `body.error.includes(…)` read `error` as a
 * string; plait's `{error: {…}}` broke them). Then plait's own fields at the top level, so nothing
 * is lost: `message` (the same string: a Cohere client whose base URL lacks /v2 lands on /rerank and
 * reads it), `code` (the stable PlaitError code), `details` (snake_case) and `request_id`.
 */
export interface TeiErrorBody {
  error: string;
  error_type: TeiErrorType;
  message: string;
  code: string;
  details?: Record<string, unknown>;
  request_id?: string;
}

/** `body` in TEI's shape (see TeiErrorBody), answered at `status` (default: the code's in HTTP_STATUS). */
export function teiErrorBody(body: ErrorBody, status?: number): TeiErrorBody {
  const e = body.error;
  return {
    error: e.message,
    error_type: teiErrorType(e.code, status),
    message: e.message,
    code: e.code,
    ...(e.details === undefined ? {} : { details: e.details }),
    ...(e.request_id === undefined ? {} : { request_id: e.request_id }),
  };
}

/** `body` in the route's error shape (see ErrorShape), answered at `status` (default: the code's in HTTP_STATUS). */
export function shapeErrorBody(body: ErrorBody, shape: ErrorShape = 'plait', status?: number): ErrorBody | CohereErrorBody | TeiErrorBody {
  if (shape === 'tei') return teiErrorBody(body, status);
  return shape === 'cohere' ? { message: body.error.message, ...body } : body;
}

export interface CohereErrorBody extends ErrorBody {
  message: string;
}

/** An internal fault's body: its code and the request id to find the detail in the log, nothing else. */
export function internalErrorBody(code: string, requestId: string): ErrorBody {
  return { error: { code, message: `internal error; the server log has the detail under request id ${requestId}`, request_id: requestId } };
}

/** Absolute paths under the usual filesystem roots, and the process's own directories. */
const PATH_PATTERN = new RegExp(
  [
    ...[process.cwd(), homedir(), tmpdir()].filter((d) => d.length > 1).map((d) => escapeRegExp(d)),
    '/(?:home|tmp|work|usr|var|opt|root|etc|srv|mnt|proc|Users|private|nix|run|data|app)/',
    '[A-Za-z]:\\\\',
  ]
    .map((prefix) => `(?<![\\w.\\-/])${prefix}[^\\s"'\`<>|:]*`)
    .join('|'),
  'g',
);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `v` with every server-local path in its strings replaced by "<path>" (objects and arrays walked). */
export function scrubPaths<T>(v: T): T {
  if (typeof v === 'string') return v.replace(PATH_PATTERN, '<path>') as T;
  if (Array.isArray(v)) return v.map((x: unknown) => scrubPaths(x)) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubPaths(x)])) as T;
  return v;
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
        details: { type: 'object', additionalProperties: true, description: 'structured detail of the error (which depends on the code), every key snake_case at every depth (max_body_bytes, expected_wait_ms, unknown_field); values as the server has them' },
        request_id: { type: 'string', description: 'the request\'s id (also the x-request-id header): the server log has the detail of an internal error under it' },
      },
    },
  },
} as const;

/** The JSON schema of an error reply on the rerank routes: ERROR_SCHEMA plus Cohere's top-level `message`. */
export const COHERE_ERROR_SCHEMA = {
  ...ERROR_SCHEMA,
  required: ['message', 'error'],
  properties: {
    message: { type: 'string', description: 'error.message again, where Cohere\'s clients read it' },
    ...ERROR_SCHEMA.properties,
  },
} as const;

/** The JSON schema of an error reply on TEI's route (see TeiErrorBody). */
export const TEI_ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'error_type', 'message', 'code'],
  properties: {
    error: { type: 'string', description: 'the message (TEI\'s ErrorResponse.error)' },
    error_type: { type: 'string', enum: ['Unhealthy', 'Backend', 'Overloaded', 'Validation', 'Tokenizer', 'Empty'], description: 'the nearest TEI ErrorType, as TEI writes it, answered at TEI\'s status for it (Empty 400, Validation and Tokenizer 422, Overloaded 429 with Retry-After, Backend 424, Unhealthy 503); where TEI\'s HTTP layer answers without a JSON body (a malformed body 400, 401, 404, over the byte limit 413, 415) or has no such case (504 TIMEOUT, Overloaded; 408 receive timeout, Validation) the status is that one' },
    message: { type: 'string', description: 'error again, where Cohere\'s clients read it (plait extension)' },
    code: { type: 'string', description: 'stable plait error code (see the README status table; plait extension)' },
    details: ERROR_SCHEMA.properties.error.properties.details,
    request_id: ERROR_SCHEMA.properties.error.properties.request_id,
  },
} as const;
