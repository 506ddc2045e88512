/**
 * `plait serve [index ...]`: the passage-ranking HTTP server over the given indexes, with the
 * mid-tier reranker. Logs are pino JSON lines on stdout; SIGTERM/SIGINT drain and exit 0.
 */
import { warnLtrModelIndexes } from '../open-index.js';
import { Option, type Command } from 'commander';
import { SERVER_DEFAULTS, THREAD_LIMITS } from '../../config/defaults.js';
import { MAX_CONNECTIONS, SCORING_WORKERS_AUTO_MAX, corsOrigins } from '../../server/options.js';
import { formatBytes } from '../progress.js';
import { startServer, closeOnSignals } from '../../server/index.js';
import type { ServerOptions } from '../../server/index.js';
import { parseIntArg, plural, range } from '../options.js';
import { MAX_TIMER_MS } from '../../search/deadline.js';
import { PlaitError, invalidArgument, isPlaitError } from '../../errors/index.js';
import { integerRange } from '../../config/parse-number.js';
import { warnOpenPort } from '../open-port.js';
import { drainingLine, endServe } from '../interrupt.js';
import { withHint } from '../report-error.js';
import { indexCandidates, indexHome, isIndexDir, listIndexHome } from '../../format/index-path.js';

interface ServeCliOptions {
  host: string;
  port: number;
  model?: string[];
  quantize?: 'int8';
  crossEncoder?: string[];
  ltrModel?: string;
  synonyms?: string;
  workers?: number | 'auto';
  encoderThreads?: number;
  maxConcurrent?: number;
  maxQueue?: number;
  maxQueueWaitMs?: number;
  maxInFlightTokens?: number;
  timeoutMs?: number;
  writeTimeoutMs?: number;
  maxTimeoutMs?: number;
  drainTimeoutMs?: number;
  receiveTimeoutMs?: number;
  maxConnections?: number;
  shutdownDelayMs?: number;
  trustProxy?: string;
  apiKeyFile?: string;
  maxBodyBytes?: number;
  resultCacheMb?: number;
  queryCacheMb?: number;
  cors?: string[];
  logLevel: string;
  nats?: string;
  coordinate?: string;
}

const MIB = 1 << 20;

export function registerServeCommand(program: Command): void {
  const d = SERVER_DEFAULTS;
  program
    .command('serve')
    .description('serve indexes and the reranker over HTTP (Cohere- and TEI-compatible rerank, search, metrics)')
    .argument('[index...]', 'index names (under indexes/) or paths')
    .option('--host <host>', 'address to bind (0.0.0.0 or :: exposes the server, as a container or Kubernetes pod needs: its probes reach the pod IP)', d.host)
    .option('-p, --port <n>', 'port (0: any free port)', parseIntArg('port', 0), d.port)
    .option('-m, --model <model...>', 'rerank model(s): ColBERT ONNX folder or hub id; the first is the default (default: the bundled model)')
    .addOption(new Option('--quantize <kind>', 'rerank models (--model) run the int8 graph built from their checkpoints; indexes keep the graph they were built with').choices(['int8']))
    .option('--cross-encoder <model...>', 'cross-encoder(s) (folder or hub id) for pipelines\' cross stage and for rerank requests naming them as `model`')
    .option('--ltr-model <file>', 'ranking model (plait ltr train --out) for pipelines\' ltr stage')
    .option('--synonyms <file>', "expand every search's query with a synonyms file in Solr's format (a, b / a => b); a request's rewrite.synonyms turns them off or replaces them")
    // The limits show their defaults (SERVER_DEFAULTS) in commander's "(default: …)": the value
    // passed on is the server's own default, so leaving an option out changes nothing.
    .addOption(
      new Option('--workers <n>', `scoring worker threads per index: auto (one per core, at most ${SCORING_WORKERS_AUTO_MAX}) or 0–${THREAD_LIMITS.maxThreads} (0: score on the serving thread, as openIndex's workers: 0)`)
        .argParser(parseWorkers)
        .default(d.scoringWorkers, d.scoringWorkers),
    )
    .option('--encoder-threads <n>', `encoder worker threads per model, 0–${THREAD_LIMITS.maxThreads} (0 = in-process)`, parseIntArg('encoderThreads', 0, THREAD_LIMITS.maxThreads), d.encoderThreads)
    .option('--max-concurrent <n>', 'requests working at once', parseIntArg('maxConcurrent', 1), d.maxConcurrent)
    .option('--max-queue <n>', 'requests waiting for a slot before 503', parseIntArg('maxQueue', 0), d.maxQueue)
    .option('--max-queue-wait-ms <n>', 'shed (503) when the expected wait for a slot exceeds this many ms', parseIntArg('maxQueueWaitMs', 0), d.maxQueueWaitMs)
    .option('--max-in-flight-tokens <n>', `document tokens (estimated) that rerank, encode and write requests encode at once; past it they wait or are shed (503) (default: ${d.inFlightTokensPerEncoderThread} × --encoder-threads)`, parseIntArg('maxInFlightTokens', 1))
    .option('--timeout-ms <n>', `a search, rerank, explain or encode request's deadline in ms when it names none (timeout_ms), 1–(--max-timeout-ms)`, parseIntArg('timeoutMs', 1, MAX_TIMER_MS), d.timeoutMs)
    .option('--write-timeout-ms <n>', `a write's deadline in ms when it names none (timeout_ms): sized for a full body of text, 1–(--max-timeout-ms)`, parseIntArg('writeTimeoutMs', 1, MAX_TIMER_MS), d.writeTimeoutMs)
    .option('--max-timeout-ms <n>', `the longest timeout_ms a request may name (longer: 400), and the most --timeout-ms and --write-timeout-ms may be, ${range(1, MAX_TIMER_MS)}`, parseIntArg('maxTimeoutMs', 1, MAX_TIMER_MS), d.maxTimeoutMs)
    .option('--drain-timeout-ms <n>', `ms that in-flight requests get on SIGTERM, ${range(0, MAX_TIMER_MS)}`, parseIntArg('drainTimeoutMs', 0, MAX_TIMER_MS), d.drainTimeoutMs)
    .option('--trust-proxy <addresses>', 'proxies whose X-Forwarded-For names the client in the access log: IPs, CIDRs or loopback/linklocal/uniquelocal, comma-separated (default: none)')
    .option('--shutdown-delay-ms <n>', `on SIGTERM, ms to keep serving with /ready answering 503 before the listener closes and the drain starts (behind k8s: ~5000, while endpoints update), ${range(0, MAX_TIMER_MS)}`, parseIntArg('shutdownDelayMs', 0, MAX_TIMER_MS), d.shutdownDelayMs)
    .option('--receive-timeout-ms <n>', `ms a client has to send its whole request, headers and body (slower: 408, connection closed), ${range(0, MAX_TIMER_MS)} (0: no limit)`, parseIntArg('receiveTimeoutMs', 0, MAX_TIMER_MS), d.receiveTimeoutMs)
    .option('--max-connections <n>', `open client connections past which a request is answered 503 before its body is read (its connection closed; /health and /ready still answered), ${range(0, MAX_CONNECTIONS)} (0: no limit)`, parseIntArg('maxConnections', 0, MAX_CONNECTIONS), d.maxConnections)
    .addOption(new Option('--max-body-bytes <n>', 'largest request body in bytes (larger: 413)').argParser(parseIntArg('maxBodyBytes', 1024)).default(d.maxBodyBytes, `${d.maxBodyBytes}, ${formatBytes(d.maxBodyBytes)}`))
    .option('--result-cache-mb <n>', 'result cache size in MiB', parseIntArg('resultCacheMb', 0), d.resultCacheBytes / MIB)
    .option('--query-cache-mb <n>', 'query-embedding cache size in MiB', parseIntArg('queryCacheMb', 0), d.queryCacheBytes / MIB)
    .option('--cors <origin...>', 'allow CORS from these origins: scheme://host[:port] each, or "*" for any (default: CORS off)')
    .option('--log-level <level>', 'pino log level (fatal, error, warn, info, debug, trace, silent)', 'info')
    .option('--nats <url>', 'join a cluster through this NATS server: with <index>/shard-<i>, as a replica of that shard (HTTP too only when --port is given); with --coordinate, as its coordinator')
    .option('--coordinate <name>', 'serve the cluster <name> (a sharded index\'s name or folder) over HTTP, scattering searches to its shards through --nats')
    .option('--api-key-file <file>', 'require "Authorization: Bearer <key>" with one of the keys in this file, one a line (# comments; list old and new to rotate); read at start and again on SIGHUP')
    .addHelpText('after', '\nEnvironment: PLAIT_API_KEY=<key> requires "Authorization: Bearer <key>" on every route but /health and /ready; PLAIT_API_KEY_FILE=<file> is --api-key-file. Set but empty, either stops the start (exit 2): to serve without a key, leave them out of the environment.')
    .action(async (indexes: string[], o: ServeCliOptions, command: Command) => {
      // 0 meant auto here until it was made to mean what the library's workers: 0 means: say so to
      // whoever still writes 0 for auto (a script from before would otherwise lose its workers unseen).
      if (o.workers === 0) process.stderr.write(`plait: note: --workers 0 scores on the serving thread (no worker threads), as openIndex's workers: 0 does; before, it meant one per core: for that, give --workers auto (the default)\n`);
      checkListsHoldNoIndex(process.argv.slice(2));
      const options: ServerOptions = {
        host: o.host,
        port: o.port,
        logLevel: o.logLevel,
        ...(o.model === undefined ? {} : { models: o.model }),
        ...(o.quantize === undefined ? {} : { quantize: o.quantize }),
        ...(o.crossEncoder === undefined ? {} : { crossEncoders: o.crossEncoder }),
        ...(o.ltrModel === undefined ? {} : { ltrModel: o.ltrModel }),
        ...(o.synonyms === undefined ? {} : { synonyms: o.synonyms }),
        ...(o.workers === undefined ? {} : { scoringWorkers: o.workers }),
        ...(o.encoderThreads === undefined ? {} : { encoderThreads: o.encoderThreads }),
        ...(o.maxConcurrent === undefined ? {} : { maxConcurrent: o.maxConcurrent }),
        ...(o.maxQueue === undefined ? {} : { maxQueue: o.maxQueue }),
        ...(o.maxQueueWaitMs === undefined ? {} : { maxQueueWaitMs: o.maxQueueWaitMs }),
        ...(o.maxInFlightTokens === undefined ? {} : { maxInFlightTokens: o.maxInFlightTokens }),
        // Deadlines left at their defaults are not passed, so the write default gives way to a lower
        // --max-timeout-ms (resolveServerOptions); one given above it is refused naming its range.
        ...deadlineOptions(o, command),
        ...(o.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: o.drainTimeoutMs }),
        ...(o.receiveTimeoutMs === undefined ? {} : { receiveTimeoutMs: o.receiveTimeoutMs }),
        ...(o.maxConnections === undefined ? {} : { maxConnections: o.maxConnections }),
        ...(o.shutdownDelayMs === undefined ? {} : { shutdownDelayMs: o.shutdownDelayMs }),
        ...(o.trustProxy === undefined ? {} : { trustProxy: o.trustProxy }),
        ...(o.apiKeyFile === undefined ? {} : { apiKeyFile: o.apiKeyFile }),
        ...(o.maxBodyBytes === undefined ? {} : { maxBodyBytes: o.maxBodyBytes }),
        ...(o.resultCacheMb === undefined ? {} : { resultCacheBytes: o.resultCacheMb << 20 }),
        ...(o.queryCacheMb === undefined ? {} : { queryCacheBytes: o.queryCacheMb << 20 }),
        // Checked here so that a refusal names --cors and the value at fault (the library names corsOrigins[i]).
        ...(o.cors === undefined ? {} : { corsOrigins: corsOrigins(o.cors, '--cors') }),
      };
      if (o.coordinate !== undefined && o.nats === undefined) throw new PlaitError('USAGE', { message: '--coordinate needs --nats <url>', reason: 'missingArgument' });
      if (o.nats !== undefined) {
        const { runClusterServe } = await import('./cluster-commands.js');
        await runClusterServe(indexes, options, { nats: o.nats, ...(o.coordinate === undefined ? {} : { coordinate: o.coordinate }), http: command.getOptionValueSource('port') !== 'default' });
        return;
      }
      const server = await startServer(indexes, options);
      warnOpenPort(o.host, server.engine.options.apiKey);
      warnLtrModelIndexes(server.engine);
      const served = [...server.engine.indexes.keys()];
      // scoringWorkers: per index, the threads --workers resolved to (auto: one per core, at most 4), as /metrics' plait_scoring_workers.
      const scoringWorkers = Object.fromEntries(server.engine.scoringWorkers().map((w) => [w.index, w.workers]));
      // apiKeys: how many keys are accepted (0: open to anyone reaching the port), never a key, so an operator can tell from the log that the key took.
      server.app.log.info({ url: server.url, indexes: served, models: server.engine.rerankers.map((r) => r.names[0]), scoringWorkers, apiKeys: server.engine.options.apiKeys.length }, 'ready');
      // Started without index names, it serves reranking only: after the quick start, `plait serve`
      // answered every search INDEX_NOT_FOUND with no word at start of the indexes it could serve.
      const home = served.length === 0 ? listIndexHome() : [];
      // Past three, the example names three and the note lists them all (it had named the first three
      // alphabetically as if they were all: after README's steps, `scifact` was left out of six).
      if (home.length > 0) {
        const all = home.length > 3 ? ` …; ${indexHome()} holds ${home.length}: ${home.join(', ')}` : '';
        process.stderr.write(`plait: note: no index named, so none is served (rerank only); name them to serve them: plait serve ${home.slice(0, 3).join(' ')}${all}\n`);
      }
      // The human line (stdout carries the JSON log lines): where to send requests and open the playground.
      process.stderr.write(
        `plait: listening on ${server.url} (${plural(served.length, 'index', 'indexes')}${served.length === 0 ? '' : `: ${served.join(', ')}`}); ` +
          `playground ${server.url}/ · OpenAPI ${server.url}/openapi.json · Ctrl-C stops\n`,
      );
      await new Promise<void>((resolve) => {
        const remove = closeOnSignals(
          server,
          (code, signal) => {
            remove();
            resolve();
            endServe(code, signal);
          },
          (signal) => process.stderr.write(drainingLine(signal, server.engine.options.drainTimeoutMs, server.engine.options.shutdownDelayMs)),
        );
      });
    });
}

/**
 * `--timeout-ms`, `--write-timeout-ms` and `--max-timeout-ms` as server options: each only when
 * given, so SERVER_DEFAULTS apply otherwise (a deadline left out is at most maxTimeoutMs).
 * @throws PlaitError INVALID_ARGUMENT for a deadline past --max-timeout-ms, naming its range
 *   `[1, max]` as the option parser names a range (`--max-timeout-ms` had been named in README but
 *   was no option: the limit could not be changed from the command line).
 */
function deadlineOptions(o: ServeCliOptions, command: Command): Pick<ServerOptions, 'timeoutMs' | 'writeTimeoutMs' | 'maxTimeoutMs'> {
  const given = (name: string): boolean => command.getOptionValueSource(name) !== 'default';
  const max = o.maxTimeoutMs ?? SERVER_DEFAULTS.maxTimeoutMs;
  const out: Pick<ServerOptions, 'timeoutMs' | 'writeTimeoutMs' | 'maxTimeoutMs'> = given('maxTimeoutMs') ? { maxTimeoutMs: max } : {};
  for (const name of ['timeoutMs', 'writeTimeoutMs'] as const) {
    const v = o[name];
    if (v === undefined || !given(name)) continue;
    if (v > max) throw invalidArgument(name, integerRange(1, max), String(v));
    out[name] = v;
  }
  return out;
}

/** `--workers`: "auto", or an integer in [0, THREAD_LIMITS.maxThreads]. @throws PlaitError INVALID_ARGUMENT naming both spellings. */
function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  try {
    return parseIntArg('workers', 0, THREAD_LIMITS.maxThreads)(value);
  } catch (e) {
    // Name auto too: "Expected an integer in [0, 1024]" for `--workers two` hid the default's spelling.
    throw isPlaitError(e, 'INVALID_ARGUMENT') ? invalidArgument('workers', `auto or an integer in [0, ${THREAD_LIMITS.maxThreads}]`, value) : e;
  }
}

/** serve's options that take every value up to the next option (commander's `<value...>`). */
const LIST_OPTIONS = new Set(['-m', '--model', '--cross-encoder', '--cors']);

/**
 * Refuses an index named inside a list option's values: `plait serve --cors http://localhost:3000
 * sample` had started a server with no index and "sample" as an allowed origin, and `plait serve
 * --model bundled sample` said "sample" was no model. Reads the raw arguments, so the message names
 * the flag as typed; `--` ends a list, as commander reads it.
 * @throws PlaitError USAGE naming the value and the flag, with a hint.
 */
function checkListsHoldNoIndex(argv: readonly string[]): void {
  let flag: string | undefined;
  for (const arg of argv) {
    if (arg === '--') return;
    if (arg.startsWith('-')) {
      const name = arg.split('=')[0]!;
      flag = LIST_OPTIONS.has(name) ? name : undefined;
      continue;
    }
    if (flag === undefined || !indexCandidates(arg).some(isIndexDir)) continue;
    const value = flag === '--cors' ? '<origin>' : '<model>';
    throw withHint(
      new PlaitError('USAGE', { message: `"${arg}" after ${flag} is an index: ${flag} takes every value up to the next option`, reason: 'indexInList', option: flag, value: arg }),
      `name the indexes first (plait serve ${arg} ${flag} ${value}), or last after -- (plait serve ${flag} ${value} -- ${arg}; options go before --)`,
    );
  }
}
