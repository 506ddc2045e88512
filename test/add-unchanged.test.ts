/**
 * An upsert of an unchanged document is a no-op at every write door (Elasticsearch's detect_noop):
 * a document whose title, text and metadata equal the indexed ones is neither encoded nor
 * replaced (its passages are not tombstoned), each door counts it (`unchanged`), and a write whose
 * every document is unchanged commits no generation. Before, a plain `plait add` of the same input
 * re-encoded and replaced every indexed document: re-adding 200 cisi notes with one edited
 * tombstoned all 515 old passages and took 12.8-19.7 s (bench/RESULTS.md).
 *
 * Through the real CLI (summary and --json), the library (addCorpus, PlaitIndex.add, updateIndex)
 * and a real server on 127.0.0.1 (POST /v1/indexes/{name}/documents); and the race the comparison
 * before the encoding opens: a document another writer changes between that comparison and the
 * commit keeps the input's version (re-checked under the write lock).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPlait } from './helpers/cli.js';
import { buildIndex } from '../src/indexer/build-index.js';
import { addCorpus } from '../src/mutate/add-corpus.js';
import { encodeDocuments } from '../src/mutate/encode-documents.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import type { Encoder } from '../src/encoder/types.js';
import { readManifest } from '../src/format/index-reader.js';
import { roleFileName } from '../src/format/manifest.js';
import { DocStoreReader } from '../src/docstore/index.js';
import { isPlaitError, openIndex } from '../src/index.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
interface Line { _id: string; title: string; text: string; metadata?: Record<string, unknown> }
const LINES = readFileSync(SAMPLE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
const FIRST = LINES.slice(0, 30);

let dir: string;
let built: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-add-unchanged-'));
  built = join(dir, 'built');
  writeFileSync(join(dir, 'first.jsonl'), jsonl(FIRST));
  await buildIndex(join(dir, 'first.jsonl'), { index: built, encoderOptions: { threads: 1 } });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function jsonl(lines: readonly Line[]): string {
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}

/** A fresh copy of the built index (generation 0, 30 documents). */
function copyOf(name: string): string {
  const path = join(dir, name);
  cpSync(built, path, { recursive: true });
  return path;
}

/** A document's stored text, from the committed store. */
function storedText(path: string, docId: string): string | undefined {
  const m = readManifest(path);
  const store = DocStoreReader.open(join(path, roleFileName(m, 'docstore')), { commit: m.docstoreCommit ?? null });
  try {
    return store.storedContent(docId)?.text;
  } finally {
    store.close();
  }
}

interface AddJson {
  generation: number; committed: boolean; added: number; replaced: number; unchanged: number; encoded: number;
  passages: { live: number; awaitingCompaction: number };
}

test('plait add of what the index holds encodes nothing, replaces nothing and commits no generation; an edited document is still replaced', () => {
  const path = copyOf('cli');
  const manifest = readFileSync(join(path, 'manifest.json'));
  // Before: "added 0 new documents, replaced 30 documents (generation 1; … 30 passages of replaced or deleted documents awaiting compaction …)".
  const same = runPlait(dir, ['add', path, join(dir, 'first.jsonl'), '-q', '--threads', '1']);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /^added 0 new documents, replaced 0 documents, 30 unchanged: the index already holds the input \(generation 0 unchanged; 30 documents, \d+ passages searched\)$/m);
  assert.deepEqual(readFileSync(join(path, 'manifest.json')), manifest, 'no new generation');
  const again = runPlait(dir, ['add', path, join(dir, 'first.jsonl'), '-q', '--threads', '1', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const j = JSON.parse(again.stdout) as AddJson;
  assert.deepEqual([j.committed, j.generation, j.added, j.replaced, j.unchanged, j.encoded, j.passages.awaitingCompaction], [false, 0, 0, 0, 30, 0, 0]);

  // A dry run of the plain add counts the same (it had counted every indexed id as replaced).
  const dry = JSON.parse(runPlait(dir, ['add', path, join(dir, 'first.jsonl'), '--dry-run', '--json']).stdout) as AddJson;
  assert.deepEqual([dry.added, dry.replaced, dry.unchanged], [0, 0, 30]);

  // One edited, one new: those two encoded; only the edited one's old passages await compaction.
  const edited = FIRST.map((l, i) => (i === 3 ? { ...l, text: `${l.text} Edited once.` } : l));
  writeFileSync(join(dir, 'edited.jsonl'), jsonl([...edited, LINES[30]!]));
  const oldPassages = j.passages.live;
  const changed = JSON.parse(runPlait(dir, ['add', path, join(dir, 'edited.jsonl'), '-q', '--threads', '1', '--json']).stdout) as AddJson;
  assert.deepEqual([changed.committed, changed.generation, changed.added, changed.replaced, changed.unchanged, changed.encoded], [true, 1, 1, 1, 29, 2]);
  assert.ok(changed.passages.awaitingCompaction >= 1 && changed.passages.awaitingCompaction <= 2, JSON.stringify(changed.passages));
  assert.ok(changed.passages.live >= oldPassages + 1, JSON.stringify(changed.passages));
  assert.equal(storedText(path, FIRST[3]!._id), `${FIRST[3]!.text} Edited once.`);

  // --no-replace still refuses an indexed id, unchanged or not (README: "an id already in the index").
  const refused = runPlait(dir, ['add', path, join(dir, 'first.jsonl'), '-q', '--no-replace']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /DOCUMENT_EXISTS|already in the index/);
});

test('a document another writer changes between the comparison and the commit keeps the input\'s version: re-checked under the lock, encoded, written', async () => {
  const path = copyOf('race');
  const m = readManifest(path);
  const real = await createEncoder(m.modelSpec, { threads: 1 });
  try {
    const victim = FIRST[1]!;
    // The other writer's version of an input document the add will find unchanged.
    const theirs = await encodeDocuments([{ docId: victim._id, title: victim.title, text: 'Another writer rewrote this document.' }], real, m);
    let calls = 0;
    const encoder = new Proxy(real, {
      get(target, key) {
        if (key === 'encodeDocuments') {
          return async (texts: string[], o?: object) => {
            // While the add encodes its changed document, the other writer commits.
            if (calls++ === 0) updateIndex(path, { add: theirs });
            return target.encodeDocuments(texts, o);
          };
        }
        const v: unknown = Reflect.get(target, key);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Encoder;
    const input = FIRST.map((l, i) => (i === 0 ? { ...l, text: `${l.text} Edited.` } : l));
    writeFileSync(join(dir, 'race.jsonl'), jsonl(input));
    const r = await addCorpus(path, join(dir, 'race.jsonl'), { encoder });
    assert.equal(storedText(path, victim._id), victim.text, 'the input\'s version, not the other writer\'s');
    assert.deepEqual([r.committed, r.added, r.replaced, r.unchanged, r.encoded], [true, 0, 2, 28, 2]);
    assert.equal(calls, 2, 'the changed document, then the one the other writer changed');
    assert.equal(r.generation, 2, 'the other writer\'s generation 1, then this one');
  } finally {
    await real.close();
  }
});

test('updateIndex refuses kept documents that changed since the caller compared them (INDEX_CHANGED, changedIds, nothing written)', () => {
  const path = copyOf('keep');
  const manifest = readFileSync(join(path, 'manifest.json'));
  const d = FIRST[2]!;
  const kept = { docId: d._id, title: d.title, text: `${d.text} (not what is stored)` };
  assert.throws(() => updateIndex(path, { keep: [kept, { docId: 'not-indexed', title: '', text: 'x' }] }), (e) => isPlaitError(e, 'INDEX_CHANGED') && JSON.stringify(e.details?.['changedIds']) === JSON.stringify([d._id, 'not-indexed']));
  assert.deepEqual(readFileSync(join(path, 'manifest.json')), manifest);
  const r = updateIndex(path, { keep: [{ docId: d._id, title: d.title, text: d.text }] });
  assert.deepEqual([r.committed, r.unchanged, r.generation], [false, 1, 0]);
  assert.throws(() => updateIndex(path, { keep: [{ docId: d._id, title: d.title, text: d.text }], noReplace: true }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
});

test('PlaitIndex.add: an unchanged document is not encoded and commits nothing; a changed one replaces', async () => {
  const path = copyOf('library');
  const index = await openIndex(path, { encoderOptions: { threads: 1 }, workers: 1 });
  try {
    const encoder = await index.encoder();
    const docs = FIRST.slice(0, 3).map((l) => ({ docId: l._id, title: l.title, text: l.text }));
    const before = encoder.encodedTexts?.document ?? 0;
    const r = await index.add(docs);
    assert.deepEqual([r.committed, r.generation, r.added, r.replaced, r.unchanged], [false, 0, 0, 0, 3]);
    assert.equal(encoder.encodedTexts?.document ?? 0, before, 'nothing encoded');
    const c = await index.add([{ ...docs[0]!, text: `${docs[0]!.text} Changed.` }, docs[1]!]);
    assert.deepEqual([c.committed, c.generation, c.added, c.replaced, c.unchanged], [true, 1, 0, 1, 1]);
    assert.ok((encoder.encodedTexts?.document ?? 0) > before, 'the changed one encoded');
    assert.equal(index.manifest.tombstones?.deleted ?? 0, c.manifest.tombstones?.deleted ?? 0);
    await assert.rejects(index.add([docs[2]!], { noReplace: true }), (e) => isPlaitError(e, 'DOCUMENT_EXISTS'));
  } finally {
    await index.close();
  }
});

test('POST /documents: an unchanged document answers unchanged, encodes nothing and commits nothing; a changed one is replaced; no_replace still refuses', async () => {
  let sample: SampleIndex | undefined;
  let server: RunningServer | undefined;
  try {
    sample = await buildSample('plait-add-unchanged-http-');
    server = await serve(sample);
    const base = `${server.url}/v1/indexes/sample`;
    const docs = LINES.slice(0, 4).map((l) => ({ doc_id: l._id, title: l.title, text: l.text }));
    const before = sample.encoder.encodedTexts?.document ?? 0;
    const manifest = readFileSync(join(sample.path, 'manifest.json'));
    const searched = await postJson(`${base}/search`, { query: 'coffee', top_k: 1 });
    // Before: committed true, replaced 4, a new generation and 4 documents' passages tombstoned.
    const same = await postJson(`${base}/documents`, { documents: docs });
    assert.equal(same.status, 200, JSON.stringify(same.body));
    assert.deepEqual(
      [same.body.committed, same.body.added, same.body.replaced, same.body.unchanged, same.body.deleted, same.body.generation, same.body.generation_number],
      [false, 0, 0, 4, 0, searched.body.generation, 0],
    );
    assert.equal(sample.encoder.encodedTexts?.document ?? 0, before, 'nothing encoded');
    assert.deepEqual(readFileSync(join(sample.path, 'manifest.json')), manifest, 'no new generation');
    const changed = await postJson(`${base}/documents`, { documents: [{ ...docs[0]!, text: `${docs[0]!.text} Changed over HTTP.` }, docs[1]] });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual([changed.body.committed, changed.body.added, changed.body.replaced, changed.body.unchanged, changed.body.generation_number], [true, 0, 1, 1, 1]);
    assert.ok((sample.encoder.encodedTexts?.document ?? 0) > before);
    assert.equal(readManifest(sample.path).tombstones?.passages !== undefined, true);
    const refused = await postJson(`${base}/documents`, { documents: [docs[2]], no_replace: true });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'DOCUMENT_EXISTS');

    // Another writer changes docs[3] while the server encodes the changed docs[2]: the answer's
    // docs[3] was found unchanged before the encoding, is found changed under the lock, and is
    // encoded and written in a second try — the body's version stands.
    const m = readManifest(sample.path);
    const theirs = await encodeDocuments([{ docId: docs[3]!.doc_id, title: docs[3]!.title, text: 'Another writer rewrote this document.' }], sample.encoder, m);
    const encodeDocs = sample.encoder.encodeDocuments.bind(sample.encoder);
    let calls = 0;
    sample.encoder.encodeDocuments = async (texts, o) => {
      if (calls++ === 0) updateIndex(sample!.path, { add: theirs });
      return encodeDocs(texts, o);
    };
    try {
      const raced = await postJson(`${base}/documents`, { documents: [{ ...docs[2]!, text: `${docs[2]!.text} Changed too.` }, docs[3]] });
      assert.equal(raced.status, 200, JSON.stringify(raced.body));
      assert.deepEqual([raced.body.committed, raced.body.replaced, raced.body.unchanged, calls], [true, 2, 0, 2]);
      assert.equal(storedText(sample.path, docs[3]!.doc_id), docs[3]!.text, 'the body\'s version, not the other writer\'s');
    } finally {
      sample.encoder.encodeDocuments = encodeDocs;
    }
  } finally {
    await server?.close();
    await sample?.dispose();
  }
});
