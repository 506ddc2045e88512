/**
 * Cost of the metadata field catalogue (docstore/metadata-catalogue.ts readFieldCatalogue: one
 * json_tree pass over every document's metadata, grouped in SQLite), on wordnet-scale's 117,791
 * documents (title and text as stored) each given 4 synthetic metadata fields (a number, a string,
 * a 2-element array, a nested object), in a file-backed SQLite store. Beside it, in the same
 * process, the baseline: one compiled filter's full scan (what a filtered search already pays).
 * Prints ms (median of 5) and the ratio.
 *
 *   npm run build:ts && node dist/bench/metadata-catalogue.js [data dir = ../shared/data]
 *
 * Measured (2 shared cores under load, Node 20): see bench/RESULTS.md "Metadata field catalogue".
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFieldCatalogue } from '../src/docstore/metadata-catalogue.js';
import { compileFilter } from '../src/docstore/metadata-filter.js';
import { readMetadataTypes, scanMetadataTypes, writeMetadataTypes } from '../src/docstore/metadata-types.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(f: () => unknown): number {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    f();
    runs.push(performance.now() - t);
  }
  return median(runs);
}

const dataDir = resolve(process.argv[2] ?? '../shared/data');
const folder = join(dataDir, 'wordnet-scale');
const dir = mkdtempSync(join(tmpdir(), 'plait-catalogue-bench-'));
try {
  const db = new Database(join(dir, 'docstore.sqlite'));
  db.exec('CREATE TABLE documents (doc_rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL, metadata TEXT, n_terms INTEGER NOT NULL)');
  const ins = db.prepare('INSERT INTO documents VALUES (?, ?, ?, ?, ?, 0)');
  let n = 0;
  db.transaction(() => {
    for (const f of readdirSync(folder).filter((x) => x.endsWith('.jsonl')).sort()) {
      for (const line of readFileSync(join(folder, f), 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const d = JSON.parse(line) as { _id: string; title: string; text: string };
        const pos = d._id[0] ?? 'x';
        ins.run(n, d._id, d.title, d.text, JSON.stringify({ year: 1990 + (n % 30), pos, tags: [`t${n % 7}`, `t${n % 11}`], source: { name: n % 3 === 0 ? 'wordnet' : 'other' } }));
        n++;
      }
    }
  })();
  const catalogueMs = time(() => readFieldCatalogue(db));
  const fields = readFieldCatalogue(db);
  const c = compileFilter({ yeer: 1955 });
  const stmt = db.prepare(`SELECT doc_rowid FROM documents WHERE ${c.where}`).pluck();
  const filterMs = time(() => stmt.all(...c.params));
  // The type counts (metadata-types.ts): counted once (an older store's first write, or a read-only
  // one's first filtered search), then read from the metadata_types table.
  const scanMs = time(() => scanMetadataTypes(db));
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID');
  db.prepare("INSERT INTO meta VALUES ('documents', ?)").run(n);
  db.transaction(() => writeMetadataTypes(db, scanMetadataTypes(db), `${n}:`))();
  const tableMs = time(() => readMetadataTypes(db));
  db.close();
  process.stdout.write(
    `documents ${n}; fields ${[...fields].map(([k, v]) => `${k}:${[...v].join('|')}`).join(' ')}\n` +
      `catalogue (json_tree, grouped) ${catalogueMs.toFixed(1)} ms; one filter scan (the baseline a filtered search pays) ${filterMs.toFixed(1)} ms; ratio ${(catalogueMs / filterMs).toFixed(2)}\n` +
      `type counts: counted over every document (JSON.parse) ${scanMs.toFixed(1)} ms; read from the metadata_types table ${tableMs.toFixed(3)} ms\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
