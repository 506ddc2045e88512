/**
 * Cost of evaluating compiled metadata filters (issue 21) over a documents table, against a
 * baseline in the same process: the plain scalar SQL the compiler emitted before arrays were
 * matched (`COALESCE((json_type(metadata, ?) = 'text' AND json_extract(metadata, ?) = ?), 0)`,
 * its OR-chains for $in). The compiler now tests each field as
 * `CASE json_type(...) WHEN 'array' THEN EXISTS (json_each …) WHEN 'text' THEN <test> … ELSE 0 END`
 * (one json_type and one json_extract per scalar row) and binds a list as one json_each
 * parameter. Prints ms per full scan (median of 7) and the ratio.
 *
 *   npm run build:ts && node dist/bench/filter-sql.js [documents = 100000]
 */
import Database from 'better-sqlite3';
import { compileFilter } from '../src/docstore/metadata-filter.js';
import { isMain, machine } from './common.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export function runFilterSqlBench(n: number): void {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE documents (doc_rowid INTEGER PRIMARY KEY, doc_id TEXT, metadata TEXT)');
  const ins = db.prepare('INSERT INTO documents VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < n; i++) ins.run(i, `d${i}`, JSON.stringify({ year: 2000 + (i % 25), tag: i % 20 === 0 ? 'rare' : 'common', venue: { name: i % 3 === 0 ? 'SIGIR' : 'ECIR' }, tags: [`t${i % 7}`, `t${i % 11}`] }));
  })();
  const time = (where: string, params: unknown[]): { ms: number; rows: number } => {
    const stmt = db.prepare(`SELECT doc_rowid FROM documents WHERE ${where}`).pluck();
    let rows = 0;
    const runs: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t = performance.now();
      rows = stmt.all(...params).length;
      runs.push(performance.now() - t);
    }
    return { ms: median(runs), rows };
  };
  const scalarEq = (path: string, v: string | number): { where: string; params: unknown[] } =>
    typeof v === 'string'
      ? { where: "COALESCE((json_type(metadata, ?) = 'text' AND json_extract(metadata, ?) = ?), 0)", params: [path, path, v] }
      : { where: "COALESCE((json_type(metadata, ?) IN ('integer', 'real') AND json_extract(metadata, ?) = ?), 0)", params: [path, path, v] };
  const years = Array.from({ length: 200 }, (_, i) => 1900 + i);
  const cases: [string, unknown, { where: string; params: unknown[] }][] = [
    ['{"tag": "rare"}', { tag: 'rare' }, scalarEq('$."tag"', 'rare')],
    ['{"venue.name": "SIGIR"}', { 'venue.name': 'SIGIR' }, scalarEq('$."venue"."name"', 'SIGIR')],
    [
      '{"year": {"$in": [200 values]}}',
      { year: { $in: years } },
      (() => {
        const parts = years.map((y) => scalarEq('$."year"', y));
        return { where: `(${parts.map((p) => p.where).join(' OR ')})`, params: parts.flatMap((p) => p.params) };
      })(),
    ],
  ];
  const m = machine();
  process.stdout.write(`filter SQL, ${n} documents in memory; ${m.cpu}, ${m.cores} cores, node ${m.node}\n\n`);
  process.stdout.write('| filter | rows | scalar-only SQL (before) ms | compiled now ms | ratio |\n|---|---|---|---|---|\n');
  for (const [label, filter, base] of cases) {
    const c = compileFilter(filter);
    const before = time(base.where, base.params);
    const now = time(c.where, c.params);
    if (before.rows !== now.rows) throw new Error(`${label}: ${before.rows} rows before, ${now.rows} now`);
    process.stdout.write(`| \`${label}\` | ${now.rows} | ${before.ms.toFixed(1)} | ${now.ms.toFixed(1)} | ${(now.ms / before.ms).toFixed(2)} |\n`);
  }
  const arr = time(compileFilter({ tags: 't3' }).where, compileFilter({ tags: 't3' }).params);
  process.stdout.write(`| \`{"tags": "t3"}\` (array field; matched nothing before) | ${arr.rows} | — | ${arr.ms.toFixed(1)} | — |\n`);
  db.close();
}

if (isMain(import.meta.url)) runFilterSqlBench(Number(process.argv[2] ?? 100_000));
