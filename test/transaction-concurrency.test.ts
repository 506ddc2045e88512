/**
 * Concurrent writers (issue 20): calibrate + add, two adds, rebuild + add (and all four at once),
 * started as child processes at the same instant, cycle after cycle, with the flock lock and with
 * the record fallback. Each contender logs its file operations inside the lock to a shared file:
 * no two contenders' lines may interleave (never two lock holders), and replaying the contenders in
 * the order they held the lock must give exactly the documents the index holds (never a lost
 * acknowledged write: an add acknowledged after a rebuild's commit is in the index). Who wins the
 * lock first is chance, and the adds often all win it before a rebuild; so in every second round of
 * the mixes the adds start contending only once the rebuild holds the lock (they retry while it
 * copies and publishes), which makes an add committed after a rebuild certain in every run.
 * Cycles: PLAIT_RACE_CYCLES (default 12, ~40 s on the loaded 2-core machine; at least 7 for an
 * ordered rebuild cycle).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from '../src/format/index-reader.js';
import { roleFileName } from '../src/format/manifest.js';
import { DocStoreReader } from '../src/docstore/index.js';
import { buildSynthetic } from '../fixtures/synthetic-index.js';
import { racePassages, RACE_DIM } from './helpers/tx-racer.js';

const RACER = fileURLToPath(new URL('./helpers/tx-racer.js', import.meta.url));
const CYCLES = Number(process.env.PLAIT_RACE_CYCLES ?? 12);
const MIXES: string[][] = [
  ['add', 'add'],
  ['calibrate', 'add'],
  ['rebuild', 'add'],
  ['rebuild', 'add', 'add', 'calibrate'],
];
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-race-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function docIdsOf(path: string): Set<string> {
  const m = readManifest(path);
  const store = DocStoreReader.open(join(path, roleFileName(m, 'docstore')));
  try {
    return new Set(store.filterRowids('1', []).map((r) => store.rowidToDocId(r)!));
  } finally {
    store.close();
  }
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RACER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`racer ${args[2]} ${args[3]} exited ${code}: ${err}`))));
  });
}

test(`${CYCLES} cycles of writers started at the same instant: one lock holder at a time, no acknowledged write lost`, async () => {
  const path = join(dir, 'idx');
  const built = join(dir, 'built');
  const passages = racePassages();
  await buildSynthetic(path, passages, RACE_DIM);
  await buildSynthetic(built, passages.slice(0, 12), RACE_DIM);
  const rebuilt = [...docIdsOf(built)];
  let expected = docIdsOf(path);
  const tally = { acks: 0, refused: 0, rebuilds: 0, addsAfterRebuild: 0 };
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const mix = MIXES[cycle % MIXES.length]!;
    const env = { ...process.env, ...(cycle % 2 === 1 ? { PLAIT_LOCK: 'record' } : {}) };
    const log = join(dir, `log-${cycle}`);
    writeFileSync(log, '');
    const startAt = String(Date.now() + 2500);
    const names = mix.map((role, i) => `c${cycle}-${role}-${i}`);
    const rebuilder = names[mix.indexOf('rebuild')];
    const ordered = rebuilder !== undefined && Math.floor(cycle / MIXES.length) % 2 === 1;
    const outs = await Promise.all(
      mix.map((role, i) => run([path, log, role, names[i]!, startAt, built, ...(ordered && role === 'add' ? [rebuilder] : [])], env)),
    );
    const acked = new Set(outs.flatMap((o) => o.split('\n').filter((l) => l.startsWith('ack ')).map((l) => l.split(' ')[1]!)));
    tally.acks += acked.size;
    tally.refused += outs.join('').split('\n').filter((l) => l.startsWith('refused ')).length;
    for (const o of outs) for (const l of o.split('\n')) if (l.startsWith('refused ')) assert.match(l, /INDEX_CHANGED$/, `only a calibration that measured a changed index may be refused: ${l}`);
    // The holders, in lock order: runs of one contender's lines; a contender twice means two holders overlapped.
    const order: string[] = [];
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const who = line.split(' ')[0];
      if (!who || order.at(-1) === who) continue;
      assert.ok(!order.includes(who), `cycle ${cycle}: ${who} wrote again after ${order.at(-1)} took the lock (two holders)`);
      order.push(who);
    }
    // Replay in lock order against a model of the documents.
    let sawRebuild = false;
    for (const who of order) {
      const role = mix[names.indexOf(who)]!;
      if (role === 'rebuild') {
        expected = new Set(rebuilt);
        sawRebuild = true;
        tally.rebuilds++;
      } else if (role === 'add' && acked.has(who)) {
        expected.add(who);
        if (sawRebuild) tally.addsAfterRebuild++;
      }
    }
    for (const [i, role] of mix.entries()) if (role !== 'calibrate') assert.ok(acked.has(names[i]!), `cycle ${cycle}: ${names[i]} was never acknowledged`);
    assert.deepEqual([...docIdsOf(path)].sort(), [...expected].sort(), `cycle ${cycle} (${order.join(' → ')})`);
  }
  if (CYCLES >= 7) assert.ok(tally.rebuilds > 0 && tally.addsAfterRebuild > 0, `rebuilds raced with adds (${JSON.stringify(tally)})`);
  process.stderr.write(`# transaction race: ${CYCLES} cycles ${JSON.stringify(tally)}\n`);
});
