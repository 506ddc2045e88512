/**
 * A worker thread terminated while it is inside a call of the native addon (an index closed, or a
 * scoring pool destroyed, while a search runs there) ends that thread only. The addon had been
 * built without NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: the call, finishing on a thread that can no
 * longer run JavaScript, found its N-API calls failing, node-addon-api threw a C++ error it could not
 * hand to JavaScript, and std::terminate aborted the whole process ("terminate called after
 * throwing an instance of 'Napi::Error'", exit 134) — seen as a cluster replica dying while it was
 * stopped mid-search, and by closing an index with 2 workers during an exhaustive batch (1 close in
 * ~100). Runs in a child process, which an abort ends; the test fails before the define.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./helpers/native-terminate-child.js', import.meta.url));
const ROUNDS = 20;

test('terminating a worker thread inside a native call ends the worker, not the process', () => {
  const r = spawnSync(process.execPath, [child, 'run', String(ROUNDS)], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `the process was killed by ${r.signal}: ${r.stderr.slice(-300)}`);
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr.slice(-300)}`);
  const rounds = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { round: number; exitCode: number });
  assert.equal(rounds.length, ROUNDS);
  // worker.terminate() resolves with exit code 1 for a thread it stopped.
  assert.ok(rounds.every((x) => x.exitCode === 1), JSON.stringify(rounds));
});
