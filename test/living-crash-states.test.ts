/**
 * Crash states, not crash timings (issue 20): each kind of change — add, upsert, delete, compact,
 * a rebuild over the index and a calibration record — runs once with the index transaction's
 * file-operation recorder on; test/helpers/crash-states.ts replays the operations and lists every
 * on-disk state a crash after each operation allows (folder entries since the last folder fsync
 * persisted or lost in any combination, un-fsynced data lost, whole or torn). Every state must open
 * (manifest and every listed file verified by size and CRC-32, the document store readable) as the
 * previous generation or the new one, with that generation's exact documents; once the change is
 * acknowledged (the folder fsync after the manifest's rename), only the new one. A control run drops
 * the folder fsync before the commit rename from the recorded sequence and must be caught.
 * Writes on a living index change the document store in place: its SQLite commit (recorded as
 * `sqliteCommit`; SQLite's journal is trusted, the store is its committed image before and after)
 * comes before the rename, and states between the two must open as the new generation (rolled
 * forward to the store's commit record). A build's store is born in place; the first write on an older build copies its store once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadIndexData, readManifest } from '../src/format/index-reader.js';
import { listedFiles, roleFileName, type IndexManifest } from '../src/format/manifest.js';
import { commitIdOf, type FsOp } from '../src/format/index-transaction.js';
import { writeCalibration, type IndexCalibration } from '../src/format/calibration-record.js';
import { publishIndex, temporaryBuildDir } from '../src/format/publish.js';
import { compactIndex, updateIndex } from '../src/mutate/index-updater.js';
import { DocStoreReader } from '../src/docstore/index.js';
import { openDatabase } from '../src/docstore/open-database.js';
import { COMMIT_RECORD_KEY } from '../src/docstore/store-commit.js';
import { getKernels } from '../src/kernels/index.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { CrashModel, type FolderState } from './helpers/crash-states.js';
import { asLegacyBuild, encodedDoc } from './helpers/living.js';

const DIM = 16;
const SKIP = /^write\.lock|\.sqlite-(wal|shm)$/;
let dir: string;
let base: TokenEmbeddings[];
let seq = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-crash-states-'));
  base = syntheticPassages(30, DIM, 11, 16, 0.35).passages;
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** What a folder opens as: its commit id and its live docIds; throws when it does not open whole. */
function openAs(path: string): { commit: string; docIds: string[] } {
  const data = loadIndexData(path, getKernels(), { verify: 'full' });
  const store = DocStoreReader.open(join(path, roleFileName(data.manifest, 'docstore')), { commit: data.manifest.docstoreCommit ?? null });
  try {
    const docIds = store.filterRowids('1', []).map((r) => store.rowidToDocId(r)!).sort();
    if (docIds.length !== data.manifest.counts.documents) throw new Error(`${docIds.length} documents stored, manifest says ${data.manifest.counts.documents}`);
    return { commit: commitIdOf(data.manifest), docIds };
  } finally {
    store.close();
  }
}

function materialise(state: FolderState): string {
  const path = join(dir, `state-${seq++}`);
  mkdirSync(path);
  for (const [name, data] of state) writeFileSync(join(path, name), data);
  return path;
}

interface Outcome {
  states: number;
  asOld: number;
  asNew: number;
  /** States that open as the new generation though the manifest's rename had not happened (rolled forward to the store's commit record). */
  rolledForward: number;
  failures: string[];
}

/** Distinct crash states seen while a change ran, each with the last operation after which it can occur. */
class StateLog {
  readonly states = new Map<string, { state: FolderState; lastOp: number }>();
  collect(model: CrashModel, op: number): void {
    for (const [key, state] of model.crashStates()) {
      const seen = this.states.get(key);
      if (seen === undefined) this.states.set(key, { state, lastOp: op });
      else seen.lastOp = op;
    }
  }
}

/** Checks every collected state: previous or new generation, and only the new one after the acknowledgement. */
function check(log: StateLog, ackAt: number, old: { commit: string; docIds: string[] }, next: { commit: string; docIds: string[] }, commitAt = ackAt): Outcome {
  const out: Outcome = { states: log.states.size, asOld: 0, asNew: 0, rolledForward: 0, failures: [] };
  const verdicts = new Map<string, string>();
  for (const { state, lastOp } of log.states.values()) {
    // A reader reads the manifest and the files it lists, nothing else: states that differ only in
    // other files open alike, so each distinct (manifest, listed files) is opened once.
    const relevant = readerView(state);
    const key = stateKey(relevant);
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = judge(relevant, old, next);
      verdicts.set(key, verdict);
    }
    if (verdict === 'old') {
      out.asOld++;
      if (lastOp >= ackAt) out.failures.push(`after op ${lastOp}: the acknowledged change is lost (opens as the previous generation)`);
    } else if (verdict === 'new') {
      out.asNew++;
      if (lastOp < commitAt) out.rolledForward++;
    }
    else out.failures.push(`after op ${lastOp} (files ${[...state.keys()].join(' ')}): ${verdict}`);
  }
  return out;
}

/** The part of a state a reader sees: the manifest and the files it lists (the whole state when the manifest is unreadable or its store is in place). */
function readerView(state: FolderState): FolderState {
  const text = state.get('manifest.json');
  let m: IndexManifest;
  try {
    m = JSON.parse(text?.toString('utf8') ?? '') as IndexManifest;
    if (!Array.isArray(m.segments)) return state;
  } catch {
    return state;
  }
  const view: FolderState = new Map([['manifest.json', text!]]);
  const manifests = [m];
  // An in-place store may hold a newer commit, whose manifest readManifest rolls forward to.
  const store = m.files?.docstore?.inPlace === true ? state.get(roleFileName(m, 'docstore')) : undefined;
  if (store !== undefined) {
    const record = recordOf(store);
    if (record !== null) manifests.push(record);
  }
  for (const f of manifests.flatMap((x) => listedFiles(x))) {
    const data = state.get(f.name);
    if (data !== undefined) view.set(f.name, data);
  }
  return view;
}

/** The manifest in a store image's commit record (store-commit.ts), or null. */
function recordOf(image: Buffer): IndexManifest | null {
  try {
    // An image cannot be opened in WAL mode: bytes 18-19 of the header say 1 (rollback journal) instead of 2.
    const copy = Buffer.from(image);
    copy[18] = 1;
    copy[19] = 1;
    const db = openDatabase(copy);
    try {
      const v = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(COMMIT_RECORD_KEY);
      return typeof v === 'string' ? (JSON.parse(v) as IndexManifest) : null;
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

function stateKey(state: FolderState): string {
  const h = createHash('sha1');
  for (const [name, data] of [...state].sort((a, b) => (a[0] < b[0] ? -1 : 1))) h.update(name).update('\0').update(data).update('\0');
  return h.digest('hex');
}

function judge(state: FolderState, old: { commit: string; docIds: string[] }, next: { commit: string; docIds: string[] }): string {
    const path = materialise(state);
    let verdict: string;
    try {
      const got = openAs(path);
      if (got.commit === old.commit && JSON.stringify(got.docIds) === JSON.stringify(old.docIds)) verdict = 'old';
      else if (got.commit === next.commit && JSON.stringify(got.docIds) === JSON.stringify(next.docIds)) verdict = 'new';
      else verdict = `opens as neither generation (${got.commit}, ${got.docIds.length} documents)`;
    } catch (e) {
      verdict = `does not open: ${(e as Error).message}`;
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
    return verdict;
}

interface Recorded {
  start: string;
  path: string;
  ops: FsOp[];
  log: StateLog;
  /** States of the same run with the folder fsyncs before the commit rename left out (a deliberately broken protocol). */
  control: StateLog;
}

/** Runs `change` on a living index with the recorder on, collecting the crash states after every operation. */
async function recordChange(name: string, change: Change, from: 'living' | 'built' | 'legacy'): Promise<Recorded> {
  const path = join(dir, name);
  await buildSynthetic(path, base, DIM);
  // A build from before stores were born in place (its first write copies the store once).
  if (from === 'legacy') asLegacyBuild(path);
  // Earlier generations, so that the change is made on a living index.
  if (from === 'living') updateIndex(path, { add: [encodedDoc('pre-a', base[0]!), encodedDoc('pre-b', base[1]!)], delete: ['d2'] }, { autoCompactShare: 1 });
  const start = join(dir, `${name}-start`);
  cpSync(path, start, { recursive: true });
  const ops: FsOp[] = [];
  const model = new CrashModel(path, SKIP);
  const broken = new CrashModel(path, SKIP);
  const log = new StateLog();
  const control = new StateLog();
  log.collect(model, -1);
  let committed = false;
  await change(path, (op) => {
    ops.push(op);
    model.apply(op);
    log.collect(model, ops.length - 1);
    if (op.op === 'rename' && op.to === 'manifest.json') committed = true;
    if (!(op.op === 'fsyncDir' && !committed)) {
      broken.apply(op);
      control.collect(broken, ops.length - 1);
    }
  });
  return { start, path, ops, log, control };
}

type Change = (path: string, onOp: (op: FsOp) => void) => void | Promise<void>;

const RECORD = { createdAt: 'now', target: 0.99, source: 'corpus', queries: 1, queriesByKind: {}, gridPoints: 1, costMs: 1, budgetMs: 1, truncated: false, documents: 31, passages: 33, buckets: [] } as IndexCalibration;

/** The ids a sync's input holds besides those it adds: every living-index id but d6, d7 and pre-a. */
const SYNC_KEEP = [...Array.from({ length: 30 }, (_, i) => `d${i}`).filter((id) => id !== 'd6' && id !== 'd7'), 'pre-b'];

const CHANGES: Record<string, Change> = {
  // The first write on an index built before stores were born in place: its store (listed with a
  // CRC) is copied once into an in-place store.
  'first write on an older build': (path, onOp) => void updateIndex(path, { add: [encodedDoc('new-1', base[3]!)], delete: ['d6'] }, { onOp, autoCompactShare: 1 }),
  // The first write on a build: its store was born in place and is changed in place.
  'first write on a build': (path, onOp) => void updateIndex(path, { add: [encodedDoc('new-1', base[3]!)], delete: ['d6'] }, { onOp, autoCompactShare: 1 }),
  add: (path, onOp) => void updateIndex(path, { add: [encodedDoc('new-1', base[3]!), encodedDoc('new-2', base[4]!)] }, { onOp, autoCompactShare: 1 }),
  // An add while no deleted passage awaits compaction: no tombstone bitmap is written (nor listed).
  'add without deletions': (path, onOp) => void updateIndex(path, { add: [encodedDoc('new-1', base[3]!), encodedDoc('new-2', base[4]!)] }, { onOp, autoCompactShare: 1 }),
  upsert: (path, onOp) => void updateIndex(path, { add: [encodedDoc('d5', base[9]!)] }, { onOp, autoCompactShare: 1 }),
  delete: (path, onOp) => void updateIndex(path, { delete: ['d6', 'd7', 'pre-a'] }, { onOp, autoCompactShare: 1 }),
  // A sync (addCorpus `sync`, `plait add --sync`): one changed, one new, and the ids its input lacks
  // (d6, d7, pre-a) deleted, found under the lock — one generation like any write.
  sync: (path, onOp) => void updateIndex(path, { add: [encodedDoc('d5', base[9]!), encodedDoc('new-1', base[3]!)], deleteExcept: [...SYNC_KEEP] }, { onOp, autoCompactShare: 1 }),
  compact: (path, onOp) => void compactIndex(path, { onOp }),
  calibration: (path, onOp) => void writeCalibration(path, RECORD, { onOp }),
  rebuild: async (path, onOp) => {
    const built = join(dir, `${path.split('/').pop()!}-built`);
    await buildSynthetic(built, base.slice(0, 20), DIM);
    const tmp = temporaryBuildDir(path, { onOp });
    for (const n of readdirSync(built)) if (!/^(write\.lock|managed\.json)/.test(n)) cpSync(join(built, n), join(tmp, n));
    publishIndex(tmp, path);
  },
};

for (const [kind, change] of Object.entries(CHANGES)) {
  test(`${kind}: every crash state opens as the previous or the new generation, and as the new one once acknowledged`, async () => {
    const from = kind === 'first write on an older build' ? 'legacy' : kind === 'first write on a build' || kind === 'add without deletions' ? 'built' : 'living';
    const { start, path, ops, log, control } = await recordChange(kind.replaceAll(' ', '-'), change, from);
    const commitAt = ops.findIndex((o) => o.op === 'rename' && o.to === 'manifest.json');
    const sqliteAt = ops.findIndex((o) => o.op === 'sqliteCommit');
    const ackAt = ops.findIndex((o, i) => i > commitAt && o.op === 'fsyncDir');
    assert.ok(commitAt > 0 && ackAt > commitAt, 'the change commits by renaming the manifest, then fsyncs the folder');
    const old = openAs(start);
    const next = openAs(path);
    assert.notEqual(next.commit, old.commit);
    const r = check(log, ackAt, old, next, commitAt);
    assert.deepEqual(r.failures.slice(0, 5), [], `${r.failures.length} bad crash states of ${r.states}`);
    // Writes on a living index change the store in place: SQLite's commit comes before the rename,
    // and a crash between the two opens as the new generation (the store's commit record).
    const inPlace = ['first write on a build', 'add', 'add without deletions', 'upsert', 'delete', 'sync', 'compact'].includes(kind);
    if (kind === 'sync') {
      assert.deepEqual(old.docIds.filter((id) => !next.docIds.includes(id)).sort(), ['d6', 'd7', 'pre-a'], 'the sync deleted exactly the ids its input lacks');
      assert.ok(next.docIds.includes('new-1') && next.docIds.includes('d5'));
    }
    if (kind === 'add without deletions') assert.ok(!ops.some((o) => 'name' in o && o.name.startsWith('tombstones.')) && readManifest(path).tombstones === undefined, 'no bitmap written');
    assert.equal(sqliteAt >= 0, inPlace, 'in-place writes commit the store before the manifest');
    if (inPlace) assert.ok(sqliteAt < commitAt && r.rolledForward > 0, `states between the SQLite commit and the rename open as the new generation (${r.rolledForward})`);
    assert.ok(r.asOld > 0 && r.asNew > 0, `states open as both generations (${r.asOld} old, ${r.asNew} new, ${r.states} distinct)`);
    // The checker can fail: without the folder fsync before the commit rename, some state is bad
    // (a calibration record creates no file, so skipping that fsync cannot hurt it).
    if (kind !== 'calibration') {
      const c = check(control, ackAt, old, next);
      assert.ok(c.failures.length > 0, `dropping the folder fsync before the commit must expose a bad state (${c.states} states checked)`);
    }
    process.stderr.write(`# ${kind}: ${ops.length} file operations, ${r.states} distinct crash states (${r.asOld} open as the previous generation, ${r.asNew} as the new, ${r.rolledForward} of them before the rename)\n`);
  });
}
