/**
 * Builds the Fastify application around an engine: strict JSON parsing (invalid UTF-8 is a 400, not
 * a U+FFFD), schema validation with no type coercion after the lenient pass (lenient-body.ts: null
 * is absent; unknown fields are ignored on the imitated APIs' routes), the bearer-key check,
 * optional CORS, the OpenAPI generator, one plugin per route group, the single error handler that
 * applies the status table, and the request metrics. Listening and shutdown live in lifecycle.ts.
 *
 * Every request gets a random id (`x-request-id` in the reply, `request_id` in error bodies, `reqId`
 * in the log lines). An internal fault answers its code and that id only: the detail (message,
 * stack, file paths) goes to the log, never to the client.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type HTTPMethods } from 'fastify';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import { PlaitError, checkInstance, checkOptions, isPlaitError } from '../errors/index.js';
import { SERVER_DEFAULTS } from '../config/defaults.js';
import { Engine } from './engine.js';
import { errorBody, internalErrorBody, shapeErrorBody, statusFor, teiStatus, toPlaitError, type ErrorShape } from './http-errors.js';
import { IGNORED_FIELDS_HEADER, ignoredFieldsHeader, relaxRequestBody } from './lenient-body.js';
import { TEXT_WARNINGS_HEADER } from './text-checks.js';
import { openapiOptions } from './openapi-document.js';
import { adminRoutes } from './routes/admin.js';
import { documentsRoutes, type ClusterWriteTarget, type ShardReplicaTarget } from './routes/documents.js';
import { encodeRoutes } from './routes/encode.js';
import { indexesRoutes } from './routes/indexes.js';
import { rerankRoutes } from './routes/rerank.js';
import { searchRoutes } from './routes/search.js';
import { explainRoutes } from './routes/explain.js';
import { PLAYGROUND_ROUTES, playgroundRoutes } from './routes/playground.js';
import { clientErrorHandler, installReceiveTimeout } from './receive-timeout.js';
import { logAccess } from './access-log.js';
import { retryAfterSeconds } from './admission-retry.js';
import './fastify-types.js';

/**
 * text-embeddings-inference's routes that plait does not serve (TEI's router/src/http/server.rs:
 * it serves /rerank, /health and /metrics too, which plait does). Their 404 is TEI-shaped and
 * names what plait serves. /v1/embeddings is left out: it is OpenAI's path too, and an OpenAI
 * client reads plait's `{error: {message, code}}`.
 */
const TEI_UNSERVED_ROUTES = new Set(['/embed', '/embed_all', '/embed_sparse', '/predict', '/similarity', '/tokenize', '/decode', '/info', '/vertex']);

/**
 * Cohere's routes other than rerank (cohere-ai's `embed`, `chat`, `generate`, … on v1 and v2): a
 * Cohere client pointed at plait for its rerank and then asked for something else. Their 404 is in
 * Cohere's shape (cohere-ai reads its top-level `message`) and says what plait serves; it had been
 * plait's bare "no route POST /v2/embed", which named neither rerank nor /v1/encode.
 */
const COHERE_UNSERVED_ROUTES = new Set([
  '/v1/embed', '/v2/embed', '/v1/chat', '/v2/chat', '/v1/generate', '/v1/classify', '/v1/tokenize', '/v1/detokenize',
  '/v1/summarize', '/v1/embed-jobs', '/v1/datasets', '/v1/connectors', '/v1/check-api-key',
]);

/**
 * The 404 hint for a known route asked under the wrong version prefix, or '': without it
 * (`GET /indexes` for `/v1/indexes`, `POST /indexes/books/search`), with another (`/v2/encode`), or
 * with one on an unversioned route (`/v1/health`). Those had been a bare "no route GET /indexes".
 * The route is looked for with the request's method first, then GET and POST (the hint names the
 * method it takes), the index name kept as the client wrote it.
 * @param has whether the server has a route (Fastify's hasRoute, by method and URL pattern)
 */
function versionHint(path: string, method: string, has: (method: HTTPMethods, url: string) => boolean): string {
  const bare = path.replace(/^\/v\d+(?=\/|$)/, '').replace(/(.)\/+$/, '$1');
  if (bare === '' || bare === '/') return '';
  const candidates = [...new Set(['/v1', '/v2', ''].map((prefix) => prefix + bare))].filter((c) => c !== path);
  const methods = [...new Set([method.toUpperCase(), 'GET', 'POST'])] as HTTPMethods[];
  for (const m of methods) {
    for (const c of candidates) {
      if (!has(m, c.replace(/^\/v1\/indexes\/[^/]+(?=\/|$)/, '/v1/indexes/:name'))) continue;
      const where = /^\/v\d+\//.test(c) ? `the API's routes are versioned: ${m} ${c}` : `this route has no version prefix: ${m} ${c}`;
      return `; ${where}${m === 'POST' && method.toUpperCase() !== 'POST' ? ' with a JSON body' : ''} (GET /openapi.json lists every route)`;
    }
  }
  return '';
}

/**
 * The error shape of a request no route matched (its 404, or its 401 before that), by the client
 * its path shows. A path ending in /rerank is a rerank client whose base URL is off: with a /v1/
 * or /v2/ segment (`/v1/rerank/rerank`, `/v2/v2/rerank`) a Cohere, Jina or Together client, which
 * reads Cohere's shape (@ai-sdk/togetherai reads `error.message`, cohere-ai and @ai-sdk/cohere the
 * top-level `message`); any other (`/tei/rerank`) a TEI client: TEI's shape, which carries the
 * top-level `message` too. TEI's routes that plait does not serve: TEI's. Else plait's.
 */
function unmatchedShape(path: string): ErrorShape {
  if (/\/rerank\/?$/.test(path)) return /\/v[12]\//.test(path) ? 'cohere' : 'tei';
  const bare = path.replace(/\/$/, '');
  if (COHERE_UNSERVED_ROUTES.has(bare)) return 'cohere';
  return TEI_UNSERVED_ROUTES.has(bare) ? 'tei' : 'plait';
}

/**
 * Answered on a connection past `maxConnections` too (they carry no body): the probes, so that a
 * flood of slow clients does not make Kubernetes restart the server, and /metrics, which shows it.
 */
const PROBE_ROUTES = new Set(['/health', '/ready', '/metrics']);

/** Routes anyone may call without the API key: orchestrators probe these. */
const OPEN_ROUTES = new Set(['/health', '/ready', ...PLAYGROUND_ROUTES]);

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Constant-time comparison of the presented bearer token with the key, or with each of the keys
 * (equal-length digests; every key is compared, so the time does not tell which one matched).
 * The header is `Bearer <key>`, the scheme in any case, then one or more spaces or tabs (RFC 7235's
 * `auth-scheme 1*SP token68`): a client that wrote `Bearer  <key>` had been refused with the right key.
 */
export function keyMatches(header: string | undefined, key: string | readonly string[]): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  const presented = digest(m?.[1] ?? '');
  let found = false;
  for (const k of typeof key === 'string' ? [key] : key) found = timingSafeEqual(presented, digest(k)) || found;
  return found && m !== null;
}

export interface AppOptions {
  /** A coordinator's write log: the document routes publish there instead of committing locally (routes/documents.ts). */
  clusterWrites?: ClusterWriteTarget;
  /** A shard replica's HTTP server (`plait serve <index>/shard-<i> --nats <url> --port <n>`): its document routes refuse writes (routes/documents.ts). */
  shardReplica?: ShardReplicaTarget;
}

/**
 * The Fastify app over `engine`, its routes registered, not listening (serveEngine listens).
 * @throws PlaitError INVALID_ARGUMENT when `engine` is not an Engine or `appOptions` not an object.
 */
export async function createApp(engine: Engine, appOptions: AppOptions = {}): Promise<FastifyInstance> {
  checkInstance('engine', engine, Engine, 'an Engine (from openEngine, openCoordinatorEngine or new Engine)');
  checkOptions('appOptions', appOptions);
  const o = engine.options;
  const app = Fastify({
    logger: o.logLevel === false ? false : { level: o.logLevel, ...(o.logDestination === undefined ? {} : { stream: o.logDestination }) },
    bodyLimit: o.maxBodyBytes,
    return503OnClosing: true,
    // Headers must arrive within receiveTimeoutMs (Fastify's default, 0, set no limit); Node answers
    // 408 and closes the socket. The body's limit is receive-timeout.ts's (Node's stops at the headers).
    requestTimeout: o.receiveTimeoutMs,
    http: { connectionsCheckingInterval: SERVER_DEFAULTS.connectionsCheckingIntervalMs },
    clientErrorHandler: clientErrorHandler(o.receiveTimeoutMs),
    // The proxies whose X-Forwarded-For names the client (request.ip, the access line's remoteAddress).
    ...(o.trustProxy === undefined ? {} : { trustProxy: o.trustProxy }),
    forceCloseConnections: 'idle',
    // Ids are ours (never a client's header): they name a log line, so they must be unique.
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    // One access line a request, written on response (onResponse below): Fastify's own pair
    // ('incoming request', then 'request completed' holding only the id, status and time) made an
    // operator join two lines to learn which route answered what.
    // (Through a LogController: Fastify 5.12 deprecated the top-level option, with a warning on stderr at every start.)
    logController: new LogController({ disableRequestLogging: true }),
    // verbose: errors carry the failing field's schema and value, so that an integer field's
    // refusal names its whole range and what came (http-errors.ts integerRefusal).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, allowUnionTypes: true, verbose: true } },
  });
  app.decorate('engine', engine);
  // A body that does not arrive whole within receiveTimeoutMs: 408 and the connection closed (receive-timeout.ts).
  installReceiveTimeout(app, o.receiveTimeoutMs, engine.metrics);

  // Bodies are parsed from bytes: strict UTF-8 first (Node would silently substitute U+FFFD), then
  // Fastify's own JSON parser (which refuses __proto__ poisoning).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body as Buffer);
    } catch {
      done(new PlaitError('TEXT_NOT_UTF8', { message: 'the request body is not valid UTF-8' }), undefined);
      return;
    }
    jsonParser(request, text, done);
  });
  // Fastify parses text/plain bodies into a string by default, which then failed validation as
  // "body must be object"; every route takes JSON, so text/plain is a 415 like any other type.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err, request, reply) => {
    const e = toPlaitError(err, o.maxBodyBytes, request.headers['content-type'], request.routeOptions.config?.bodyKind, o.maxTimeoutMs);
    const status = statusFor(e.code);
    const route = request.routeOptions.url ?? 'unmatched';
    if (e.code === 'OVERLOADED') {
      // When the refused request would be let in if sent again (admission's retryAfterMs), in whole
      // seconds, with a bounded jitter (admission-retry.ts): not sooner, or it is refused again; not
      // the whole expected wait, or the encoder idles before it is back.
      const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
      // An OVERLOADED that says only its expected wait (none of admission's) is told that wait.
      const waitMs = num(e.details?.expectedWaitMs);
      const seconds = retryAfterSeconds(num(e.details?.retryAfterMs) ?? waitMs, num(e.details?.retryLatestMs) ?? waitMs, { minSeconds: o.retryAfterSeconds, jitterSeconds: SERVER_DEFAULTS.retryAfterJitterSeconds });
      void reply.header('retry-after', String(seconds));
      engine.metrics.shed.inc({ route });
    }
    if (e.code === 'TIMEOUT') engine.metrics.timedOut.inc({ route });
    if (e.code === 'UNAUTHORIZED') void reply.header('www-authenticate', 'Bearer');
    // A 500 is a fault worth an error line; sheds, deadlines and hang-ups are the normal weather of a
    // loaded server. A fault's detail stays in the log: the client gets its code and the request id.
    // A full disk (507) is no fault of the server's code either, but an operator must act: a warning.
    const fault = status >= 500 && status !== 503 && status !== 504 && status !== 507;
    if (fault) request.log.error({ err, code: e.code }, 'request failed');
    else if (status === 507) request.log.warn({ code: e.code, err }, 'request not served: disk full');
    else if (status >= 503) request.log.info({ code: e.code }, 'request not served');
    const shape = request.errorShape ?? (request.routeOptions.url === undefined ? unmatchedShape(request.url.split('?')[0]!) : request.routeOptions.config?.errorShape);
    // TEI's route answers TEI's status for each kind (429 for a shed request, 422 for a refused field,
    // http-errors.ts teiStatus); a refusal of Fastify's own body reading (413 by bytes, 415, malformed JSON) keeps its status.
    const parsed = isPlaitError(err) || Array.isArray((err as { validation?: unknown } | null)?.validation);
    void reply.code(shape === 'tei' ? teiStatus(e.code, status, parsed) : status).send(shapeErrorBody(fault ? internalErrorBody(e.code, request.id) : errorBody(e, request.id), shape));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    // A route asked with another method (a search by GET with a query string) names the method it takes.
    const pattern = path.replace(/^\/v1\/indexes\/[^/]+(?=\/|$)/, '/v1/indexes/:name');
    const takes = ['POST', 'GET'].find((method) => method !== request.method && app.hasRoute({ method, url: pattern }));
    // A path ending in /rerank is a rerank client whose base URL is off (`<server>/v2/rerank`, or cohere-ai's
    // environment `<server>/v2`): the message names the routes and how each client's base URL reaches them.
    // Answered in the shape its client reads (unmatchedShape: Cohere's with its top-level `message`, or
    // TEI's): the AI SDK had said only "Not Found", and a TEI client reads `error` as a string.
    // (A route asked with the wrong method keeps plait's shape: no rerank client sends GET.)
    const rerankClient = takes === undefined && /\/rerank\/?$/.test(path);
    // TEI's other routes, which plait does not serve: a TEI client is told what plait does serve.
    const teiRoute = TEI_UNSERVED_ROUTES.has(path.replace(/\/$/, ''));
    // Cohere's other routes (embed, chat, …): a Cohere client is told what plait serves of Cohere's API.
    const cohereRoute = COHERE_UNSERVED_ROUTES.has(path.replace(/\/$/, ''));
    // A REST guess at documents (`DELETE …/documents/n1`, `GET …/documents/n1`, `DELETE …/documents`):
    // writes take a batch by POST (a DELETE must not be told that …/documents "takes POST": that adds),
    // and no route reads a document by id, so the message says what does.
    const documentGuess = (takes === undefined || request.method === 'DELETE') && /^\/v1\/indexes\/[^/]+\/documents(\/[^/]+)?\/?$/.test(path);
    const hint = documentGuess
      ? `; documents are added or replaced by POST ${path.replace(/\/documents.*$/, '/documents')} {"documents":[{"doc_id",…}]} and deleted by POST ${path.replace(/\/documents.*$/, '/documents/delete')} {"doc_ids":[…]}; no route reads one document by id (a search with include_text returns the stored title, text and metadata)`
      : takes !== undefined
        ? `; it takes ${takes}${takes === 'POST' ? ' with a JSON body' : ''}`
        : rerankClient
          ? `; rerank is POST /v1/rerank or /v2/rerank (Cohere's shape; @ai-sdk/cohere: baseURL <server>/v2, cohere-ai: environment <server>, @ai-sdk/togetherai: baseURL <server>/v1, LlamaIndex's CohereRerank: baseUrl <server>; Jina's shape on /v1/rerank) or POST /rerank (TEI's)`
          : teiRoute
            ? `; of text-embeddings-inference's API plait serves POST /rerank only (and GET /health, /metrics); ColBERT token embeddings are POST /v1/encode (plait's own shape, not TEI's /embed), search is POST /v1/indexes/:name/search; GET /openapi.json lists every route`
            : cohereRoute
              ? `; of Cohere's API plait serves rerank only (POST /v1/rerank, /v2/rerank; cohere-ai: environment <server>); ColBERT token embeddings are POST /v1/encode (plait's own shape, not Cohere's embed), search is POST /v1/indexes/:name/search; GET /openapi.json lists every route`
              : versionHint(path, request.method, (method, url) => app.hasRoute({ method, url }));
    void reply.code(404).send(shapeErrorBody(errorBody(new PlaitError('NOT_FOUND', { message: `no route ${request.method} ${path}${hint}` }), request.id), takes === undefined ? unmatchedShape(path) : 'plait'));
  });

  // "*" among the origins allows any; @fastify/cors reads "*" so only as the whole option, not in a list.
  // Registered before the API-key hook, so that its onRequest hook runs first and a 401 carries the
  // CORS headers too (a browser had seen an opaque CORS failure instead of plait's message). The
  // headers plait answers with are exposed, so a page's script can read Retry-After on a 503 and
  // the request id (browsers hide every response header but a few without this).
  if (o.corsOrigins.length > 0) {
    await app.register(cors, { origin: o.corsOrigins.includes('*') ? '*' : o.corsOrigins, exposedHeaders: ['x-request-id', 'retry-after', IGNORED_FIELDS_HEADER, TEXT_WARNINGS_HEADER] });
  }
  // (After CORS, so that the 503 carries its headers; before the key check, so that it costs no digest.)
  // Connections past maxConnections (counted as they open and close): their requests are answered
  // 503 OVERLOADED before any body is read, and the connection is closed. Each open connection may
  // buffer up to maxBodyBytes for receiveTimeoutMs, so this bounds what slow clients can pin
  // (3,000 clients trickling 60 KB each had grown the server by 190 MB; nothing bounded it).
  const overLimit = new WeakSet<object>();
  if (o.maxConnections > 0) {
    let open = 0;
    app.server.prependListener('connection', (socket: Socket) => {
      open++;
      engine.metrics.openConnections.inc();
      if (open > o.maxConnections) overLimit.add(socket);
      socket.once('close', () => {
        open--;
        engine.metrics.openConnections.dec();
      });
    });
  }
  app.addHook('onRequest', async (request, reply) => {
    if (!overLimit.has(request.raw.socket) || PROBE_ROUTES.has(request.routeOptions.url ?? '')) return;
    void reply.header('connection', 'close');
    throw new PlaitError('OVERLOADED', { message: `the server holds its limit of ${o.maxConnections} open connections (--max-connections): this connection is closed; retry on a new one`, maxConnections: o.maxConnections, reason: 'connections' });
  });

  app.addHook('onRequest', async (request) => {
    // CORS preflights carry no credentials by design; the request that follows them does.
    if (o.apiKeys.length === 0 || request.method === 'OPTIONS' || OPEN_ROUTES.has(request.routeOptions.url ?? '')) return;
    if (!keyMatches(request.headers.authorization, o.apiKeys)) throw new PlaitError('UNAUTHORIZED', { message: 'send "Authorization: Bearer <key>" with the server\'s API key' });
  });
  app.addHook('preValidation', relaxRequestBody);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // Draining: Node's server.close() closes the connections idle at that moment only; a keep-alive
    // connection whose request was in flight would stay open (keepAliveTimeout, 72 s) after its
    // answer and hold the drain to its timeout. `Connection: close` makes Node close it once answered.
    if (engine.isDraining) void reply.header('connection', 'close');
    if (request.ignoredFields !== undefined) void reply.header(IGNORED_FIELDS_HEADER, ignoredFieldsHeader(request.ignoredFields));
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    engine.metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    engine.metrics.duration.observe({ route }, reply.elapsedTime / 1000);
    logAccess(request, route, reply.statusCode, reply.elapsedTime);
  });

  await app.register(swagger, openapiOptions(o));
  await app.register(adminRoutes);
  await app.register(indexesRoutes);
  await app.register(searchRoutes);
  await app.register(rerankRoutes);
  await app.register(encodeRoutes);
  await app.register(explainRoutes);
  await app.register(documentsRoutes, { cluster: appOptions.clusterWrites, shardReplica: appOptions.shardReplica });
  await app.register(playgroundRoutes);
  return app;
}
