/**
 * `plait serve --max-timeout-ms` (trial6c): README told a user to raise a write's `timeout_ms` "up to
 * `--max-timeout-ms`", but no such flag existed — `plait serve … --max-timeout-ms 600000` was
 * `unknown option`, so the 300 s cap could not be changed from the command line. Now the flag sets
 * the server's maxTimeoutMs: requests may name up to it, `--timeout-ms` / `--write-timeout-ms` above
 * it are refused naming `[1, max]`, and deadlines left at their defaults give way to a lower one.
 * Sample corpus, bundled model, one `plait serve` child.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex } from '../src/index.js';
import { SERVER_DEFAULTS } from '../src/config/defaults.js';
import { resolveServerOptions } from '../src/server/options.js';
import { runPlait } from './helpers/cli.js';
import { startPlaitServe } from './helpers/plait-serve.js';
import { SAMPLE } from './helpers/server-fixture.js';

test('serve --timeout-ms / --write-timeout-ms above --max-timeout-ms are refused naming [1, max] before any index loads; --max-timeout-ms 0 too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-max-timeout-cli-'));
  try {
    for (const flag of ['--timeout-ms', '--write-timeout-ms'] as const) {
      const r = runPlait(dir, ['serve', 'no-such-index', '--max-timeout-ms', '1000', flag, '2000']);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim(), `plait: Invalid argument: Expected an integer in [1, 1000] for ${flag} but received "2000" [INVALID_ARGUMENT]`);
    }
    const zero = runPlait(dir, ['serve', 'no-such-index', '--max-timeout-ms', '0']);
    assert.equal(zero.code, 2, zero.stderr);
    assert.match(zero.stderr, /Expected an integer in \[1, 2147483647\] for --max-timeout-ms but received "0"/);
    // A lower max alone is no error: the options pass, and the index is what is missing.
    const lower = runPlait(dir, ['serve', 'no-such-index', '--max-timeout-ms', '1000']);
    assert.match(lower.stderr, /INDEX_NOT_FOUND/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('default deadlines give way to a lower maxTimeoutMs (searches as writes already did); ones asked for above it are refused', () => {
  const r = resolveServerOptions({ maxTimeoutMs: 1000 }, {});
  assert.deepEqual([r.timeoutMs, r.writeTimeoutMs, r.maxTimeoutMs], [1000, 1000, 1000]);
  const d = resolveServerOptions({}, {});
  assert.deepEqual([d.timeoutMs, d.writeTimeoutMs, d.maxTimeoutMs], [SERVER_DEFAULTS.timeoutMs, SERVER_DEFAULTS.writeTimeoutMs, SERVER_DEFAULTS.maxTimeoutMs]);
  assert.throws(() => resolveServerOptions({ maxTimeoutMs: 1000, timeoutMs: 2000 }, {}), /timeoutMs/);
});

test('plait serve --max-timeout-ms 600000 --timeout-ms 400000: a request may name 500000 ms, and 600001 or 0 is 400 naming [1, 600000]', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-max-timeout-serve-'));
  const path = join(dir, 'sample');
  try {
    await buildIndex(SAMPLE, { index: path, encoderOptions: { threads: 0 } });
    const server = await startPlaitServe([path, '--max-timeout-ms', '600000', '--timeout-ms', '400000', '--encoder-threads', '0']);
    try {
      const post = async (timeoutMs: number) => {
        const res = await fetch(`${server.url}/v1/indexes/sample/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'honey bees', top_k: 1, timeout_ms: timeoutMs }) });
        return { status: res.status, body: (await res.json()) as { error?: { message: string; details: { max: number } } } };
      };
      assert.equal((await post(500_000)).status, 200);
      const over = await post(600_001);
      assert.equal(over.status, 400);
      assert.equal(over.body.error?.message, 'Invalid argument: Expected an integer in [1, 600000] for body/timeout_ms but received 600001');
      assert.equal(over.body.error?.details.max, 600_000);
      // Below the range, the same whole range (it said "Expected an integer >= 1", no max).
      const under = await post(0);
      assert.equal(under.status, 400);
      assert.equal(under.body.error?.message, 'Invalid argument: Expected an integer in [1, 600000] for body/timeout_ms but received 0');
      assert.equal(under.body.error?.details.max, 600_000);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
