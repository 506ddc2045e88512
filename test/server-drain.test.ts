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

test('SIGTERM with a keep-alive client: the drain ends when its request is answered, not at the drain timeout', async () => {
  // fetch keeps its connection open after the answer. Node's server.close() closes the connections
  // idle at that moment only, so this one (busy then, idle from the answer on) held the drain for
  // all of --drain-timeout-ms (k8s: the whole grace period, then a 'drain timeout' warning).
  const script = fileURLToPath(new URL('./helpers/server-child.js', import.meta.url));
  const child = spawn(process.execPath, [script, sample.path, '20000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exit = exited(child);
  try {
    const wait = lines(child);
    const { url } = await wait((o) => o.event === 'listening');
    const inFlight = fetch(`${url}/v1/indexes/sample/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'a slow query about bread', top_k: 3 }) });
    await wait((o) => o.event === 'entered');
    child.kill('SIGTERM');
    const r = await inFlight;
    const answered = performance.now();
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { results: { hits: unknown[] }[] }).results[0]!.hits.length, 3);
    assert.equal((await wait((o) => o.event === 'exit')).code, 0);
    const after = performance.now() - answered;
    assert.ok(after < 5000, `exited ${Math.round(after)} ms after the answer (the drain timeout is 20000 ms)`);
    // The answer told the client to drop the connection, as the server is going away.
    assert.equal(r.headers.get('connection'), 'close');
    assert.deepEqual(await exit, { code: 0, signal: null });
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
  const child = spawn(process.execPath, [bin, 'serve', sample.path, '--port', '0', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_API_KEY: undefined } });
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
    // No framework warning on an operator's stderr (Fastify 5.12's FSTDEP023 for disableRequestLogging was printed at every start).
    assert.doesNotMatch(stderr, /Deprecation|FSTDEP/, stderr);
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
  const child = spawn(process.execPath, [bin, 'serve', path, '--port', '0', '--workers', '1', '--drain-timeout-ms', '60000'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_API_KEY: undefined } });
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
    // (The write is seen encoding on /metrics: the server logs a request once answered, not on arrival.)
    for (const until = Date.now() + 60_000; ; ) {
      const metrics = await (await fetch(`${ready.url}/metrics`)).text();
      if (/^plait_encoder_calls_in_flight\{[^}]*\} [1-9]/m.test(metrics)) break;
      assert.ok(Date.now() < until, 'the write never started encoding');
      await new Promise((r) => setTimeout(r, 20));
    }
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

test('plait serve --shutdown-delay-ms: after SIGTERM /ready is 503 draining while new connections are still served, then the listener closes and it exits 0', async () => {
  // k8s sends SIGTERM as it removes the pod from the Service's endpoints; proxies learn that seconds
  // later. Without the delay the listener closed at once and the connections still routed here were refused.
  const bin = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', sample.path, '--port', '0', '--workers', '1', '--shutdown-delay-ms', '2500'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_API_KEY: undefined } });
  const exit = exited(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    const ready = await lines(child)((o) => o.msg === 'ready');
    const url = ready.url as string;
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    const t = performance.now();
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const r = await fetch(`${url}/ready`);
    assert.equal(r.status, 503);
    assert.equal(((await r.json()) as { status: string }).status, 'draining');
    const s = await postJson(`${url}/v1/indexes/sample/search`, { query: 'bread', top_k: 1 });
    assert.equal(s.status, 200, 'a request routed here during the delay is served');
    assert.ok(performance.now() - t < 2500, 'both answered within the delay');
    assert.deepEqual(await exit, { code: 0, signal: null });
    assert.ok(performance.now() - t >= 2400, `exited ${Math.round(performance.now() - t)} ms after SIGTERM, before the delay ended`);
    await assert.rejects(fetch(`${url}/health`));
    assert.match(stderr, /stopping \(SIGTERM\): \/ready answers 503 and requests are served for 2500 ms more \(--shutdown-delay-ms\)/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
