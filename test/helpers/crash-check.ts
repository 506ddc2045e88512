/**
 * What a folder must be after a cancelled write and a SIGKILL (test/cancel-crash*.test.ts): whole
 * (every listed file by size and CRC-32; the store's documents the manifest's count; `plait info`
 * exits 0), every acknowledged write in it, the cancelled write all there or not at all, and the
 * next writer leaving no stray file.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { verifyIndex } from '../../src/format/index-reader.js';
import { roleFileName } from '../../src/format/manifest.js';
import { DocStoreReader } from '../../src/docstore/index.js';
import { updateIndex } from '../../src/mutate/index-updater.js';
import { runPlait } from './cli.js';
import { strayFiles } from './living.js';

/** The folder's live docIds, after checking it whole: every listed file by size and CRC-32, the store's count against the manifest's. */
export function verifiedDocIds(path: string): Set<string> {
  const { manifest } = verifyIndex(path, { verify: 'full' });
  const store = DocStoreReader.open(join(path, roleFileName(manifest, 'docstore')), { commit: manifest.docstoreCommit ?? null });
  try {
    const ids = store.filterRowids('1', []).map((r) => store.rowidToDocId(r)!);
    assert.equal(ids.length, manifest.counts.documents, `${path}: ${ids.length} documents stored, the manifest says ${manifest.counts.documents}`);
    return new Set(ids);
  } finally {
    store.close();
  }
}

export interface CrashExpectation {
  /** Names the run in messages. */
  what: string;
  /** docIds whose writes were acknowledged before the kill. */
  acknowledged: readonly string[];
  /** The cancelled write's documents: `${prefix}0` … `${prefix}${count - 1}`. */
  prefix: string;
  count: number;
  /** 'none': it was cancelled before its commit; 'all': its commit finished; 'either': killed inside it. */
  cancelled: 'none' | 'all' | 'either';
  /** Also run `plait info` (a second process, ~0.5 s). */
  cli: boolean;
}

/** Checks the folder a crash left (see the module header); returns whether the cancelled write is in it. */
export function checkAfterCrash(path: string, e: CrashExpectation): boolean {
  const ids = verifiedDocIds(path);
  for (const id of e.acknowledged) assert.ok(ids.has(id), `${e.what}: acknowledged ${id} lost`);
  const visible = [...ids].filter((id) => id.startsWith(e.prefix)).length;
  assert.ok(visible === 0 || visible === e.count, `${e.what}: ${visible} of the cancelled write's ${e.count} documents are visible`);
  if (e.cancelled === 'none') assert.equal(visible, 0, `${e.what}: a write cancelled before its commit is visible`);
  if (e.cancelled === 'all') assert.equal(visible, e.count, `${e.what}: a write whose commit finished is not all visible`);
  if (e.cli) {
    const info = runPlait(dirname(path), ['info', path, '--json']);
    assert.equal(info.code, 0, `${e.what}: plait info: ${info.stderr}`);
  }
  // The next writer (the kernel released the killed one's lock) leaves no stray file, even one that changes nothing.
  updateIndex(path, { delete: [] }, { autoCompactShare: 1 });
  assert.deepEqual(strayFiles(path), [], `${e.what}: stray files after the next write`);
  return visible === e.count;
}
