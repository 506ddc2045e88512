/**
 * The library's doors to input files read gzip'd files as the plain ones and refuse what they cannot
 * read instead of reading garbage: `readQueries`, `readQrels`, `readRun`, `openCorpus`,
 * `countDocuments`, `detectFileFormat` and `buildIndex` (through openCorpus) read a gzip'd file
 * (told by its magic bytes) as the plain file; a gzip that does not decompress to its end is
 * CORRUPT_INPUT naming the file; zip, bzip2, xz and zstd are COMPRESSED_INPUT naming the
 * compression; text that is not UTF-8 is TEXT_NOT_UTF8 with its line.
 * Before (an hour before this): every gzip'd file was COMPRESSED_INPUT; before that, `readFile(path,
 * 'utf8')` read a queries.jsonl.gz as TSV ("expected qid<TAB>text"), a corpus.jsonl.gz as "cannot
 * tell the format", and a Latin-1 query as "caf\uFFFD".
 * (test/gzip-input.test.ts drives the same through the CLI.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readQrels, readQueries, readRun, openCorpus, countDocuments } from '../src/index.js';
import { detectFileFormat } from '../src/indexer/corpus/index.js';
import { compressionOf, decodeInputText, firstInvalidUtf8 } from '../src/util/input-bytes.js';
import { readLineBatches } from '../src/indexer/corpus/line-reader.js';
import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-input-bytes-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const files = {
  queries: ['queries.jsonl', '{"_id": "1", "text": "bread"}\n{"_id": "2", "text": "caf\u00e9"}\n'],
  qrels: ['test.tsv', 'query-id\tcorpus-id\tscore\n1\td1\t1\n2\td2\t2\n'],
  run: ['run.trec', '1 Q0 d1 1 2.5 t\n2 Q0 d2 1 1.5 t\n'],
  corpus: ['corpus.jsonl', Array.from({ length: 50 }, (_, i) => JSON.stringify({ _id: `d${i}`, title: `t${i}`, text: `bread rises ${i}` })).join('\n') + '\n'],
} as const;

async function documents(path: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const d of await openCorpus(path)) out.push({ docId: d.docId, title: d.title, text: d.text, line: d.source.line });
  return out;
}

test('every library reader reads a gzip-compressed file as the plain file, by its magic bytes', async () => {
  for (const [name, text] of Object.values(files)) {
    writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, `${name}.gz`), gzipSync(text));
  }
  const p = (name: string): string => join(dir, name);
  assert.deepEqual(await readQueries(p('queries.jsonl.gz')), await readQueries(p('queries.jsonl')));
  assert.deepEqual(await readQrels(p('test.tsv.gz')), await readQrels(p('test.tsv')));
  assert.deepEqual(await readRun(p('run.trec.gz')), await readRun(p('run.trec')));
  assert.equal(await detectFileFormat(p('corpus.jsonl.gz')), 'beir');
  assert.equal(await countDocuments(p('corpus.jsonl.gz')), 50);
  assert.deepEqual(await documents(p('corpus.jsonl.gz')), await documents(p('corpus.jsonl')));
  // Several gzip members one after another (bgzip, `cat a.gz b.gz`) read as gzip -d reads them: the whole text.
  const half = files.corpus[1].indexOf('\n', files.corpus[1].length / 2) + 1;
  writeFileSync(p('members.jsonl.gz'), Buffer.concat([gzipSync(files.corpus[1].slice(0, half)), gzipSync(files.corpus[1].slice(half))]));
  assert.deepEqual(await documents(p('members.jsonl.gz')), await documents(p('corpus.jsonl')));
  assert.equal(await countDocuments(p('members.jsonl.gz')), 50);
  writeFileSync(p('members-queries.jsonl.gz'), Buffer.concat([gzipSync(files.queries[1].slice(0, 30)), gzipSync(files.queries[1].slice(30))]));
  assert.deepEqual(await readQueries(p('members-queries.jsonl.gz')), await readQueries(p('queries.jsonl')));
  // MS MARCO's collection.tsv.gz: TSV by the name under the .gz.
  writeFileSync(p('collection.tsv.gz'), gzipSync('d1\tbread rises\nd2\tyeast works\n'));
  assert.equal(await detectFileFormat(p('collection.tsv.gz')), 'tsv');
  assert.equal(await countDocuments(p('collection.tsv.gz')), 2);
  // A BEIR folder as the Hugging Face hub keeps it; beside its plain part (`gunzip -k`) the part is read once.
  const hub = p('hub');
  mkdirSync(hub);
  writeFileSync(join(hub, 'corpus.jsonl.gz'), gzipSync(files.corpus[1]));
  assert.equal((await documents(hub)).length, 50);
  assert.equal(await countDocuments(hub), 50);
  writeFileSync(join(hub, 'corpus.jsonl'), files.corpus[1]);
  assert.equal((await documents(hub)).length, 50, 'corpus.jsonl beside corpus.jsonl.gz: read once, no DUPLICATE_ID');
  // A gzip'd Markdown note: read as notes.md (id, title from its heading).
  const notes = p('notes');
  mkdirSync(notes);
  writeFileSync(join(notes, 'bread.md.gz'), gzipSync('# Rye bread\n\nSour and dense.\n'));
  writeFileSync(join(notes, 'plain.txt'), 'flour and water');
  const read: { docId: string; title: string }[] = [];
  for await (const d of await openCorpus(notes)) read.push({ docId: d.docId, title: d.title });
  assert.deepEqual(read, [{ docId: 'bread', title: 'Rye bread' }, { docId: 'plain', title: 'plain' }]);
  // Beside its plain copy (`gunzip -k`), a note is read once, from the plain file: no DUPLICATE_ID.
  writeFileSync(join(notes, 'bread.md'), '# Rye bread, plain\n\nSour.\n');
  const again: string[] = [];
  for await (const d of await openCorpus(notes)) again.push(`${d.docId}: ${d.title}`);
  assert.deepEqual(again, ['bread: Rye bread, plain', 'plain: plain']);
});

test('a truncated or corrupt gzip is CORRUPT_INPUT naming the file at every library door, never a partial read', async () => {
  const bad = async (what: string, p: () => Promise<unknown>, file: string): Promise<void> => {
    await assert.rejects(p, (e: { code?: string; details?: { file?: string } }) => {
      assert.equal(e.code, 'CORRUPT_INPUT', `${what}: ${String(e)}`);
      assert.equal(e.details?.file, file);
      return true;
    });
  };
  for (const [name, text] of Object.values(files)) {
    const whole = gzipSync(text);
    writeFileSync(join(dir, `cut-${name}.gz`), whole.subarray(0, whole.length - 5));
    const crc = Buffer.from(whole);
    crc[crc.length - 6]! ^= 0xff;
    writeFileSync(join(dir, `crc-${name}.gz`), crc);
  }
  for (const kind of ['cut', 'crc']) {
    const f = (name: string): string => join(dir, `${kind}-${name}.gz`);
    await bad(`${kind} readQueries`, () => readQueries(f('queries.jsonl')), f('queries.jsonl'));
    await bad(`${kind} readQrels`, () => readQrels(f('test.tsv')), f('test.tsv'));
    await bad(`${kind} readRun`, () => readRun(f('run.trec')), f('run.trec'));
    await bad(`${kind} countDocuments`, () => countDocuments(f('corpus.jsonl')), f('corpus.jsonl'));
    await bad(`${kind} openCorpus`, () => documents(f('corpus.jsonl')), f('corpus.jsonl'));
  }
  // Not deflate data at all behind the magic bytes: refused before a document is read.
  writeFileSync(join(dir, 'junk.jsonl.gz'), Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not deflate at all')]));
  await bad('detectFileFormat', () => detectFileFormat(join(dir, 'junk.jsonl.gz')), join(dir, 'junk.jsonl.gz'));
  await bad('openCorpus', () => openCorpus(join(dir, 'junk.jsonl.gz')), join(dir, 'junk.jsonl.gz'));
});

test('zip, bzip2, xz and zstd are COMPRESSED_INPUT naming the compression, at every library door', async () => {
  const magic = { zip: [0x50, 0x4b, 0x03, 0x04], bzip2: [0x42, 0x5a, 0x68, 0x39], xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], zstd: [0x28, 0xb5, 0x2f, 0xfd] } as const;
  for (const [compression, bytes] of Object.entries(magic)) {
    const file = join(dir, `corpus.${compression}`);
    writeFileSync(file, Buffer.concat([Buffer.from(bytes), Buffer.alloc(32, 7)]));
    assert.equal(compressionOf(Buffer.from(bytes)), compression);
    const refused = async (what: string, p: () => Promise<unknown>): Promise<void> => {
      await assert.rejects(p, (e: { code?: string; details?: { file?: string; compression?: string } }) => {
        assert.equal(e.code, 'COMPRESSED_INPUT', `${what} ${compression}: ${String(e)}`);
        assert.equal(e.details?.file, file);
        assert.equal(e.details?.compression, compression);
        return true;
      });
    };
    await refused('readQueries', () => readQueries(file));
    await refused('readQrels', () => readQrels(file));
    await refused('readRun', () => readRun(file));
    await refused('detectFileFormat', () => detectFileFormat(file));
    await refused('openCorpus', () => openCorpus(file));
    await refused('countDocuments', () => countDocuments(file));
  }
  // A plain file is no compression, whatever its first bytes spell in ASCII ("PK" alone is not a zip).
  assert.equal(compressionOf(Buffer.from('PK and more')), null);
  assert.equal(compressionOf(Buffer.from('{"_id": 1}')), null);
});

test('a queries or qrels file that is not UTF-8 is TEXT_NOT_UTF8 with the line of the first bad byte', async () => {
  writeFileSync(join(dir, 'latin1.jsonl'), Buffer.concat([Buffer.from('{"_id": "1", "text": "bread"}\n\n'), Buffer.from('{"_id": "2", "text": "caf\xe9"}\n', 'latin1')]));
  await assert.rejects(readQueries(join(dir, 'latin1.jsonl')), { code: 'TEXT_NOT_UTF8', details: { file: join(dir, 'latin1.jsonl'), line: 3 } });
  writeFileSync(join(dir, 'latin1.tsv'), Buffer.from('query-id\tcorpus-id\tscore\nq\u00e9\td1\t1\n', 'latin1'));
  await assert.rejects(readQrels(join(dir, 'latin1.tsv')), { code: 'TEXT_NOT_UTF8', details: { file: join(dir, 'latin1.tsv'), line: 2 } });
  // UTF-8 with a BOM and CRLF reads.
  writeFileSync(join(dir, 'bom.jsonl'), '\uFEFF{"_id": "1", "text": "caf\u00e9 \u{1F35E}"}\r\n');
  assert.deepEqual(await readQueries(join(dir, 'bom.jsonl')), [{ id: '1', text: 'caf\u00e9 \u{1F35E}' }]);
});

test('firstInvalidUtf8 agrees with a fatal TextDecoder on overlong forms, surrogates, truncation and code points past U+10FFFF', () => {
  const cases: number[][] = [
    [0x61, 0xc3, 0xa9], // valid é
    [0x61, 0xf0, 0x9f, 0x8d, 0x9e], // valid U+1F35E
    [0x61, 0xc0, 0xaf], // overlong '/'
    [0x61, 0xe0, 0x80, 0xaf], // overlong, 3 bytes
    [0x61, 0xed, 0xa0, 0x80], // an encoded surrogate
    [0x61, 0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    [0x61, 0xe2, 0x82], // truncated
    [0x61, 0x80], // a lone continuation byte
  ];
  const fatal = new TextDecoder('utf-8', { fatal: true });
  for (const c of cases) {
    const bytes = Uint8Array.from(c);
    let valid = true;
    try {
      fatal.decode(bytes);
    } catch {
      valid = false;
    }
    assert.equal(firstInvalidUtf8(bytes) === bytes.length, valid, `bytes ${c.map((b) => b.toString(16)).join(' ')}`);
    if (!valid) assert.equal(firstInvalidUtf8(bytes), 1);
    if (!valid) assert.throws(() => decodeInputText(bytes, 'f.txt', 'queries'), { code: 'TEXT_NOT_UTF8' });
  }
});

test('a large gzip\'d corpus streams: 320 MiB of decompressed lines read with a few MiB of buffers, every line counted', async () => {
  // 320 blocks of 1 MiB of JSONL, gzip'd as a stream (the file is about 4 MB).
  const line = JSON.stringify({ _id: 'x', text: 'bread rises '.repeat(8) }) + '\n';
  const block = line.repeat(Math.floor((1 << 20) / line.length));
  const blocks = 320;
  const file = join(dir, 'large.jsonl.gz');
  const out = createWriteStream(file);
  const gzip = createGzip({ level: 1 });
  gzip.pipe(out);
  for (let i = 0; i < blocks; i++) if (!gzip.write(block)) await once(gzip, 'drain');
  gzip.end();
  await once(out, 'finish');
  // Buffers still alive, not garbage awaiting collection: a full collection before each reading.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  let lines = 0;
  for await (const batch of readLineBatches(file)) {
    lines += batch.lines.length;
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }
  assert.equal(lines, blocks * (block.length / line.length));
  // Decompressed whole (gunzipSync) it would be 320 MiB of live buffers; streamed it was 7.8 MiB (one chunk each side and the batch being split): 32 MiB is 10x under the one and 4x over the other.
  assert.ok(peak < 32 * (1 << 20), `peak buffer growth ${(peak / (1 << 20)).toFixed(1)} MiB while reading 320 MiB`);
});
