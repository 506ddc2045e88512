/**
 * The pid → docRowid map kept as one BLOB in the store's `meta` table (key `pid_doc`: int32
 * little-endian, one per passage in pid order), so that opening an index reads one value instead
 * of iterating every passage row: at 1M passages the row scan took 1.3 s of a 1.4 s open
 * (bench/RESULTS.md, scale). The build stores it whole; living-index writes in chunks (below), in
 * the same transaction as the passages; a store without it, or with one of the wrong length
 * (written by an older plait), is read from the `passages` table as before — the table stays the truth.
 */
import type Database from 'better-sqlite3';
import { WRITE_COST_DEFAULTS } from '../config/defaults.js';

export const PID_DOC_KEY = 'pid_doc';

/**
 * Living-index writes (schema 4, in place) keep the map in chunks of PID_DOC_CHUNK pids (keys
 * `pid_doc.0`, `pid_doc.1`, …; WRITE_COST_DEFAULTS.pidDocChunk says why that size), so that an add
 * rebuilds only the chunks its new pids fall in and a delete none (a delete changes no pid's
 * document), instead of every write scanning every passage row to rebuild one 4 MB blob. Readers
 * assume the chunk size; a store written with another is read from the passages table.
 */
export const PID_DOC_CHUNK = WRITE_COST_DEFAULTS.pidDocChunk;
const CHUNK_KEY = /^pid_doc\.(\d+)$/;

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

/**
 * Rebuilds the chunks holding pids [fromPid, nPassages) from the `passages` table and drops chunks
 * past the end (inside the caller's transaction). A store still holding the single blob is
 * converted whole. Counts that disagree with the table leave no chunk (readers use the table).
 */
export function storePidToDocChunks(db: Database.Database, fromPid: number, nPassages: number): void {
  const del = db.prepare('DELETE FROM meta WHERE key = ?');
  let from = fromPid;
  if (db.prepare('SELECT 1 FROM meta WHERE key = ?').pluck().get(PID_DOC_KEY) !== undefined) {
    del.run(PID_DOC_KEY);
    from = 0;
  }
  const nChunks = Math.ceil(nPassages / PID_DOC_CHUNK);
  for (const key of db.prepare("SELECT key FROM meta WHERE key GLOB 'pid_doc.*'").pluck().all() as string[]) {
    const k = Number(CHUNK_KEY.exec(key)?.[1] ?? -1);
    if (k >= nChunks || k < 0) del.run(key);
  }
  const read = db.prepare('SELECT doc_rowid FROM passages WHERE pid >= ? AND pid < ? ORDER BY pid').pluck();
  const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  for (let k = Math.floor(from / PID_DOC_CHUNK); k < nChunks; k++) {
    const start = k * PID_DOC_CHUNK;
    const out = new Int32Array(Math.min(PID_DOC_CHUNK, nPassages - start));
    let i = 0;
    for (const doc of read.iterate(start, start + out.length) as IterableIterator<number>) if (i < out.length) out[i++] = doc;
    if (i !== out.length) {
      for (let j = 0; j < nChunks; j++) del.run(`${PID_DOC_KEY}.${j}`);
      return;
    }
    put.run(`${PID_DOC_KEY}.${k}`, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  }
}

/** The map from its chunks (`meta` as read: key → value) when they hold exactly `nPassages` entries, else null. */
export function storedPidToDocChunks(meta: ReadonlyMap<string, unknown>, nPassages: number): Int32Array | null {
  const nChunks = Math.ceil(nPassages / PID_DOC_CHUNK);
  if (nChunks === 0) return null;
  const out = new Int32Array(nPassages);
  const bytes = new Uint8Array(out.buffer);
  for (let k = 0; k < nChunks; k++) {
    const v = meta.get(`${PID_DOC_KEY}.${k}`);
    const want = Math.min(PID_DOC_CHUNK, nPassages - k * PID_DOC_CHUNK) * 4;
    if (!(v instanceof Uint8Array) || v.byteLength !== want) return null;
    bytes.set(v, k * PID_DOC_CHUNK * 4);
  }
  return out;
}
