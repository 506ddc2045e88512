/**
 * `plait add --sync` against a plain `plait add` of the same folder (sync10): the first N cisi
 * documents (default 200) written as Markdown notes, indexed, one note edited, then the folder added
 * back both ways, alternating, each through the real CLI as a user runs it (wall seconds of the
 * whole process, model load included). Also: the cost of telling unchanged documents apart —
 * comparing each input document with the stored title, text and metadata (what sync-plan.ts does)
 * against hashing every input document (what a stored per-document hash would need at the least),
 * on cisi and scifact's document stores.
 *
 * And a plain `plait add` of the same folder with nothing changed (noop10: an unchanged document is
 * not re-encoded or replaced, mutate/unchanged-upsert.ts), this build against another plait's CLI
 * (`before`, e.g. the main branch's bin/plait.js before the change), alternating, each on its own
 * copy of the index.
 *
 *   node dist/bench/add-sync.js [notes=200] [rounds=2] [before=path/to/other/bin/plait.js]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DocStoreReader, DocStoreWriter } from '../src/docstore/index.js';
import type { DocumentInput } from '../src/docstore/types.js';
import { planSync, storedMetadataOf } from '../src/mutate/sync-plan.js';
import { dataDir, machine } from './common.js';

const PLAIT = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));

function corpus(name: string): DocumentInput[] {
  const data = dataDir();
  if (data === null) throw new Error('no data folder (PLAIT_DATA_DIR)');
  return readFileSync(join(data, name, 'corpus.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { _id: string; title?: string; text: string })
    .map((d) => ({ docId: d._id, title: d.title ?? '', text: d.text }));
}

function plait(cwd: string, args: string[], bin = PLAIT): { seconds: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`plait ${args.join(' ')}: ${r.stderr}`);
  return { seconds, stdout: r.stdout.trim() };
}

function notesRun(n: number, rounds: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-sync-'));
  try {
    mkdirSync(join(dir, 'notes'));
    const docs = corpus('cisi').slice(0, n);
    for (const d of docs) writeFileSync(join(dir, 'notes', `cisi-${d.docId}.md`), `# ${d.title}\n\n${d.text}\n`);
    const built = plait(dir, ['index', 'notes', '--index', './idx', '-q']);
    console.log(`index of ${n} notes: ${built.seconds.toFixed(1)} s`);
    for (let round = 0; round < rounds; round++) {
      // One note changed before each add, so that each does the same work.
      appendFileSync(join(dir, 'notes', `cisi-${docs[0]!.docId}.md`), `\nEdited in round ${round} (sync).\n`);
      const sync = plait(dir, ['add', './idx', 'notes', '--sync', '-q']);
      console.log(`round ${round}: add --sync ${sync.seconds.toFixed(2)} s — ${sync.stdout}`);
      appendFileSync(join(dir, 'notes', `cisi-${docs[0]!.docId}.md`), `\nEdited in round ${round} (plain).\n`);
      const plain = plait(dir, ['add', './idx', 'notes', '-q']);
      console.log(`round ${round}: add       ${plain.seconds.toFixed(2)} s — ${plain.stdout}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A plain add of an unchanged folder: this build, and `before` when given, alternating, each on its own copy of the index. */
function unchangedRun(n: number, rounds: number, before: string | undefined): void {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-noop-'));
  try {
    mkdirSync(join(dir, 'notes'));
    const docs = corpus('cisi').slice(0, n);
    for (const d of docs) writeFileSync(join(dir, 'notes', `cisi-${d.docId}.md`), `# ${d.title}\n\n${d.text}\n`);
    plait(dir, ['index', 'notes', '--index', './idx', '-q']);
    cpSync(join(dir, 'idx'), join(dir, 'idx-before'), { recursive: true });
    for (let round = 0; round < rounds; round++) {
      const after = plait(dir, ['add', './idx', 'notes', '-q']);
      console.log(`round ${round}: plain add, nothing changed, this build ${after.seconds.toFixed(2)} s — ${after.stdout}`);
      if (before !== undefined) {
        const old = plait(dir, ['add', './idx-before', 'notes', '-q'], before);
        console.log(`round ${round}: plain add, nothing changed, ${before} ${old.seconds.toFixed(2)} s — ${old.stdout}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compare-with-stored against hash-every-input, on a store holding `name`'s documents (one passage each). */
function compareRun(name: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-cmp-'));
  try {
    const docs = corpus(name);
    const path = join(dir, 'docs.sqlite');
    const w = new DocStoreWriter(path);
    for (const d of docs) w.addPassage(w.addDocument(d), 0, d.text.length);
    w.close();
    const store = DocStoreReader.open(path);
    const best = (f: () => unknown): number => {
      let ms = Infinity;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        f();
        ms = Math.min(ms, performance.now() - t0);
      }
      return ms;
    };
    const compare = best(() => planSync(store, docs));
    const hash = best(() => docs.map((d) => createHash('sha256').update(d.title).update('\0').update(d.text).update('\0').update(storedMetadataOf(d) ?? '').digest()));
    const idsOnly = best(() => docs.map((d) => store.docIdToRowid(d.docId)));
    store.close();
    const bytes = docs.reduce((s, d) => s + d.title.length + d.text.length, 0);
    console.log(`${name}: ${docs.length} documents, ${(bytes / 1e6).toFixed(1)} M chars: compare with stored ${compare.toFixed(1)} ms (id lookups alone ${idsOnly.toFixed(1)} ms); sha256 of every input ${hash.toFixed(1)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const n = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 2);
console.log(JSON.stringify({ ...machine(), load: loadavg().map((l) => l.toFixed(2)).join(' ') }));
for (const name of ['cisi', 'scifact']) compareRun(name);
notesRun(n, rounds);
unchangedRun(n, rounds, process.argv[4]);
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
