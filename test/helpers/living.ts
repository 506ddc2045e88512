/** Helpers for living-index tests: synthetic documents ready for updateIndex, and an index folder's stray files. */
import { readdirSync } from 'node:fs';
import type { TokenEmbeddings } from '../../src/encoder/types.js';
import type { EncodedDocument } from '../../src/mutate/index-updater.js';
import { readManifest } from '../../src/format/index-reader.js';
import { listedFiles } from '../../src/format/manifest.js';

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
