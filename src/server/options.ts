/**
 * Server options: `ServerOptions` is what a caller (or `plait serve`) gives, all optional;
 * `resolveServerOptions` fills in SERVER_DEFAULTS, refuses misspelt names, and validates every
 * value (better-sqlite3's four steps: defaults, arguments, interpretation, result).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { PlaitError, checkArray, checkFunction, checkNonEmptyString, checkShape, checkString, checkStringArray, invalidArgument as invalidArgumentError } from '../errors/index.js';
import { SERVER_DEFAULTS, THREAD_LIMITS } from '../config/defaults.js';
import { MAX_TIMER_MS } from '../search/deadline.js';
import { readSynonyms, type SynonymMap } from '../rewrite/synonyms.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { resolveScoringWorkers } from '../search/scoring-workers.js';

/** Scoring workers when 'auto' (search/scoring-workers.ts, shared with openIndex's `workers`). */
export { SCORING_WORKERS_AUTO_MAX } from '../search/scoring-workers.js';

/** The most `maxConnections` may be: a common hard limit of file descriptors (ulimit -n 1,048,576); past it the limit could never bind. */
export const MAX_CONNECTIONS = 1_048_576;

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  maxBodyBytes?: number;
  timeoutMs?: number;
  /** A write's deadline in ms when it names none (SERVER_DEFAULTS.writeTimeoutMs); at most maxTimeoutMs. */
  writeTimeoutMs?: number;
  maxTimeoutMs?: number;
  maxConcurrent?: number;
  maxQueue?: number;
  maxQueueWaitMs?: number;
  /**
   * Estimated document tokens encoded at once by the admitted rerank, encode and write requests
   * (admission.ts); ≥ 1. Default: SERVER_DEFAULTS.inFlightTokensPerEncoderThread × encoderThreads
   * (at least one thread's worth). @throws PlaitError INVALID_ARGUMENT below 1.
   */
  maxInFlightTokens?: number;
  retryAfterSeconds?: number;
  resultCacheBytes?: number;
  queryCacheBytes?: number;
  maxRerankDocuments?: number;
  maxEncodeTexts?: number;
  drainTimeoutMs?: number;
  /**
   * The proxies whose `X-Forwarded-For` names the client (nginx, a k8s ingress), comma-separated:
   * IPv4/IPv6 addresses, CIDR ranges (`10.0.0.0/8`), or `loopback`, `linklocal`, `uniquelocal`
   * (Fastify's `trustProxy`, proxy-addr's names). The access line's `remoteAddress` is then the
   * client's address; without it, the proxy's (a client's own X-Forwarded-For is never believed).
   * Default: none. @throws PlaitError INVALID_ARGUMENT for an entry that is none of these.
   */
  trustProxy?: string;
  /** ms between SIGTERM and closing the listener, /ready answering 503 while requests are still served (SERVER_DEFAULTS.shutdownDelayMs). */
  shutdownDelayMs?: number;
  /** ms a client has to send its whole request, headers and body (SERVER_DEFAULTS.receiveTimeoutMs); slower: 408, connection closed. 0: no limit. */
  receiveTimeoutMs?: number;
  /** Open client connections past which a request is answered 503 OVERLOADED before its body is read (SERVER_DEFAULTS.maxConnections); /health and /ready are still answered. 0: no limit. */
  maxConnections?: number;
  /**
   * Scoring worker threads per index: 'auto' (default) is one per core, at most
   * SCORING_WORKERS_AUTO_MAX; an integer in [0, THREAD_LIMITS.maxThreads] is that many, and 0 scores
   * on the serving thread — what openIndex's `workers: 0` means (before, 0 here meant 'auto').
   */
  scoringWorkers?: number | 'auto';
  encoderThreads?: number;
  abortCheckQueries?: number;
  /** Rerank models: undefined is the bundled model; the first is the default. */
  models?: (string | undefined)[];
  /** 'int8': the rerank models run the int8 graph plait builds from their checkpoints (`plait serve --quantize int8`); indexes keep the graph they were built with. */
  quantize?: 'int8';
  /** How often served indexes are checked for a newer generation, in ms (0: never). */
  refreshIntervalMs?: number;
  /** Cross-encoders (folder or hub id) for pipelines' cross stage and rerank by `model`; the first is the default. */
  crossEncoders?: string[];
  /** Ranking model file (plait ltr train --out) for pipelines' ltr stage. */
  ltrModel?: string;
  /**
   * Synonyms applied to every search and explain (`rewrite.synonyms` in a request turns them off or
   * replaces them): a Solr synonyms.txt file, read and checked before anything loads, or a parsed
   * SynonymMap (parseSynonyms). Default: none.
   */
  synonyms?: string | SynonymMap;
  /**
   * Bearer key required on every route but /health and /ready (default: env PLAIT_API_KEY; unset = open).
   * @throws PlaitError INVALID_ARGUMENT when it (or PLAIT_API_KEY) is set but empty (`reason` `empty`: a key asked for
   *   and not given never starts an open server), shorter than 16 characters or not visible ASCII.
   */
  apiKey?: string;
  /**
   * A file of bearer keys, one a line (blank lines and `#` comments skipped; a trailing newline, as
   * `kubectl create secret --from-file` keeps it, is no part of a key): any of them is accepted, so
   * a key is rotated by listing the old and the new one, then the new one alone, with a restart
   * each. Default: env PLAIT_API_KEY_FILE. Read once, at start; `apiKey` (PLAIT_API_KEY) is accepted too.
   * @throws PlaitError FILE_NOT_FOUND when it cannot be read; INVALID_ARGUMENT when it holds no key
   *   or a key shorter than 16 characters (the line is named, never the key), or when the path (or
   *   PLAIT_API_KEY_FILE) is set but empty (`reason` `empty`).
   */
  apiKeyFile?: string;
  /**
   * Allowed CORS origins (default: none, CORS off): each `scheme://host[:port]` as a browser sends
   * it in `Origin` (a trailing `/` is dropped), or `"*"` for any origin.
   * @throws PlaitError INVALID_ARGUMENT for any other value (a name, a path, a bare host).
   */
  corsOrigins?: string[];
  /** pino log level, or false for no logs (default: "info"). */
  logLevel?: string | false;
  /** prom-client's process metrics (memory, CPU, event loop lag); off in tests that run many servers. */
  defaultMetrics?: boolean;
  /** Where the log lines go (one JSON line per `write`; default: stdout). An application embedding the server may collect them. */
  logDestination?: { write(line: string): void };
}

export interface ResolvedServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  timeoutMs: number;
  writeTimeoutMs: number;
  maxTimeoutMs: number;
  maxConcurrent: number;
  maxQueue: number;
  maxQueueWaitMs: number;
  maxInFlightTokens: number;
  retryAfterSeconds: number;
  resultCacheBytes: number;
  queryCacheBytes: number;
  maxRerankDocuments: number;
  maxEncodeTexts: number;
  drainTimeoutMs: number;
  receiveTimeoutMs: number;
  maxConnections: number;
  shutdownDelayMs: number;
  trustProxy: string | undefined;
  scoringWorkers: number;
  encoderThreads: number;
  abortCheckQueries: number;
  models: (string | undefined)[];
  quantize: 'int8' | undefined;
  crossEncoders: string[];
  ltrModel: string | undefined;
  /** The server's synonyms, parsed; null when none. */
  synonyms: SynonymMap | null;
  refreshIntervalMs: number;
  /** A key is required when set: PLAIT_API_KEY / `apiKey`, else the key file's first key. */
  apiKey: string | undefined;
  /** Every accepted key (`apiKey` and the key file's); empty when the server is open. Replaced whole by reloadApiKeys. */
  apiKeys: string[];
  /** The key file read at start (`apiKeyFile`, PLAIT_API_KEY_FILE), which reloadApiKeys reads again; undefined when none. */
  apiKeyFile: string | undefined;
  /** PLAIT_API_KEY / `apiKey`: accepted beside the key file's keys, and kept by reloadApiKeys. */
  fixedApiKey: string | undefined;
  corsOrigins: string[];
  logLevel: string | false;
  defaultMetrics: boolean;
  logDestination: { write(line: string): void } | undefined;
}

/** ServerOptions' keys (util/option-keys.ts): a misspelt option is refused naming the one meant. */
const SERVER_OPTION_KEYS = {
  host: true, port: true, maxBodyBytes: true, timeoutMs: true, writeTimeoutMs: true, maxTimeoutMs: true, maxConcurrent: true, maxQueue: true, maxQueueWaitMs: true, maxInFlightTokens: true, retryAfterSeconds: true,
  resultCacheBytes: true, queryCacheBytes: true, maxRerankDocuments: true, maxEncodeTexts: true, drainTimeoutMs: true, receiveTimeoutMs: true, maxConnections: true, shutdownDelayMs: true, trustProxy: true, scoringWorkers: true,
  encoderThreads: true, abortCheckQueries: true, models: true, quantize: true, crossEncoders: true, ltrModel: true, synonyms: true, refreshIntervalMs: true, apiKey: true, apiKeyFile: true, corsOrigins: true, logLevel: true, defaultMetrics: true,
  logDestination: true,
} as const satisfies OptionKeys<ServerOptions>;

function int(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) throw invalidArgumentError(name, `an integer in [${min}, ${max}]`, v);
  return v;
}

/**
 * One CORS origin as @fastify/cors compares it with a request's `Origin` header, string to string:
 * `"*"` (any origin), or the origin of a URL written without a path (`http://localhost:3000/` →
 * `http://localhost:3000`). A value that can never equal an `Origin` header (a bare host, a path, an
 * index name swallowed by the CLI's `--cors <origin...>`) would have allowed nothing without a word.
 * @param origin the value as given.
 * @param name how the caller's surface names it: `corsOrigins[1]` (the library, the default) or
 *   `--cors` (`plait serve`, which checks each value before the server options are built, so that its
 *   message names the flag and the value at fault, not the library's array index).
 * @throws PlaitError INVALID_ARGUMENT `Expected an origin … for <name> but received "<origin>"`, with
 *   `details.hint` for a comma-separated list: the same origins as separate values, in the surface's spelling.
 */
export function corsOrigin(origin: unknown, name: string): string {
  if (origin === '*') return origin;
  const expected = 'an origin (scheme://host[:port], as a browser sends it) or "*"';
  if (typeof origin !== 'string') throw invalidArgumentError(name, expected, origin);
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  const trimmed = origin.endsWith('/') ? origin.slice(0, -1) : origin;
  if (url === undefined || url.origin === 'null' || url.origin !== trimmed.toLowerCase()) {
    const e = invalidArgumentError(name, expected, origin);
    // A comma-separated list (as other servers' CORS settings take it) is one origin a value here:
    // the hint repeats the caller's own origins the way this surface takes several.
    const parts = origin.split(',').map((p) => p.trim()).filter((p) => p !== '');
    if (parts.length > 1) {
      e.details!['hint'] = name === '--cors' ? `one origin a value, separated by spaces: --cors ${parts.join(' ')}` : `one origin an array element: corsOrigins: ${JSON.stringify(parts)}`;
    }
    throw e;
  }
  return url.origin;
}

/**
 * The checked origins of one list: each by `corsOrigin`, and `"*"` only alone — beside it the other
 * origins would mean nothing (any origin is allowed), and `--cors http://app.example '*'` had
 * allowed every origin without a word.
 * @param name how the surface names the list (`corsOrigins`, `--cors`); each value is named `corsOrigins[i]` or `--cors`.
 * @throws PlaitError INVALID_ARGUMENT naming the value at fault.
 */
export function corsOrigins(origins: readonly unknown[], name: string): string[] {
  checkArray(name, origins, 'an array of origins');
  const out = origins.map((origin, i) => corsOrigin(origin, name === '--cors' ? name : `${name}[${i}]`));
  const others = out.filter((o) => o !== '*');
  if (out.includes('*') && others.length > 0) {
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `"*" in ${name} allows every origin, so ${others.map((o) => JSON.stringify(o)).join(', ')} beside it would mean nothing: give "*" alone, or the origins without it`,
      name,
    });
  }
  return out;
}

/**
 * A synonyms file is read here, so that a missing or malformed one stops `plait serve` before any
 * index or model loads.
 * @throws PlaitError FILE_NOT_FOUND, SYNONYMS_INVALID (file and line), INVALID_ARGUMENT (neither a path nor a SynonymMap)
 */
function resolveSynonyms(s: string | SynonymMap | undefined): SynonymMap | null {
  if (s === undefined) return null;
  if (typeof s === 'string') return readSynonyms(s);
  if (s === null || typeof s !== 'object' || !Array.isArray((s as { rules?: unknown }).rules)) throw invalidArgumentError('synonyms', 'a synonyms file path or a SynonymMap from parseSynonyms', s);
  return s;
}

/**
 * The options that are no integer, checked for their kind before anything uses them (the integers
 * are checked, with their ranges, by int()): `{ host: 42 }` had been taken and failed at listen,
 * `{ models: 'x' }` served the letters, `{ apiKey: 42 }` threw "value.trim is not a function".
 * null is the default where the integers take it so (host, models, crossEncoders, defaultMetrics).
 * @throws PlaitError INVALID_ARGUMENT naming the option.
 */
function checkOptionTypes(o: ServerOptions): void {
  checkNonEmptyString('host', o.host ?? SERVER_DEFAULTS.host, 'a host name or address');
  const models = checkArray<unknown>('models', o.models ?? [], 'an array of model names');
  for (let i = 0; i < models.length; i++) if (models[i] !== undefined) checkNonEmptyString(`models[${i}]`, models[i], 'a model name or undefined (the default model)');
  if (o.quantize !== undefined && o.quantize !== 'int8') throw invalidArgumentError('quantize', '"int8" or undefined', o.quantize);
  checkStringArray('crossEncoders', o.crossEncoders ?? [], 'an array of cross-encoder model names');
  if (o.ltrModel !== undefined) checkNonEmptyString('ltrModel', o.ltrModel, 'the path of a ranking model file');
  const metrics: unknown = o.defaultMetrics ?? true;
  if (typeof metrics !== 'boolean') throw invalidArgumentError('defaultMetrics', 'true or false', metrics);
  if (o.logDestination !== undefined) checkFunction('logDestination.write', checkShape<{ write: unknown }>('logDestination', o.logDestination, 'a stream ({ write(line) })', ['write']).write);
}

export function resolveServerOptions(o: ServerOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedServerOptions {
  checkOptionKeys(o, SERVER_OPTION_KEYS, 'server option');
  checkOptionTypes(o);
  const d = SERVER_DEFAULTS;
  const workers = o.scoringWorkers ?? d.scoringWorkers;
  const maxTimeoutMs = int('maxTimeoutMs', o.maxTimeoutMs ?? d.maxTimeoutMs, 1, MAX_TIMER_MS);
  const r: ResolvedServerOptions = {
    host: o.host ?? d.host,
    port: int('port', o.port ?? d.port, 0, 65535),
    maxBodyBytes: int('maxBodyBytes', o.maxBodyBytes ?? d.maxBodyBytes, 1024),
    // The default deadlines give way to a lower maxTimeoutMs; one asked for is checked against it below.
    timeoutMs: int('timeoutMs', o.timeoutMs ?? Math.min(d.timeoutMs, maxTimeoutMs), 1, MAX_TIMER_MS),
    writeTimeoutMs: int('writeTimeoutMs', o.writeTimeoutMs ?? Math.min(d.writeTimeoutMs, maxTimeoutMs), 1, MAX_TIMER_MS),
    maxTimeoutMs,
    maxConcurrent: int('maxConcurrent', o.maxConcurrent ?? d.maxConcurrent, 1),
    maxQueue: int('maxQueue', o.maxQueue ?? d.maxQueue, 0),
    maxQueueWaitMs: int('maxQueueWaitMs', o.maxQueueWaitMs ?? d.maxQueueWaitMs, 0),
    maxInFlightTokens: int('maxInFlightTokens', o.maxInFlightTokens ?? d.inFlightTokensPerEncoderThread * Math.max(1, o.encoderThreads ?? d.encoderThreads), 1),
    retryAfterSeconds: int('retryAfterSeconds', o.retryAfterSeconds ?? d.retryAfterSeconds, 0),
    resultCacheBytes: int('resultCacheBytes', o.resultCacheBytes ?? d.resultCacheBytes, 0),
    queryCacheBytes: int('queryCacheBytes', o.queryCacheBytes ?? d.queryCacheBytes, 0),
    maxRerankDocuments: int('maxRerankDocuments', o.maxRerankDocuments ?? d.maxRerankDocuments, 1),
    maxEncodeTexts: int('maxEncodeTexts', o.maxEncodeTexts ?? d.maxEncodeTexts, 1),
    drainTimeoutMs: int('drainTimeoutMs', o.drainTimeoutMs ?? d.drainTimeoutMs, 0, MAX_TIMER_MS),
    receiveTimeoutMs: int('receiveTimeoutMs', o.receiveTimeoutMs ?? d.receiveTimeoutMs, 0, MAX_TIMER_MS),
    maxConnections: int('maxConnections', o.maxConnections ?? d.maxConnections, 0, MAX_CONNECTIONS),
    shutdownDelayMs: int('shutdownDelayMs', o.shutdownDelayMs ?? d.shutdownDelayMs, 0, MAX_TIMER_MS),
    trustProxy: resolveTrustProxy(o.trustProxy),
    scoringWorkers: resolveScoringWorkers(workers, 'scoringWorkers'),
    encoderThreads: int('encoderThreads', o.encoderThreads ?? d.encoderThreads, 0, THREAD_LIMITS.maxThreads),
    abortCheckQueries: int('abortCheckQueries', o.abortCheckQueries ?? d.abortCheckQueries, 1),
    models: o.models === undefined || o.models === null || o.models.length === 0 ? [undefined] : o.models,
    quantize: o.quantize,
    crossEncoders: o.crossEncoders ?? [],
    ltrModel: o.ltrModel,
    synonyms: resolveSynonyms(o.synonyms),
    refreshIntervalMs: int('refreshIntervalMs', o.refreshIntervalMs ?? d.refreshIntervalMs, 0, MAX_TIMER_MS),
    // Set but empty is a key asked for and not given (a Secret that was not mounted): refused, never an open server.
    apiKey: o.apiKey !== undefined ? resolveApiKey(o.apiKey, 'apiKey') : env.PLAIT_API_KEY === undefined ? undefined : resolveApiKey(env.PLAIT_API_KEY, 'PLAIT_API_KEY'),
    apiKeys: [],
    apiKeyFile: undefined,
    fixedApiKey: undefined,
    corsOrigins: corsOrigins(o.corsOrigins ?? [], 'corsOrigins'),
    logLevel: resolveLogLevel(o.logLevel),
    defaultMetrics: o.defaultMetrics ?? true,
    logDestination: o.logDestination,
  };
  if (r.timeoutMs > r.maxTimeoutMs) throw invalidArgumentError('timeoutMs', `at most maxTimeoutMs (${r.maxTimeoutMs})`, r.timeoutMs);
  if (r.writeTimeoutMs > r.maxTimeoutMs) throw invalidArgumentError('writeTimeoutMs', `at most maxTimeoutMs (${r.maxTimeoutMs})`, r.writeTimeoutMs);
  r.apiKeyFile = o.apiKeyFile !== undefined ? resolveApiKeyFile(o.apiKeyFile, 'apiKeyFile') : env.PLAIT_API_KEY_FILE === undefined ? undefined : resolveApiKeyFile(env.PLAIT_API_KEY_FILE, 'PLAIT_API_KEY_FILE');
  r.fixedApiKey = r.apiKey;
  r.apiKeys = [...(r.apiKey === undefined ? [] : [r.apiKey]), ...(r.apiKeyFile === undefined ? [] : readApiKeyFile(r.apiKeyFile))];
  r.apiKey ??= r.apiKeys[0];
  return r;
}

/**
 * The guard of a door that takes options already resolved (openEngine, new Engine, reloadApiKeys,
 * openCoordinatorEngine): an object holding what resolveServerOptions fills in, so that a
 * ServerOptions bag given by mistake, or no object at all, is refused by name.
 * @throws PlaitError INVALID_ARGUMENT ("Expected ResolvedServerOptions (from resolveServerOptions) … for options but received …").
 */
export function checkResolvedServerOptions(name: string, value: unknown): ResolvedServerOptions {
  return checkShape<ResolvedServerOptions>(name, value, 'ResolvedServerOptions (from resolveServerOptions)', ['host', 'port', 'models', 'apiKeys']);
}

/**
 * Reads `o.apiKeyFile` again and makes its keys, beside `o.fixedApiKey`, the accepted ones from the
 * next request on (`plait serve` does it on SIGHUP): a key is rotated without a restart — list the
 * old and the new one, reload, move the clients, list the new one alone, reload. A file that is
 * missing or holds a bad line changes nothing (the keys read before stay) and throws as at start.
 * @returns the number of keys now accepted, or null when the server was started without a key file (nothing to reload).
 * @throws PlaitError FILE_NOT_FOUND or INVALID_ARGUMENT (readApiKeyFile), naming the file and line, never a key.
 */
export function reloadApiKeys(o: ResolvedServerOptions): number | null {
  checkResolvedServerOptions('options', o);
  if (o.apiKeyFile === undefined) return null;
  const keys = [...(o.fixedApiKey === undefined ? [] : [o.fixedApiKey]), ...readApiKeyFile(o.apiKeyFile)];
  o.apiKeys = keys;
  o.apiKey = keys[0];
  return keys.length;
}

/**
 * What keeps `key` (already trimmed) from being an API key, or undefined when it is one: at least
 * SERVER_DEFAULTS.minApiKeyChars characters, each visible ASCII (`!` to `~`): a key with a control
 * character, a space or a non-ASCII letter cannot reach the server whole in an `Authorization`
 * header (Node trims a header's edge white space and refuses control characters; fetch refuses
 * characters past U+00FF), so every request would be a 401. `received` names a length or a
 * character's position, never the key.
 */
function apiKeyFault(key: string): { expected: string; received: string; reason: 'tooShort' | 'notPrintable' } | undefined {
  const bad = /[^\x21-\x7e]/.exec(key);
  if (bad !== null) return { expected: 'visible ASCII characters only (no space, tab, line break or other control character)', received: `U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at character ${bad.index + 1}`, reason: 'notPrintable' };
  if (key.length < SERVER_DEFAULTS.minApiKeyChars) return { expected: `at least ${SERVER_DEFAULTS.minApiKeyChars} characters`, received: `${key.length} characters`, reason: 'tooShort' };
  return undefined;
}

/**
 * An API key given whole (PLAIT_API_KEY, the library's `apiKey`), read as a key file's line is:
 * white space at its ends is no part of it. A Secret written from a file (`kubectl create secret
 * generic --from-file`, `echo $KEY > key`) ends with a line feed that its env var keeps; that key
 * had been taken as it came, and no client can send a line feed in a header, so the server answered
 * every request 401 — a start that looked protected and served nobody.
 * @param name how the caller gave it, named in the message (`PLAIT_API_KEY`, `apiKey`)
 * @throws PlaitError INVALID_ARGUMENT (`details.reason` `tooShort` or `notPrintable`), never echoing the key.
 */
function resolveApiKey(value: string, name: string): string {
  const key = checkString(name, value, 'an API key (a string)').trim();
  if (key === '') throw emptyKeyError(name, 'a key');
  const fault = apiKeyFault(key);
  if (fault !== undefined) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected ${fault.expected} for ${name} but received ${fault.received}`, name, reason: fault.reason });
  return key;
}

/**
 * An API key file's path as given (`--api-key-file`, PLAIT_API_KEY_FILE, the library's `apiKeyFile`):
 * an empty one is refused as an empty key is (emptyKeyError). PLAIT_API_KEY_FILE= had been taken as
 * unset, so a Deployment whose Secret path did not render served with no key at all.
 * @throws PlaitError INVALID_ARGUMENT (`details.reason` `empty`).
 */
function resolveApiKeyFile(value: string, name: string): string {
  if (checkString(name, value, 'the path of a file of API keys').trim() === '') throw emptyKeyError(name, 'a file of keys');
  return value;
}

/** Which door a key came through, as the message tells the operator to fix it: an option of the CLI, the library's, or an env var. */
const KEY_DOORS: Record<string, { unset: string }> = {
  PLAIT_API_KEY: { unset: 'unset PLAIT_API_KEY (remove it from the environment, not set it to nothing)' },
  PLAIT_API_KEY_FILE: { unset: 'unset PLAIT_API_KEY_FILE (remove it from the environment, not set it to nothing)' },
  apiKey: { unset: 'leave apiKey out' },
  apiKeyFile: { unset: 'leave --api-key-file (apiKeyFile) out' },
};

/**
 * The refusal of a key (or key file) that was asked for and came empty: `PLAIT_API_KEY=` from a
 * Secret that was not mounted, `--api-key-file ""` from an unset shell variable. It had started an
 * open server (the empty env var read as unset) that anyone reaching the port could write to; an
 * operator who asked for a key gets no server instead, and the message says how to run without a
 * key on purpose. The CLI exits 2 (INVALID_ARGUMENT).
 */
function emptyKeyError(name: string, what: string): PlaitError {
  const door = KEY_DOORS[name] ?? { unset: `leave ${name} out` };
  return new PlaitError('INVALID_ARGUMENT', {
    message: `${name} is set but empty: expected ${what} (a Secret that was not mounted?); the server will not start open when a key was asked for. Give it ${what}, or ${door.unset} to serve without a key on purpose`,
    name,
    reason: 'empty',
  });
}

/**
 * The keys of an API key file (ServerOptions.apiKeyFile): one a line, blank lines and `#` lines
 * skipped, each line trimmed. Messages name the file and the line, never a key.
 */
export function readApiKeyFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    // A k8s Secret mounted as a volume is a folder holding a file per key of the Secret; naming the folder is the usual slip.
    const hint = code === 'EISDIR' ? ': it is a folder; name the file in it (a Secret mounted as a volume holds one file per key of the Secret, e.g. <folder>/api-keys)' : '';
    throw new PlaitError('FILE_NOT_FOUND', { message: `cannot read the API key file ${file} (${code ?? String(cause)})${hint}`, path: file, option: 'apiKeyFile' }, { cause });
  }
  const keys: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const key = line.trim();
    if (key === '' || key.startsWith('#')) return;
    const fault = apiKeyFault(key);
    if (fault !== undefined) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected API keys of ${fault.expected} in ${file} but line ${i + 1} holds ${fault.received}`, path: file, line: i + 1, option: 'apiKeyFile', reason: fault.reason });
    keys.push(key);
  });
  if (keys.length === 0) throw new PlaitError('INVALID_ARGUMENT', { message: `the API key file ${file} holds no key (one a line; blank lines and # comments are skipped)`, path: file, option: 'apiKeyFile' });
  return keys;
}

/** pino's levels, the values `logLevel` (`plait serve --log-level`) takes; false turns logging off. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The server's log level, checked before anything loads: an unknown one (`--log-level verbose`)
 * had reached pino only once the indexes and models were loaded, and ended the start with pino's
 * stack trace ("default level:verbose must be included in custom levels").
 * @throws PlaitError INVALID_ARGUMENT naming the levels.
 */
function resolveLogLevel(level: string | false | undefined): string | false {
  if (level === undefined) return 'info';
  if (level === false || (LOG_LEVELS as readonly string[]).includes(level)) return level;
  throw new PlaitError('INVALID_ARGUMENT', { message: `Expected one of ${LOG_LEVELS.join(', ')} for logLevel but received ${JSON.stringify(level)}`, name: 'logLevel', allowedValues: [...LOG_LEVELS] });
}

/** proxy-addr's names for address ranges, which `trustProxy` takes beside addresses and CIDRs. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `trustProxy` checked before anything loads (Fastify's proxy-addr would refuse a bad entry only
 * once the indexes had loaded): each comma-separated entry an IP address, a CIDR range or a range name.
 */
function resolveTrustProxy(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const entries = checkString('trustProxy', value, 'a comma-separated list of proxy addresses or CIDR ranges').split(',').map((e) => e.trim());
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (PROXY_RANGE_NAMES.includes(entry) || (family !== 0 && prefixOk && rest.length === 0)) continue;
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected IP addresses, CIDR ranges or ${PROXY_RANGE_NAMES.join(', ')}, comma-separated, for trustProxy but received ${JSON.stringify(entry)}`, name: 'trustProxy', received: entry });
  }
  return entries.join(',');
}
