import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dataPath, needsData } from './helpers/requirements.js';
import { isPlaitError } from '../src/errors/index.js';
import {
  detectQrelsFormat,
  detectQueriesFormat,
  formatRun,
  parseQrels,
  parseQueries,
  parseRun,
  readQrels,
  readQueries,
  readRun,
  writeRun,
  type Run,
} from '../src/eval/index.js';

/** Asserts an INVALID_INPUT error naming the file and line. */
function assertBadLine(fn: () => unknown, file: string, line: number): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as { code?: string; details?: { file?: string; line?: number }; message: string };
    assert.equal(err.code, 'INVALID_INPUT');
    assert.equal(err.details?.file, file);
    assert.equal(err.details?.line, line);
    assert.match(err.message, new RegExp(`${file.replace(/[.]/g, '\\.')}:${line}:`));
    return true;
  });
}

describe('queries', () => {
  it('reads BEIR JSONL (numeric ids become strings, metadata ignored, blank lines skipped)', () => {
    const text = '{"_id": "0", "text": "first query", "metadata": {}}\n\n{"_id": 7, "text": "second"}\n';
    assert.deepEqual(parseQueries(text), [{ id: '0', text: 'first query' }, { id: '7', text: 'second' }]);
  });

  it('reads a JSONL query from "query" when it has no "text", and names the text fields of a line with neither', () => {
    assert.deepEqual(parseQueries('{"_id": "q1", "query": "deep learning"}\n'), [{ id: 'q1', text: 'deep learning' }]);
    assert.throws(
      () => parseQueries('{"_id": "q1", "question": "what is bm25", "lang": "en"}\n', { file: 'qf.jsonl' }),
      (e: unknown) => isPlaitError(e, 'INVALID_INPUT') && /qf\.jsonl:1: missing "text" \(or "query"\), a string; "question", "lang" hold text: rename the query's field to "text"/.test(e.message),
    );
  });

  it('reads TSV, skipping a header line, with CRLF line ends', () => {
    const text = 'qid\ttext\r\n1\tdeep learning\r\n2\tsparse retrieval\twith a tab\r\n';
    assert.deepEqual(parseQueries(text, { format: 'tsv' }), [
      { id: '1', text: 'deep learning' },
      { id: '2', text: 'sparse retrieval\twith a tab' },
    ]);
  });

  it('reads TREC topics: the title is the query, "Number:"/"Topic:" labels and leading zeros dropped', () => {
    const text = [
      '<top>',
      '<head> Tipster Topic Description',
      '<num> Number: 051',
      '<dom> Domain: International Economics',
      '<title> Topic: Airbus Subsidies',
      '',
      '<desc> Description:',
      'Document will discuss government assistance to Airbus.',
      '</top>',
      '',
      '<top>',
      '<num> Number: 302',
      '<title> Poliomyelitis and',
      '  Post-Polio',
      '<desc> Description: ...',
      '</top>',
      '<top><num>abc-1</num><title>inline title</title></top>',
    ].join('\n');
    assert.equal(detectQueriesFormat(text, 'topics.51-100'), 'trec-topics');
    assert.deepEqual(parseQueries(text), [
      { id: '51', text: 'Airbus Subsidies' },
      { id: '302', text: 'Poliomyelitis and Post-Polio' },
      { id: 'abc-1', text: 'inline title' },
    ]);
  });

  it('reads XML-style topics (<topic number="N"><query>), preferring <query> over <title>', () => {
    const text = [
      '<topics>',
      '  <topic number="1">',
      '    <query>coronavirus origin</query>',
      '    <question>what is the origin of COVID-19</question>',
      '  </topic>',
      "  <topic number='002'><title>only a title</title></topic>",
      '</topics>',
    ].join('\n');
    assert.equal(detectQueriesFormat(text), 'trec-topics');
    assert.deepEqual(parseQueries(text), [
      { id: '1', text: 'coronavirus origin' },
      { id: '2', text: 'only a title' },
    ]);
    assertBadLine(() => parseQueries('<topics>\n\n<topic>\n<query>x</query>\n</topic>\n', { file: 'x.xml' }), 'x.xml', 3);
    assertBadLine(() => parseQueries('<topics>\n</topics>\n', { file: 'x.xml', format: 'trec-topics' }), 'x.xml', 1);
  });

  it('detects the format by extension, then content', () => {
    assert.equal(detectQueriesFormat('1\tx\n', 'q.jsonl'), 'beir-jsonl');
    assert.equal(detectQueriesFormat('\n  {"_id":"1","text":"x"}\n', 'q.txt'), 'beir-jsonl');
    assert.equal(detectQueriesFormat('1\tx\n', 'q.tsv'), 'tsv');
  });

  it('reads a duplicated query line once (BEIR keeps one text an id) and refuses an id with another text', () => {
    const qs = parseQueries('{"_id":"1","text":"a"}\n{"_id":"2","text":"b"}\n{"_id":"1","text":"a"}\n', { file: 'q.jsonl' });
    assert.deepEqual(qs, [{ id: '1', text: 'a' }, { id: '2', text: 'b' }]);
    assert.deepEqual(parseQueries('1\ta\n1\ta\n', { format: 'tsv' }), [{ id: '1', text: 'a' }]);
  });

  it('names the file and line of a malformed query', () => {
    assertBadLine(() => parseQueries('{"_id":"1","text":"a"}\n{"_id":"2", text}\n', { file: 'q.jsonl' }), 'q.jsonl', 2);
    assertBadLine(() => parseQueries('{"_id":"1","text":"a"}\n\n{"text":"b"}\n', { file: 'q.jsonl' }), 'q.jsonl', 3);
    assertBadLine(() => parseQueries('{"_id":"1","text":"a"}\n{"_id":"1","text":"b"}\n', { file: 'q.jsonl' }), 'q.jsonl', 2);
    assertBadLine(() => parseQueries('1\tok\nno tab here\n', { file: 'q.tsv', format: 'tsv' }), 'q.tsv', 2);
    // An empty query is skipped, not refused (see eval-queries-skip.test.ts); an empty id is refused.
    assertBadLine(() => parseQueries('1\tok\n\tsome text\n', { file: 'q.tsv', format: 'tsv' }), 'q.tsv', 2);
    assertBadLine(() => parseQueries('<top>\n<num> Number: 1\n<title> a\n</top>\n\n<top>\n<num> Number: 2\n</top>\n', { file: 't.txt' }), 't.txt', 6);
  });

  it('reads a real BEIR queries file (scifact)', { skip: needsData('scifact/queries.jsonl') }, async () => {
    const queries = await readQueries(dataPath('scifact/queries.jsonl'));
    assert.equal(queries.length, 1109);
    assert.equal(queries[0]!.id, '0');
  });
});

describe('qrels', () => {
  it('reads BEIR TSV with its header', () => {
    const q = parseQrels('query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t0\n2\td1\t2\n');
    assert.deepEqual([...q.keys()], ['1', '2']);
    assert.deepEqual([...q.get('1')!], [['d1', 1], ['d2', 0]]);
    assert.deepEqual([...q.get('2')!], [['d1', 2]]);
  });

  it('reads TREC qrels (qid 0 docid rel) and detects them', () => {
    const text = '51 0 AP880212-0161 0\n51 0 AP880216-0139 1\n52 0 X 2\n';
    assert.equal(detectQrelsFormat(text), 'trec');
    const q = parseQrels(text);
    assert.equal(q.get('51')!.get('AP880216-0139'), 1);
    assert.equal(q.get('52')!.get('X'), 2);
    assert.equal(detectQrelsFormat('query-id\tcorpus-id\tscore\n'), 'beir');
  });

  it('reads every qrels variant as trec_eval (TREC) or BEIR\'s loader (BEIR) reads it: tabs, spaces, both mixed, headers, extra columns', () => {
    const want = { q1: { d1: 1, d2: 0 } };
    const variants: [string, string, 'trec' | 'beir', Record<string, Record<string, number>>][] = [
      ['TREC, spaces', 'q1 0 d1 1\nq1 0 d2 0\n', 'trec', want],
      ['TREC, tabs', 'q1\t0\td1\t1\nq1\t0\td2\t0\n', 'trec', want],
      // trec_eval splits on any white space: a tab and spaces mixed on a line are four fields (it had been BEIR, 2 fields, refused).
      ['TREC, tabs and spaces mixed', 'q1 0\td1 1\nq1\t0 d2\t0\n', 'trec', want],
      // A header naming TREC's columns is skipped (it had been read as a BEIR header, then line 2 refused).
      ['TREC with a header', 'qid iter docno rel\nq1 0 d1 1\nq1 0 d2 0\n', 'trec', want],
      ['TREC, numeric document ids (MS MARCO)', '1185869 0 0 1\n1185869 0 7 0\n', 'trec', { '1185869': { '0': 1, '7': 0 } }],
      ['TREC, the iteration varying (TREC-COVID rounds)', '1 0.5 abc 2\n1 1 def 0\n', 'trec', { '1': { abc: 2, def: 0 } }],
      ['BEIR, header, tabs', 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n', 'beir', want],
      ['BEIR, headerless, tabs', 'q1\td1\t1\nq1\td2\t0\n', 'beir', want],
      ['BEIR, headerless, spaces', 'q1 d1 1\nq1 d2 0\n', 'beir', want],
      ['BEIR, header and an extra column', 'query-id\tcorpus-id\tscore\tnote\nq1\td1\t1\tx\nq1\td2\t0\ty\n', 'beir', want],
      ['BEIR, an id holding a space', 'q1\td 1\t1\nq1\td2\t0\n', 'beir', { q1: { 'd 1': 1, d2: 0 } }],
      ['BEIR, CRLF', 'query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq1\td2\t0\r\n', 'beir', want],
    ];
    for (const [name, text, format, expected] of variants) {
      assert.equal(detectQrelsFormat(text), format, name);
      const got = Object.fromEntries([...parseQrels(text)].map(([q, judged]) => [q, Object.fromEntries(judged)]));
      assert.deepEqual(got, expected, name);
    }
  });

  it('refuses a headerless 4-column file that reads as TREC and as BEIR with an extra column, naming the line; format decides it', () => {
    // Third column an integer on every line, second column varying: `q1 d1 1 0` as TREC judges a document "1".
    const text = 'q1 d1 1 0\nq1 d2 2 0\nq2 d1 0 0\n';
    assert.throws(
      () => parseQrels(text, { file: 'qrels.txt' }),
      (e) => isPlaitError(e, 'INVALID_INPUT') && e.details?.['line'] === 2 && e.details?.['reason'] === 'ambiguousFormat' && /qrels\.txt:2: cannot tell whether/.test(e.message) && /add the header line query-id<TAB>corpus-id<TAB>score/.test(e.message),
    );
    assert.deepEqual(Object.fromEntries(parseQrels(text, { format: 'beir' }).get('q1')!), { d1: 1, d2: 2 });
    assert.deepEqual(Object.fromEntries(parseQrels(text, { format: 'trec' }).get('q1')!), { '1': 0, '2': 0 });
    // The iteration the same on every line (TREC's own qrels: 0) is TREC, even with numeric document ids.
    assert.deepEqual(Object.fromEntries(parseQrels('q1 0 1 1\nq1 0 2 0\n').get('q1')!), { '1': 1, '2': 0 });
  });

  it('names the file and line of a malformed judgment', () => {
    assertBadLine(() => parseQrels('query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\n', { file: 'qrels.tsv' }), 'qrels.tsv', 3);
    assertBadLine(() => parseQrels('query-id\tcorpus-id\tscore\n1\td1\thigh\n', { file: 'qrels.tsv' }), 'qrels.tsv', 2);
    assertBadLine(() => parseQrels('1 0 d1 1\n1 0 d1 2\n', { file: 'qrels.txt' }), 'qrels.txt', 2);
    assertBadLine(() => parseQrels('1 0 d1 1\n1 0 d2 x\n', { file: 'qrels.txt' }), 'qrels.txt', 2);
  });

  it('reads the scifact test qrels (339 rows, 300 queries)', { skip: needsData('scifact/qrels/test.tsv') }, async () => {
    const q = await readQrels(dataPath('scifact/qrels/test.tsv'));
    assert.equal(q.size, 300);
    let rows = 0;
    for (const judged of q.values()) rows += judged.size;
    assert.equal(rows, 339);
  });
});

describe('TREC runs', () => {
  it('parses, re-sorts in trec_eval order and ignores the rank column', () => {
    const text = 'q1 Q0 a 1 1.5 tag\nq1 Q0 b 2 2.5 tag\nq1 Q0 c 3 2.5 tag\nq2 Q0 z 1 -1e-3 tag\n';
    const run = parseRun(text);
    // b and c tie at 2.5: doc id descending puts c first.
    assert.deepEqual(run.get('q1'), [{ docId: 'c', score: 2.5 }, { docId: 'b', score: 2.5 }, { docId: 'a', score: 1.5 }]);
    assert.deepEqual(run.get('q2'), [{ docId: 'z', score: -0.001 }]);
  });

  it('formats ranks from 1 in the given order and round-trips through a file', async () => {
    const run: Run = new Map([
      ['q1', [{ docId: 'd9', score: 0.75 }, { docId: 'd2', score: 0.5 }]],
      ['q2', [{ docId: 'x', score: 1 / 3 }]],
    ]);
    assert.equal(formatRun(run, { tag: 'bm25' }), `q1 Q0 d9 1 0.75 bm25\nq1 Q0 d2 2 0.5 bm25\nq2 Q0 x 1 ${1 / 3} bm25\n`);
    const dir = await mkdtemp(join(tmpdir(), 'plait-eval-'));
    try {
      const path = join(dir, 'run.trec');
      await writeRun(path, run);
      assert.match(await readFile(path, 'utf8'), / plait\n$/);
      assert.deepEqual(await readRun(path), run);
      await writeFile(path, 'q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n');
      await assert.rejects(readRun(path), (e: { code?: string; details?: { file?: string; line?: number } }) => {
        assert.equal(e.code, 'INVALID_INPUT');
        assert.equal(e.details?.file, path);
        assert.equal(e.details?.line, 2);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses ids with whitespace and non-finite scores when writing', () => {
    // The TREC run's own door: ID_WHITESPACE, the code of an id the format cannot carry (ids with spaces are valid elsewhere).
    assert.throws(() => formatRun(new Map([['q 1', [{ docId: 'a', score: 1 }]]])), { code: 'ID_WHITESPACE' });
    assert.throws(() => formatRun(new Map([['q1', [{ docId: 'a', score: Number.NaN }]]])), { code: 'INVALID_ARGUMENT' });
  });

  it('names the file and line of a malformed run line', () => {
    assertBadLine(() => parseRun('q1 Q0 a 1 0.5 t\nq1 Q0 b 2 0.4\n', { file: 'r.trec' }), 'r.trec', 2);
    assertBadLine(() => parseRun('q1 Q0 a one 0.5 t\n', { file: 'r.trec' }), 'r.trec', 1);
    assertBadLine(() => parseRun('\n\nq1 Q0 a 1 NaN t\n', { file: 'r.trec' }), 'r.trec', 3);
  });
});

describe("the parse / format twins from plait's entry point", () => {
  it("are exported beside readQueries, readQrels, readRun and writeRun (README lists them as library calls; 'plait' had not exported them) and check their option keys", async () => {
    const api: Record<string, unknown> = await import('../src/index.js');
    const twins = { parseQueries: ['0\tq\n', 'formt', 'format'], parseQrels: ['q 0 d 1\n', 'formt', 'format'], parseRun: ['q Q0 d 1 1.5 t\n', 'fil', 'file'] } as const;
    for (const [name, [text, typo, meant]] of Object.entries(twins)) {
      const fn = api[name] as ((text: string, options?: object) => unknown) | undefined;
      assert.equal(typeof fn, 'function', name);
      assert.ok(fn!(text), name);
      assert.throws(() => fn!(text, { [typo]: 'x' }), (e: unknown) => {
        const err = e as { code?: string; message: string };
        assert.equal(err.code, 'INVALID_ARGUMENT', name);
        assert.ok(err.message.includes(`"${typo}" (did you mean "${meant}"?)`), `${name}: ${err.message}`);
        return true;
      });
    }
    const formatRunFn = api.formatRun as ((run: Run, options?: object) => string) | undefined;
    assert.equal(typeof formatRunFn, 'function', 'formatRun');
    assert.equal(formatRunFn!(new Map([['q1', [{ docId: 'a', score: 1.5 }]]]), { tag: 't' }), 'q1 Q0 a 1 1.5 t\n');
    assert.throws(() => formatRunFn!(new Map(), { tg: 't' }), /"tg" \(did you mean "tag"\?\)/);
  });
});
