/**
 * The pid → docRowid map kept as one BLOB in the store's `meta` table (key `pid_doc`: int32
 * little-endian, one per passage in pid order), so that opening an index reads one value instead
 * of iterating every passage row: at 1M passages the row scan took 1.3 s of a 1.4 s open
 * (bench/RESULTS.md, scale). Writers (the build, every living-index write) store it in the same
 * transaction as the passages; a store without it, or with one of the wrong length (written by an
 * older plait), is read from the `passages` table as before — the table stays the truth.
 */
import type Database from 'better-sqlite3';

export const PID_DOC_KEY = 'pid_doc';

/** Stores the map from the `passages` table into `meta` (inside the caller's transaction). */
export function storePidToDoc(db: Database.Database, nPassages: number): void {
  const out = new Int32Array(nPassages);
  let i = 0;
  for (const doc of db.prepare('SELECT doc_rowid FROM passages ORDER BY pid').pluck().iterate() as IterableIterator<number>) {
    if (i < nPassages) out[i] = doc;
    i++;
  }
  if (i !== nPassages) return; // counts disagree: leave no map, so readers use the table and report it
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(PID_DOC_KEY, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
}

/** The stored map when it has exactly `nPassages` entries, else null (read the table instead). */
export function storedPidToDoc(value: unknown, nPassages: number): Int32Array | null {
  if (!(value instanceof Uint8Array) || value.byteLength !== nPassages * 4) return null;
  // Copy into an aligned buffer: better-sqlite3's Buffers may share a pool at any offset.
  const out = new Int32Array(nPassages);
  new Uint8Array(out.buffer).set(value);
  return out;
}
