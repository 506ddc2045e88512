/**
 * The library's doors to input files refuse what they cannot read instead of reading garbage: a
 * gzip'd file is COMPRESSED_INPUT (`readQueries`, `readQrels`, `readRun`, `openCorpus`,
 * `countDocuments`, `detectFileFormat`), text that is not UTF-8 is TEXT_NOT_UTF8 with its line.
 * Before, `readFile(path, 'utf8')` read a queries.jsonl.gz as TSV ("expected qid<TAB>text"), a
 * corpus.jsonl.gz as "cannot tell the format", and a Latin-1 query as "caf\uFFFD".
 * (test/eval-beir-variants.test.ts drives the same through the CLI, on cisi.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readQrels, readQueries, readRun, openCorpus, countDocuments } from '../src/index.js';
import { detectFileFormat } from '../src/indexer/corpus/index.js';
import { decodeInputText, firstInvalidUtf8 } from '../src/util/input-bytes.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-input-bytes-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('every library reader refuses a gzip-compressed file with COMPRESSED_INPUT naming it', async () => {
  const files = {
    queries: ['queries.jsonl.gz', '{"_id": "1", "text": "bread"}\n'],
    qrels: ['test.tsv.gz', 'query-id\tcorpus-id\tscore\n1\td1\t1\n'],
    run: ['run.trec.gz', '1 Q0 d1 1 2.5 t\n'],
    corpus: ['corpus.jsonl.gz', '{"_id": "d1", "text": "bread rises"}\n'],
  } as const;
  for (const [name, text] of Object.values(files)) writeFileSync(join(dir, name), gzipSync(text));
  const refused = async (what: string, p: Promise<unknown>, file: string): Promise<void> => {
    await assert.rejects(p, (e: { code?: string; details?: { file?: string } }) => {
      assert.equal(e.code, 'COMPRESSED_INPUT', `${what}: ${String(e)}`);
      assert.equal(e.details?.file, join(dir, file));
      return true;
    });
  };
  await refused('readQueries', readQueries(join(dir, files.queries[0])), files.queries[0]);
  await refused('readQrels', readQrels(join(dir, files.qrels[0])), files.qrels[0]);
  await refused('readRun', readRun(join(dir, files.run[0])), files.run[0]);
  await refused('detectFileFormat', detectFileFormat(join(dir, files.corpus[0])), files.corpus[0]);
  await refused('openCorpus', openCorpus(join(dir, files.corpus[0])), files.corpus[0]);
  await refused('countDocuments', countDocuments(join(dir, files.corpus[0])), files.corpus[0]);
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
