/**
 * `--help` shows the defaults a user would otherwise look up in the source: `plait serve`'s limits
 * (body size, queue, deadlines, concurrency, caches) from SERVER_DEFAULTS in commander's own
 * "(default: …)", and every numeric option of every command names its default, or is one of the
 * few that have none. In process (buildProgram), so no child is spawned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Help, type Command, type Option } from 'commander';
import { buildProgram } from '../src/cli/main.js';
import { CALIBRATION_DEFAULTS, CROSS_ENCODER_DEFAULTS, SEARCH_DEFAULTS, SERVER_DEFAULTS, THREAD_LIMITS } from '../src/config/defaults.js';
import { SCORING_WORKERS_AUTO_MAX } from '../src/server/options.js';
import { invokedAs } from '../src/cli/options.js';
import { compileFilter } from '../src/docstore/metadata-filter.js';
import { join } from 'node:path';

/** Every command (help reads them; buildProgram loads the command modules). */
const program: Command = await buildProgram();

function commandOf(path: string[]): Command {
  let c: Command = program;
  for (const name of path) c = c.commands.find((x) => x.name() === name)!;
  assert.ok(c, path.join(' '));
  return c;
}

/** An option's help line as commander prints it (description and its "(default: …)"), unwrapped. */
function described(c: Command, flag: string): string {
  const o = c.options.find((x) => x.long === flag);
  assert.ok(o, `${c.name()} ${flag}`);
  return new Help().optionDescription(o);
}

test('plait serve --help shows each limit\'s default from SERVER_DEFAULTS', () => {
  const serve = commandOf(['serve']);
  const d = SERVER_DEFAULTS;
  const expected: [string, string][] = [
    ['--port', String(d.port)],
    ['--workers', 'auto'],
    ['--encoder-threads', String(d.encoderThreads)],
    ['--max-concurrent', String(d.maxConcurrent)],
    ['--max-queue', String(d.maxQueue)],
    ['--max-queue-wait-ms', String(d.maxQueueWaitMs)],
    ['--timeout-ms', String(d.timeoutMs)],
    ['--drain-timeout-ms', String(d.drainTimeoutMs)],
    ['--max-connections', String(d.maxConnections)],
    ['--max-body-bytes', `${d.maxBodyBytes}, 1.0 MiB`],
    ['--result-cache-mb', String(d.resultCacheBytes / (1 << 20))],
    ['--query-cache-mb', String(d.queryCacheBytes / (1 << 20))],
  ];
  for (const [flag, shown] of expected) assert.ok(described(serve, flag).endsWith(`(default: ${shown})`), `${flag}: ${described(serve, flag)}`);
  // The values commander passes on when an option is left out are the server's own defaults (workers: auto).
  const o = serve.opts();
  assert.deepEqual(
    [o['maxConcurrent'], o['maxQueue'], o['maxQueueWaitMs'], o['timeoutMs'], o['drainTimeoutMs'], o['maxBodyBytes'], o['workers'], o['encoderThreads']],
    [d.maxConcurrent, d.maxQueue, d.maxQueueWaitMs, d.timeoutMs, d.drainTimeoutMs, d.maxBodyBytes, d.scoringWorkers, d.encoderThreads],
  );
  assert.equal(o['resultCacheMb'] * (1 << 20), d.resultCacheBytes);
  assert.equal(o['queryCacheMb'] * (1 << 20), d.queryCacheBytes);
});

test('other commands name the defaults of the defaults module: cross-encoder threads, calibrate --seed, explain --alpha, the corpus fields', () => {
  for (const path of [['search'], ['rerank'], ['eval'], ['ltr', 'train']]) {
    assert.match(described(commandOf(path), '--cross-threads'), new RegExp(`\\(default: ${CROSS_ENCODER_DEFAULTS.threads}\\)`));
    assert.match(described(commandOf(path), '--cross-variant'), /\(default: fp32\)/);
  }
  assert.match(described(commandOf(['calibrate']), '--seed'), new RegExp(`\\(default: ${CALIBRATION_DEFAULTS.seed}\\)`));
  assert.match(described(commandOf(['explain']), '--alpha'), new RegExp(`\\(default: ${SEARCH_DEFAULTS.hybridAlpha}\\)`));
  for (const path of [['index'], ['add'], ['cluster', 'add']]) {
    assert.match(described(commandOf(path), '--id-field'), /\(default: _id in BEIR; else the first present of _id, id, docid, doc_id, docId\)/);
    assert.match(described(commandOf(path), '--text-field'), /\(default: text\)/);
  }
});

test('every thread-count option names its range 0–THREAD_LIMITS.maxThreads, and serve --workers says auto is one per core (at most 4) and 0 the serving thread, as openIndex\'s workers: 0', () => {
  const range = `0–${THREAD_LIMITS.maxThreads}`;
  const found: string[] = [];
  const walk = (c: Command, path: string[]): void => {
    for (const o of c.options as Option[]) {
      if (o.long === undefined || !/^--(threads|workers|encoder-threads|cross-threads)$/.test(o.long)) continue;
      found.push(`${[...path, o.long].join(' ')}`);
      assert.ok(new Help().optionDescription(o).includes(range), `${[...path, o.long].join(' ')}: ${new Help().optionDescription(o)}`);
    }
    for (const sub of c.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  for (const name of ['index --threads', 'serve --workers', 'serve --encoder-threads', 'search --cross-threads']) assert.ok(found.includes(name), `${name} in ${found.join(', ')}`);
  assert.match(described(commandOf(['serve']), '--workers'), new RegExp(`auto \\(one per core, at most ${SCORING_WORKERS_AUTO_MAX}\\) or 0–${THREAD_LIMITS.maxThreads} \\(0: score on the serving thread`));
});

test('search --filter\'s help lists every operator the filter compiler takes ($all and $size were missing)', () => {
  const help = described(commandOf(['search']), '--filter');
  const conditions: Record<string, unknown> = { $eq: 1, $ne: 1, $in: [1], $nin: [1], $all: [1], $size: 1, $gt: 1, $gte: 1, $lt: 1, $lte: 1, $exists: true };
  for (const [op, v] of Object.entries(conditions)) {
    compileFilter({ f: { [op]: v } }); // the operator is real
    assert.ok(help.includes(` ${op} `) || help.includes(` ${op})`), `${op} in ${help}`);
  }
  for (const op of ['$and', '$or']) {
    compileFilter({ [op]: [{ f: 1 }] });
    assert.ok(help.includes(` ${op} `), `${op} in ${help}`);
  }
  compileFilter({ $not: { f: 1 } });
  assert.ok(help.includes(' $not)'), help);
});

/** Numeric options that have no default by design: each asks for something only when given. */
const NO_DEFAULT = new Set(['index --shards', 'calibrate --max-latency-ms', 'cluster publish --shard', 'cluster fetch --shard']);

test('every option that takes a number names its default (or is one of the few with none)', () => {
  const missing: string[] = [];
  const walk = (c: Command, path: string[]): void => {
    for (const o of c.options as Option[]) {
      if (!(o.required || o.optional) || o.parseArg === undefined || o.argChoices !== undefined) continue;
      const name = `${[...path, o.long].join(' ')}`;
      if (NO_DEFAULT.has(name)) continue;
      if (!/default/.test(new Help().optionDescription(o))) missing.push(name);
    }
    for (const sub of c.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  assert.deepEqual(missing, []);
});

test('a hint names the command the way the user ran plait (quickstart printed "node bin/plait.js" from any folder)', () => {
  assert.equal(invokedAs(join(process.cwd(), 'bin', 'plait.js')), 'node bin/plait.js');
  assert.equal(invokedAs(join(process.cwd(), '..', 'plait', 'bin', 'plait.js')), `node ${join('..', 'plait', 'bin', 'plait.js')}`);
  assert.equal(invokedAs('/home/u/app/node_modules/.bin/plait'), 'npx plait');
  assert.equal(invokedAs('/usr/local/bin/plait'), 'plait');
});
