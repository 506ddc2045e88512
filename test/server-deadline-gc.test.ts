/**
 * Deadlines that the garbage collector cannot take (issue 21; nodejs/node#57736). On Node 20,
 * `AbortSignal.any([AbortSignal.timeout(ms), …])` holds the timeout signal weakly: collected before
 * it fires, the deadline never comes (60 concurrent reranks under a 30 s deadline answered 200 up
 * to 43 s late; with forced collections, 0 of 200 such signals fire). The request deadline and the
 * library's Deadline now own one timer each. A child process under `node --expose-gc` collects
 * every 20 ms while 200 library deadlines and 60 server requests (sent by this test, another
 * process) wait: every one must fire or answer 504 by its deadline plus a small bound, on the
 * server's clock (helpers/deadline-gc-child.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, lines } from './helpers/plait-serve.js';

/** Slack past a deadline: timer granularity, event-loop turns and GC pauses on a loaded 2-core box. */
const BOUND_MS = 1000;

test('under forced GC every 20 ms: 200 library deadlines fire and 60 concurrent rerank requests answer 504, each by its deadline + 1 s', async () => {
  const script = fileURLToPath(new URL('./helpers/deadline-gc-child.js', import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', script, 'run'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const { library, url } = (await lines(child)((o) => typeof o.url === 'string')) as { library: { deadlineMs: number; answeredMs: number | null }[]; url: string };
    assert.equal(library.length, 200);
    for (const d of library) {
      assert.notEqual(d.answeredMs, null, `a ${d.deadlineMs} ms library deadline never fired`);
      assert.ok(d.answeredMs! >= d.deadlineMs - 2 && d.answeredMs! <= d.deadlineMs + BOUND_MS, `library deadline ${d.deadlineMs} ms fired at ${d.answeredMs} ms`);
    }
    const requests = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const ms = 300 + (i % 7) * 100;
        const r = await fetch(`${url}/v1/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'q', documents: ['a', 'b'], timeout_ms: ms }), signal: AbortSignal.timeout(60_000) });
        return { ms, status: r.status, code: ((await r.json()) as { error?: { code?: string } }).error?.code, serverMs: Number(r.headers.get('x-test-server-ms')) };
      }),
    );
    for (const r of requests) {
      assert.equal(r.status, 504);
      assert.equal(r.code, 'TIMEOUT');
      assert.ok(r.serverMs >= r.ms - 2 && r.serverMs <= r.ms + BOUND_MS, `timeout_ms ${r.ms} answered after ${r.serverMs} ms`);
    }
  } finally {
    child.stdin!.end();
    await exited(child);
  }
});
