/**
 * Corpus files for the reader tests: each fixture in its own folder under one temporary root
 * (removed at exit), and every document a reader yields.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCorpus } from '../../src/indexer/corpus/index.js';
import type { CorpusDocument, CorpusInput, CorpusReaderOptions } from '../../src/indexer/corpus/index.js';

/** The temporary folder every fixture lies under (removed at exit). */
export const root = mkdtempSync(join(tmpdir(), 'plait-corpus-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

let counter = 0;

/** A new empty folder under `root`. */
export function freshDir(): string {
  const dir = join(root, `f${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `content` as `name` in a fresh folder of its own; returns the file's path. */
export function fixture(name: string, content: string | Buffer): string {
  const path = join(freshDir(), name);
  writeFileSync(path, content);
  return path;
}

/** Every document `openCorpus(input, options)` yields, in order. */
export async function readAll(input: CorpusInput, options: CorpusReaderOptions = {}): Promise<CorpusDocument[]> {
  const out: CorpusDocument[] = [];
  for await (const doc of await openCorpus(input, options)) out.push(doc);
  return out;
}
