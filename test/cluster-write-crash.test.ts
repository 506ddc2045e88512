/**
 * kill -9 of a replica's applier (issue 24): the applier records its stream position in the same
 * commit as the writes (manifest `appliedLog`), so a process killed anywhere — at each step of a
 * commit, then at seeded random moments — resumes where its last commit ended. After every kill the
 * index opens and its recorded position never goes back; at the end the index equals the same
 * writes applied directly (same documents, same exhaustive MaxSim answers): nothing lost, nothing
 * applied twice. Random kills: PLAIT_CLUSTER_CRASH_KILLS (default 12, ~30 s here).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { readManifest } from '../src/format/index-reader.js';
import { WriteLog } from '../src/cluster/write-log.js';
import { Random } from '../src/util/random.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { needsNatsServer } from './helpers/requirements.js';
import { applyDirect, assertSameIndex, buildBase, copyIndex, probes, randomWrites } from './helpers/cluster-writes.js';
import { strayFiles } from './helpers/living.js';

const CHILD = fileURLToPath(new URL('./helpers/cluster-applier-child.js', import.meta.url));
const KILLS = Number(process.env.PLAIT_CLUSTER_CRASH_KILLS ?? 12);
// The second commit of a run changes the document store in place (the first migrated it by one copy).
const STEPS = ['docstore-opened', 'docstore-written', 'segments-written', 'arrays-written', 'committed'];
const skip = needsNatsServer();
let dir: string;
let nats: NatsServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-clcrash-'));
  if (skip === false) nats = await startNatsServer();
});
after(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the child; `killAfterMs` SIGKILLs it that long after it is ready. Resolves with how it ended. */
function runChild(args: string[], killAfterMs?: number): Promise<{ killed: boolean; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== undefined && timer === null && out.includes('ready')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer !== null) clearTimeout(timer);
      if (signal === 'SIGKILL') resolve({ killed: true, out });
      else if (code === 0) resolve({ killed: false, out });
      else reject(new Error(`applier exited ${code}: ${err}`));
    });
  });
}

test(`kill -9 of the applier at every commit step and ${KILLS} random moments loses nothing and applies nothing twice`, { skip, timeout: 300_000 }, async () => {
  const path = join(dir, 'replica');
  const oracle = join(dir, 'oracle');
  await buildBase(path, 30, 21);
  copyIndex(path, oracle);
  const nc = await connect({ servers: nats.url });
  const log = await WriteLog.open(nc, 'crash', { shards: 1 });
  const writes = randomWrites(90, 8);
  let target = 0;
  for (const w of writes) target = (await log.append(w)).shards[0]!.sequence;
  await nc.close();
  const common = [path, nats.url, 'crash', String(target), '3'];
  let recorded = 0;
  const check = (what: string): void => {
    const m = readManifest(path); // the index opens
    const now = m.appliedLog?.sequence ?? 0;
    assert.ok(now >= recorded, `${what}: the recorded position went back from ${recorded} to ${now}`);
    recorded = now;
  };
  // A kill inside each step of a commit (the second commit of the run, so one has gone through).
  for (const step of STEPS) {
    const r = await runChild([...common, step, '2']);
    assert.ok(r.killed, `the applier reached ${step} of a second commit`);
    check(`killed at ${step}`);
  }
  const rng = new Random(99);
  let kills = 0;
  for (let i = 0; i < KILLS && recorded < target; i++) {
    const r = await runChild(common, rng.int(250));
    if (r.killed) kills++;
    check(`random kill ${i}`);
  }
  const last = await runChild(common);
  assert.equal(last.killed, false);
  assert.ok(last.out.includes('done'));
  assert.ok(kills > 0, 'at least one random kill landed before the applier finished');
  assert.deepEqual(strayFiles(path), []);
  applyDirect(oracle, writes, 0, 1);
  await assertSameIndex(path, oracle, probes(), 'after the kills');
});
