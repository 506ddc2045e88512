/** Helpers for living-index tests: synthetic documents ready for updateIndex, and an index folder's stray files. */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/docstore/open-database.js';
import { DocStoreUpdater } from '../../src/docstore/docstore-updater.js';
import { fileEntry, writeFileAtomic } from '../../src/format/index-files.js';
import type { TokenEmbeddings } from '../../src/encoder/types.js';
import type { EncodedDocument } from '../../src/mutate/index-updater.js';
import { readManifest } from '../../src/format/index-reader.js';
import { listedFiles, roleFileName } from '../../src/format/manifest.js';

/**
 * A one-passage document (synthetic embeddings stand in for the encoder) whose text names its
 * embedding (an FNV-1a hash of its vectors): an add of other vectors under an indexed id is a
 * changed document, as it would be with an encoder, and the same vectors again an unchanged one
 * (updateIndex compares the text, not the vectors: an upsert of an unchanged document is a no-op).
 */
export function encodedDoc(docId: string, embedding: TokenEmbeddings, metadata?: Record<string, unknown>): EncodedDocument {
  return { doc: { docId, title: '', text: `synthetic ${fingerprint(embedding)}`, metadata }, passages: [{ start: 0, end: 0 }], embeddings: [embedding] };
}

function fingerprint(e: TokenEmbeddings): string {
  const bytes = new Uint8Array(e.vectors.buffer, e.vectors.byteOffset, e.vectors.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return `${e.length}x${h.toString(16)}`;
}

/** The folder's own control files: the manifest, the registry of plait's files, the write lock's files, a cluster replica's lock (cluster/replica-lock.ts: kept, as write.lock is). */
const CONTROL = /^(manifest\.json|managed\.json|write\.lock|write\.lock\.held|write\.lock\.break|replica\.lock)$/;

/** Files in the index folder that the current manifest does not list (control files and an in-place store's SQLite side files excluded). */
export function strayFiles(dir: string): string[] {
  const m = readManifest(dir);
  const listed = new Set(listedFiles(m).flatMap((f) => (f.entry.inPlace === true ? [f.name, `${f.name}-wal`, `${f.name}-shm`] : [f.name])));
  return readdirSync(dir).filter((n) => !CONTROL.test(n) && !listed.has(n));
}

/**
 * Puts a built index's document store in the given form: 'legacy', as builds made it before stores
 * were born in place (rollback journal, listed with its size and CRC-32: the first write migrates
 * it by copying it once, docstore-updater.ts `migrate`), or 'inPlace', as builds make it now (WAL,
 * schema 4, listed `inPlace` with its size and CRC-32). Only for an index no write has changed.
 */
export function setBuildStoreForm(dir: string, form: 'legacy' | 'inPlace'): void {
  const m = readManifest(dir);
  const store = join(dir, roleFileName(m, 'docstore'));
  const db = openDatabase(store, { fileMustExist: true });
  const hasTokenIds = (db.pragma('table_info(passages)') as Array<{ name: string }>).some((c) => c.name === 'token_ids');
  if (form === 'legacy' || hasTokenIds) db.pragma(form === 'legacy' ? 'journal_mode = DELETE' : 'journal_mode = WAL');
  db.close();
  // A store from before schema 4 is upgraded as the first write upgrades it (in place here: a clone's copy).
  if (form === 'inPlace' && !hasTokenIds) new DocStoreUpdater(store, 'migrate').finishCopy();
  for (const side of ['-wal', '-shm']) rmSync(`${store}${side}`, { force: true });
  const docstore = form === 'legacy' ? fileEntry(store) : { ...fileEntry(store), inPlace: true as const };
  // By rename: a clone's manifest may be a hard link to another index's (bench/write-cost.ts).
  writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify({ ...m, files: { ...m.files, docstore } }, null, 2)}\n`);
}

/** A fresh build made as builds were before stores were born in place (setBuildStoreForm 'legacy'). */
export function asLegacyBuild(dir: string): void {
  setBuildStoreForm(dir, 'legacy');
}
