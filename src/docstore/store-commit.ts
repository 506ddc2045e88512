/**
 * The document store's commit record (schema 4): an in-place store — changed by each living-index
 * write in one SQLite transaction, not copied (docstore-updater.ts) — holds, in the same transaction
 * as the change, the whole manifest of the commit that made it (`meta.commit_manifest`, JSON). The
 * SQLite commit comes after every other file of the change is durable and before `manifest.json` is
 * renamed (index-transaction.ts), so the store can be ahead of `manifest.json` by one commit — a
 * writer killed between the two, or a reader that looks in between. Then the store's record is the
 * committed manifest (`readManifest` rolls forward to it): the two commit points are one, with
 * SQLite's as the commit and the rename as its publication. docs/ARCHITECTURE.md has the argument.
 */
import { existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openStoreForReading } from './open-database.js';
import { checkNonEmptyString } from '../errors/index.js';

/** `meta` key of the commit record. */
export const COMMIT_RECORD_KEY = 'commit_manifest';

/**
 * The commit record (manifest JSON) of the store at `path`, or null when the store has none (built,
 * or from before schema 4) or cannot be read (opening it later reports why).
 */
export function readCommitRecord(path: string): string | null {
  checkNonEmptyString('path', path, 'a document store file path');
  if (!existsSync(path)) return null;
  let db: Database.Database | null = null;
  try {
    db = openStoreForReading(path);
    const v = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(COMMIT_RECORD_KEY) as unknown;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** Stores the commit record inside the caller's open transaction. */
export function writeCommitRecord(db: Database.Database, manifestJson: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(COMMIT_RECORD_KEY, manifestJson);
}

/** The commit id a record names (its manifest's `commit`), or null. */
export function commitOfRecord(record: string | null): string | null {
  if (record === null) return null;
  try {
    const c = (JSON.parse(record) as { commit?: unknown }).commit;
    return typeof c === 'string' ? c : null;
  } catch {
    return null;
  }
}
