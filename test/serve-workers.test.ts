/**
 * `workers: 0` means one thing everywhere: no worker threads, score on the calling (serving)
 * thread. openIndex always read it so; the server's `--workers 0` / `scoringWorkers: 0` had meant
 * "one per core, at most 4", which is now spelt `auto` (the default). `plait serve --workers 0`
 * says once on stderr that 0 no longer means auto. Checked on the resolved options and on a real
 * `plait serve`: its thread count (/proc/<pid>/task) with --workers 0 and --workers 2 differs by the
 * two scoring workers, and both answer a search.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, openIndex } from '../src/index.js';
import { SERVER_DEFAULTS, THREAD_LIMITS } from '../src/config/defaults.js';
import { SCORING_WORKERS_AUTO_MAX, resolveServerOptions } from '../src/server/options.js';
import { isPlaitError } from '../src/errors/index.js';
import { SAMPLE } from './helpers/server-fixture.js';
import { PLAIT_BIN, exited, lines, stderrUntil } from './helpers/plait-serve.js';
import { runPlait } from './helpers/cli.js';
import { startServer } from '../src/server/index.js';

let dir: string;
let index: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-serve-workers-'));
  index = join(dir, 'sample');
  await buildIndex(SAMPLE, { index, encoderOptions: { threads: 0 } });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('resolveServerOptions: auto (the default) is one per core up to the cap; 0 is 0 (the calling thread), as openIndex reads it', () => {
  const auto = Math.min(availableParallelism(), SCORING_WORKERS_AUTO_MAX);
  assert.equal(SERVER_DEFAULTS.scoringWorkers, 'auto');
  assert.equal(resolveServerOptions({}, {}).scoringWorkers, auto);
  assert.equal(resolveServerOptions({ scoringWorkers: 'auto' }, {}).scoringWorkers, auto);
  assert.equal(resolveServerOptions({ scoringWorkers: 0 }, {}).scoringWorkers, 0);
  assert.equal(resolveServerOptions({ scoringWorkers: 3 }, {}).scoringWorkers, 3);
  for (const bad of [-1, THREAD_LIMITS.maxThreads + 1, 1.5, 'AUTO', 'all']) {
    assert.throws(() => resolveServerOptions({ scoringWorkers: bad as never }, {}), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'), String(bad));
  }
});

/** `plait serve <index> --workers <w>`: its stderr, its thread count once ready, and a search's hit count. */
async function serveWith(workers: string): Promise<{ stderr: string; threads: number; hits: number; logged: unknown; gauge: number | null }> {
  const child = spawn(process.execPath, [PLAIT_BIN, 'serve', index, '--port', '0', '--workers', workers, '--encoder-threads', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_API_KEY: undefined } });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exit = exited(child);
  try {
    const ready = await Promise.race([lines(child)((o) => o.msg === 'ready'), exit.then((e) => Promise.reject(new Error(`plait serve exited before ready: ${JSON.stringify(e)} ${stderr}`)))]);
    const r = await fetch(`${ready.url}/v1/indexes/sample/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'why does bread rise', top_k: 3 }) });
    assert.equal(r.status, 200, await r.clone().text());
    const body = (await r.json()) as { results?: { hits: unknown[] }[]; hits?: unknown[] };
    const hits = (body.hits ?? body.results?.[0]?.hits ?? []).length;
    const metrics = await (await fetch(`${ready.url}/metrics`)).text();
    const gauge = /^plait_scoring_workers\{index="sample"\} (\d+)$/m.exec(metrics);
    return { stderr, threads: readdirSync(`/proc/${child.pid}/task`).length, hits, logged: ready.scoringWorkers, gauge: gauge === null ? null : Number(gauge[1]) };
  } finally {
    child.kill('SIGTERM');
    await exit;
  }
}

test('plait serve --workers 0 scores on the serving thread (two fewer threads than --workers 2) and says 0 no longer means auto', { skip: existsSync('/proc/self/task') ? false : 'needs /proc (Linux)' }, async () => {
  const none = await serveWith('0');
  const two = await serveWith('2');
  assert.match(none.stderr, /plait: note: --workers 0 scores on the serving thread .* give --workers auto/);
  assert.doesNotMatch(two.stderr, /note/);
  assert.equal(none.hits, 3);
  assert.equal(two.hits, 3);
  assert.ok(two.threads - none.threads >= 2, `threads: --workers 0 ${none.threads}, --workers 2 ${two.threads}`);
  // The count that runs is reported: the ready log line and /metrics agree with --workers (auto resolved).
  assert.deepEqual([none.logged, none.gauge], [{ sample: 0 }, 0]);
  assert.deepEqual([two.logged, two.gauge], [{ sample: 2 }, 2]);
  const auto = await serveWith('auto');
  assert.doesNotMatch(auto.stderr, /note/);
  const autoCount = Math.min(availableParallelism(), SCORING_WORKERS_AUTO_MAX);
  assert.deepEqual([auto.logged, auto.gauge], [{ sample: autoCount }, autoCount]);
  assert.ok(auto.threads - none.threads >= Math.min(availableParallelism(), SCORING_WORKERS_AUTO_MAX), `threads: --workers 0 ${none.threads}, auto ${auto.threads}`);
});

test('plait serve --workers two is refused naming both spellings (auto, or an integer), before any index loads', async () => {
  for (const bad of ['two', '1025', '-1', '1.5']) {
    const child = spawn(process.execPath, [PLAIT_BIN, 'serve', index, '--port', '0', '--workers', bad], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const { code } = await exited(child);
    assert.equal(code, 2, stderr);
    assert.ok(stderr.includes(`Expected auto or an integer in [0, ${THREAD_LIMITS.maxThreads}] for --workers but received "${bad}" [INVALID_ARGUMENT]`), `${bad}: ${stderr}`);
  }
  assert.throws(() => resolveServerOptions({ scoringWorkers: 'two' as never }, {}), /Expected 'auto' or an integer in \[0, 1024\] for scoringWorkers/);
});

test("openIndex's workers takes 'auto' as --workers does (one per core, at most 4), and reports the count; leaving it out is 0", async () => {
  // openIndex(p, { workers: 'auto' }) was refused ("Expected an integer in [0, 1024]") while README and
  // --help call auto the server's default: the library could not ask for what the server runs.
  const auto = await openIndex(index, { workers: 'auto' });
  try {
    assert.equal(auto.scoringWorkers, Math.min(availableParallelism(), SCORING_WORKERS_AUTO_MAX));
    assert.equal((await auto.search('why does bread rise', { topK: 2, exhaustive: true })).hits.length, 2);
  } finally {
    await auto.close();
  }
  const none = await openIndex(index);
  assert.equal(none.scoringWorkers, 0);
  await none.close();
  for (const bad of ['two', 'AUTO', -1, 1.5, THREAD_LIMITS.maxThreads + 1]) {
    await assert.rejects(openIndex(index, { workers: bad as never }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /Expected 'auto' or an integer in \[0, 1024\] for workers/.test((e as Error).message), String(bad));
  }
});

test('plait serve without index names says which indexes it could serve (it had served none without a word), every one of them past three', async () => {
  // Three more index folders (a manifest is what the listing looks for; none is opened): the note had
  // named the first three alone, as if they were all the home held.
  const extra = ['zeta-1', 'zeta-2', 'zeta-3'];
  for (const name of extra) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'manifest.json'), '{}');
  }
  const child = spawn(process.execPath, [PLAIT_BIN, 'serve', '--port', '0', '--workers', '0', '--encoder-threads', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_API_KEY: undefined, PLAIT_INDEX_DIR: dir } });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const listening = stderrUntil(child, (e) => e.includes('listening'));
  const exit = exited(child);
  try {
    await Promise.race([lines(child)((o) => o.msg === 'ready'), exit.then((e) => Promise.reject(new Error(`plait serve exited before ready: ${JSON.stringify(e)} ${stderr}`)))]);
    // Waited for as an event (it was polled for at most 5 s after "ready").
    await Promise.race([listening, exit.then((e) => Promise.reject(new Error(`plait serve exited before its listening line: ${JSON.stringify(e)} ${stderr}`)))]);
    const note = `plait: note: no index named, so none is served (rerank only); name them to serve them: plait serve sample zeta-1 zeta-2 …; ${dir} holds 4: sample, zeta-1, zeta-2, zeta-3\n`;
    assert.ok(stderr.includes(note), stderr);
    assert.match(stderr, /listening on .* \(0 indexes\)/);
  } finally {
    child.kill('SIGTERM');
    await exit;
    for (const name of extra) rmSync(join(dir, name), { recursive: true, force: true });
  }
});

test('the scoring threads are shown where a user looks: GET /v1/indexes and /v1/indexes/:name say what /metrics says; plait info says what serve and search would run', async () => {
  for (const workers of [0, 2]) {
    const server = await startServer([index], { port: 0, scoringWorkers: workers, encoderThreads: 0, logLevel: false });
    try {
      const list = (await (await fetch(`${server.url}/v1/indexes`)).json()) as { indexes: { name: string; scoring_workers?: number }[] };
      assert.deepEqual(list.indexes.map((i) => [i.name, i.scoring_workers]), [['sample', workers]]);
      const one = (await (await fetch(`${server.url}/v1/indexes/sample`)).json()) as { scoring_workers?: number };
      assert.equal(one.scoring_workers, workers);
      // One source: the gauge /metrics exports reads the same figure.
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, new RegExp(`^plait_scoring_workers\\{index="sample"\\} ${workers}$`, 'm'));
    } finally {
      await server.close();
    }
  }
  const auto = Math.min(availableParallelism(), SCORING_WORKERS_AUTO_MAX);
  const info = runPlait(dir, ['info', index]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`^scoring      plait serve: ${auto} worker threads? \\(--workers auto: one per core, at most ${SCORING_WORKERS_AUTO_MAX}\\); plait search/eval: the calling thread$`, 'm'));
  const json = JSON.parse(runPlait(dir, ['info', index, '--json']).stdout) as { scoringWorkers: { serve: number; search: number } };
  assert.deepEqual(json.scoringWorkers, { serve: auto, search: 0 });
});
