/**
 * `plait delete <index> --ids <file>` given the documents to take out as a corpus (plait add's
 * input: a JSONL file, a TSV file) read each line as an id, none of which an index can hold, and
 * answered "nothing deleted: … 1 not in the index: {"_id": …}" with exit 0: a script went on as if
 * the documents were gone. Now it is INVALID_INPUT (exit 2) before the index is touched, giving the
 * command that lists the corpus's ids; the test runs that command and sees the documents go.
 * (`plait cluster delete --ids` reads its list through the same reader, readIdFile.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { PLAIT_BIN, runPlait } from './helpers/cli.js';

let dir: string;
let index: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plait-delete-corpus-'));
  index = join(dir, 'idx');
  await buildSynthetic(index, syntheticPassages(12, 16, 5).passages, 16);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The index's generation (absent as built: 0) and counts, from its manifest. */
async function manifest(): Promise<{ generation: number; counts: { documents: number } }> {
  const m = JSON.parse(await readFile(join(index, 'manifest.json'), 'utf8')) as { generation?: number; counts: { documents: number } };
  return { generation: m.generation ?? 0, counts: m.counts };
}

/** The command line the message gives (after the last ": "), `plait` run as this checkout's bin. */
function suggested(stderr: string): string {
  const line = stderr.split('\n')[0]!.replace(/ \[INVALID_INPUT\]$/, '');
  const command = line.slice(line.lastIndexOf(': ') + 2);
  assert.match(command, /\| plait delete /, stderr);
  return command.replace('| plait ', `| ${JSON.stringify(process.execPath)} ${JSON.stringify(PLAIT_BIN)} `);
}

test('plait delete --ids corpus.jsonl is INVALID_INPUT (exit 2), nothing committed, and the jq command it gives deletes those documents', async () => {
  const corpus = join(dir, 'gone.jsonl');
  await writeFile(corpus, '{"_id": "d3", "title": "", "text": "three"}\n{"_id": "d5", "title": "", "text": "five"}\n');
  const before = await manifest();
  const r = runPlait(dir, ['delete', index, '--ids', corpus]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /gone\.jsonl line 1 is a JSON object, not a document id: --ids reads one id a line/);
  assert.match(r.stderr, /\[INVALID_INPUT\]/);
  assert.equal((await manifest()).generation, before.generation, 'nothing committed');
  execFileSync('sh', ['-c', suggested(r.stderr)], { cwd: dir });
  const after = await manifest();
  assert.equal(after.generation, before.generation + 1);
  assert.equal(after.counts.documents, before.counts.documents - 2);
});

test('plait delete --ids on a TSV corpus names the tab and cut -f1; --json carries the file and option', async () => {
  const tsv = join(dir, 'gone.tsv');
  await writeFile(tsv, 'd7\tseven\nd8\teight\n');
  const before = await manifest();
  const r = runPlait(dir, ['delete', index, '--ids', tsv, '--json']);
  assert.equal(r.code, 2, r.stderr);
  const err = (JSON.parse(r.stderr) as { error: { code: string; message: string; details: { file?: string; option?: string } } }).error;
  assert.equal(err.code, 'INVALID_INPUT');
  assert.equal(err.details.file, tsv);
  assert.equal(err.details.option, '--ids');
  assert.match(err.message, /holds a tab .* cut -f1 /);
  assert.equal((await manifest()).generation, before.generation, 'nothing committed');
  // An id list that merely holds a brace is still read as ids: only a file of JSON objects is refused.
  const braces = join(dir, 'braces.txt');
  await writeFile(braces, 'd9\n{not json}\n');
  const ok = runPlait(dir, ['delete', index, '--ids', braces]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /deleted 1 document.*1 not in the index: \{not json\}/);
});

test('plait delete --ids on a CSV corpus (plait add reads its header) is INVALID_INPUT naming the header, and the command it gives deletes those rows', async () => {
  // A quoted text with a comma and a line break: the command must read the CSV as CSV, not cut it.
  const csv = join(dir, 'gone.csv');
  await writeFile(csv, 'id,title,text,year\nd10,"Ten, again","ten\nlines",1990\nd11,,eleven,1991\n');
  const before = await manifest();
  const r = runPlait(dir, ['delete', index, '--ids', csv]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /gone\.csv line 1 is a CSV header \("id,title,text,year"\), not a document id/);
  assert.match(r.stderr, /by their "id" column: python3 /);
  assert.equal((await manifest()).generation, before.generation, 'nothing committed');
  execFileSync('sh', ['-c', suggested(r.stderr)], { cwd: dir });
  const after = await manifest();
  assert.equal(after.counts.documents, before.counts.documents - 2);
  // From standard input too (plait cluster delete reads its list through the same reader).
  const piped = spawnSync(process.execPath, [PLAIT_BIN, 'delete', index, '--ids', '-'], { cwd: dir, encoding: 'utf8', input: 'doc_id,text\nd1,one\n' });
  assert.equal(piped.status, 2, piped.stderr);
  assert.match(piped.stderr, /standard input line 1 is a CSV header .*… \| python3 -c .*sys\.stdin.* doc_id \| plait delete /);
});
