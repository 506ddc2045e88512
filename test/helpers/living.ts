/** Helpers for living-index tests: synthetic documents ready for updateIndex, and an index folder's stray files. */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/docstore/open-database.js';
import { fileEntry } from '../../src/format/index-files.js';
import type { TokenEmbeddings } from '../../src/encoder/types.js';
import type { EncodedDocument } from '../../src/mutate/index-updater.js';
import { readManifest } from '../../src/format/index-reader.js';
import { listedFiles, roleFileName } from '../../src/format/manifest.js';

/** A one-passage document with empty text (synthetic embeddings stand in for the encoder). */
export function encodedDoc(docId: string, embedding: TokenEmbeddings, metadata?: Record<string, unknown>): EncodedDocument {
  return { doc: { docId, title: '', text: '', metadata }, passages: [{ start: 0, end: 0 }], embeddings: [embedding] };
}

/** The folder's own control files: the manifest, the registry of plait's files, the write lock's files. */
const CONTROL = /^(manifest\.json|managed\.json|write\.lock|write\.lock\.held|write\.lock\.break)$/;

/** Files in the index folder that the current manifest does not list (control files and an in-place store's SQLite side files excluded). */
export function strayFiles(dir: string): string[] {
  const m = readManifest(dir);
  const listed = new Set(listedFiles(m).flatMap((f) => (f.entry.inPlace === true ? [f.name, `${f.name}-wal`, `${f.name}-shm`] : [f.name])));
  return readdirSync(dir).filter((n) => !CONTROL.test(n) && !listed.has(n));
}

/**
 * Turns a fresh build into one made before document stores were born in place: the store in
 * rollback-journal mode, listed with its size and CRC-32 — what the first write on such an index
 * migrates by copying it once (docstore-updater.ts, `migrate`).
 */
export function asLegacyBuild(dir: string): void {
  const m = readManifest(dir);
  const store = join(dir, roleFileName(m, 'docstore'));
  const db = openDatabase(store, { fileMustExist: true });
  db.pragma('journal_mode = DELETE');
  db.close();
  for (const side of ['-wal', '-shm']) rmSync(`${store}${side}`, { force: true });
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify({ ...m, files: { ...m.files, docstore: fileEntry(store) } }, null, 2)}\n`);
}
