/**
 * Graceful drain in a child process: SIGTERM while a search is in flight → the server stops
 * accepting, the in-flight request completes with 200, indexes and workers close, exit code 0.
 * And the real `plait serve` command: ready on an ephemeral port, SIGTERM → exit 0; a second
 * SIGTERM during the drain, while a write encodes, ends it by the signal (it aborted: exit 134).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { buildSample, postJson, type SampleIndex } from './helpers/server-fixture.js';
import { exited, lines, stderrUntil } from './helpers/plait-serve.js';

let sample: SampleIndex;

before(async () => {
  sample = await buildSample('plait-server-drain-');
});

after(async () => {
  await sample?.dispose();
});

test('SIGTERM drains: the in-flight search completes, new connections are refused, exit 0', async () => {
  const script = fileURLToPath(new URL('./helpers/server-child.js', import.meta.url));
  const child = spawn(process.execPath, [script, sample.path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exit = exited(child);
  try {
    const wait = lines(child);
    const { url } = await wait((o) => o.event === 'listening');
    const inFlight = postJson(`${url}/v1/indexes/sample/search`, { query: 'a slow query about bread', top_k: 3 });
    await wait((o) => o.event === 'entered');
    child.kill('SIGTERM');
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(r.body.results[0].hits.length, 3);
    assert.equal((await wait((o) => o.event === 'exit')).code, 0);
    assert.deepEqual(await exit, { code: 0, signal: null });
    await assert.rejects(fetch(`${url}/health`));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('a request still in flight when the drain times out is answered 503 INDEX_CLOSED before its connection closes', async () => {
  const script = fileURLToPath(new URL('./helpers/server-child.js', import.meta.url));
  const child = spawn(process.execPath, [script, sample.path, '400'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exit = exited(child);
  try {
    const wait = lines(child);
    const { url } = await wait((o) => o.event === 'listening');
    const inFlight = postJson(`${url}/v1/indexes/sample/search`, { query: 'a stuck query about bread', top_k: 3 });
    await wait((o) => o.event === 'entered');
    const t = performance.now();
    child.kill('SIGTERM');
    const r = await inFlight; // before the fix: a cut connection (fetch failed), no answer
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'INDEX_CLOSED');
    assert.match(r.body.error.message, /drain timeout of 400 ms/);
    assert.ok(performance.now() - t >= 350, 'answered only once the drain timeout had passed');
    assert.equal((await wait((o) => o.event === 'exit')).code, 0);
    assert.deepEqual(await exit, { code: 0, signal: null });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('plait serve: ready on an ephemeral port with JSON logs; SIGTERM → exit 0', async () => {
  const bin = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', sample.path, '--port', '0', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_API_KEY: '' } });
  const exit = exited(child);
  try {
    const wait = lines(child);
    const ready = await wait((o) => o.msg === 'ready');
    assert.equal(ready.level, 30);
    assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(ready.indexes, ['sample']);
    // The human line on stderr: where it listens, which indexes, and the playground's address.
    // Waited for as an event (it was polled for at most 5 s).
    const stderr = await stderrUntil(child, (e) => e.includes('\n'));
    assert.ok(stderr.includes(`plait: listening on ${ready.url} (1 index: sample); playground ${ready.url}/ · OpenAPI ${ready.url}/openapi.json`), stderr);
    const r = await fetch(`${ready.url}/ready`);
    assert.equal(r.status, 200);
    const s = await postJson(`${ready.url}/rerank`, { query: 'bread', texts: ['yeast bread', 'stock market'] });
    assert.equal(s.body[0].index, 0);
    child.kill('SIGTERM');
    await wait((o) => o.msg === 'closed' && o.drained === true);
    assert.deepEqual(await exit, { code: 0, signal: null });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('plait serve: a second SIGTERM while a write encodes ends the process by the signal, not by an abort', async () => {
  const path = join(sample.dir, 'second-signal');
  cpSync(sample.path, path, { recursive: true });
  const bin = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', path, '--port', '0', '--workers', '1', '--drain-timeout-ms', '60000'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_API_KEY: '' } });
  const exit = exited(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const saidStopping = stderrUntil(child, (e) => e.includes('plait: stopping (SIGTERM)'));
  try {
    const wait = lines(child);
    const ready = await wait((o) => o.msg === 'ready');
    // About 200 passages of 128 tokens: seconds of encoding on one encoder thread.
    const text = Array.from({ length: 100 }, (_, i) => `word${i % 41} bread yeast dough`).join(' ');
    const write = postJson(`${ready.url}/v1/indexes/second-signal/documents`, { documents: Array.from({ length: 64 }, (_, i) => ({ doc_id: `long-${i}`, text })) }).catch((e: unknown) => e);
    // Each signal once the server is where it should be (fixed sleeps of 700 and 300 ms raced the
    // write's arrival and the first signal's handling on a loaded machine): the write has arrived,
    // then the first SIGTERM has been taken for a drain.
    await wait((o) => o.msg === 'incoming request' && o.req?.method === 'POST' && String(o.req?.url).endsWith('/documents'));
    child.kill('SIGTERM');
    await saidStopping;
    child.kill('SIGTERM');
    assert.deepEqual(await exit, { code: null, signal: 'SIGTERM' }, stderr);
    assert.doesNotMatch(stderr, /terminate called/);
    // The first signal says on stderr what the wait is and how to cut it short (it had been silent).
    assert.ok(stderr.includes('plait: stopping (SIGTERM): requests in flight get up to 60000 ms to finish (--drain-timeout-ms); SIGTERM again stops at once\n'), stderr);
    await write;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
