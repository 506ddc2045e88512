/**
 * Worker threads in an application started with node flags (src/util/worker-exec-argv.ts): plait's
 * pools pass execArgv explicitly, and Node refuses V8 and per-process flags there
 * (ERR_WORKER_INVALID_EXEC_ARGV), so `node --max-old-space-size=4096 app.js` could not rerank, encode or
 * search with workers at all. The flags a worker refuses are left out of plait's workers; the others
 * still reach them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { acceptedByWorkers, optionGroups } from '../src/util/worker-exec-argv.js';

test('execArgv splits into options, each with the values after it', () => {
  assert.deepEqual(optionGroups([]), []);
  assert.deepEqual(optionGroups(['--require', './hook.js', '-C', 'development', '--enable-source-maps', '--max-old-space-size=512']), [
    ['--require', './hook.js'],
    ['-C', 'development'],
    ['--enable-source-maps'],
    ['--max-old-space-size=512'],
  ]);
});

test('the flags a worker refuses are left out, in order, and the ones it takes are kept', () => {
  assert.deepEqual(acceptedByWorkers([]), []);
  assert.deepEqual(acceptedByWorkers(['--enable-source-maps', '--conditions', 'development']), ['--enable-source-maps', '--conditions', 'development']);
  assert.deepEqual(acceptedByWorkers(['--max-old-space-size=512', '--enable-source-maps', '--expose-gc', '--conditions', 'development']), ['--enable-source-maps', '--conditions', 'development']);
  assert.deepEqual(acceptedByWorkers(['--expose-gc']), []);
});

test('an application run with --max-old-space-size and --expose-gc reranks on the bundled model with worker threads', () => {
  const index = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = [
    `const { rerank, closeRerankers } = await import(${JSON.stringify(index)});`,
    "const ranked = await rerank('why does bread dough rise', ['The tide rises twice a day.', 'Yeast makes bread dough rise.']);",
    'await closeRerankers();',
    'console.log(JSON.stringify(ranked.map((r) => r.index)));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--max-old-space-size=1024', '--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.doesNotMatch(r.stderr, /ERR_WORKER_INVALID_EXEC_ARGV/);
  assert.equal(r.status, 0, r.stderr.slice(-1500));
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), [1, 0]);
});
