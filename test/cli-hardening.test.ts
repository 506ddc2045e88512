/**
 * Issue 8, CLI and files: what a new user hit in the first hour, each replayed through the CLI in
 * a child process — exit codes and JSON usage errors, option limits and help, paths checked before
 * any long work, batch search output, empty queries and documents, index name resolution, Ctrl-C.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PLAIT_BIN, runPlait, type CliResult } from './helpers/cli.js';
const BIN = PLAIT_BIN;
const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
let dir: string;

const plait = (...args: string[]): CliResult => runPlait(dir, args);

/** The one JSON error line a `--json` command writes on stderr. */
function jsonError(r: CliResult): { code: string; message: string; details?: Record<string, unknown> } {
  const lines = r.stderr.trim().split('\n');
  return (JSON.parse(lines[lines.length - 1]!) as { error: { code: string; message: string; details?: Record<string, unknown> } }).error;
}

/** The first `n` documents of the sample corpus (small builds: the bundled model is slow). */
function sampleLines(n: number): string[] {
  return readFileSync(SAMPLE, 'utf8').trim().split('\n').slice(0, n);
}

function writeBeir(folder: string, extraDocs: string[] = []): void {
  mkdirSync(join(folder, 'qrels'), { recursive: true });
  writeFileSync(join(folder, 'corpus.jsonl'), [...sampleLines(12), ...extraDocs].join('\n') + '\n');
  writeFileSync(join(folder, 'queries.jsonl'), ['{"_id":"q1","text":"why does bread rise"}', '{"_id":"q2","text":"  "}', '{"_id":"q3","text":"coffee roasting"}'].join('\n') + '\n');
  writeFileSync(join(folder, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\tbread-yeast\t1\nq2\tbread-yeast\t1\nq3\tcoffee-roasting\t1\n');
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-hard-'));
  const built = plait('index', SAMPLE, '--index', 'sample', '--threads', '1', '--quiet');
  assert.equal(built.code, 0, built.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('usage errors exit 2 (item 8) and speak JSON with --json (item 28)', () => {
  test('bare plait, an unknown command, an unknown option, a missing required option or argument', () => {
    for (const args of [[], ['frobnicate'], ['search', 'sample', 'q', '--bogus'], ['index', SAMPLE], ['search'], ['rerank', '--docs', 'x']]) {
      const r = plait(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      // Text mode names the code too, as every other error does.
      assert.match(r.stderr, /^plait: .* \[USAGE\]$/m, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.equal(plait('--help').code, 0);
    assert.equal(plait('--version').code, 0);
  });

  test('--json turns every usage error into {"error": {code, message, details}}', () => {
    const cases: [string[], string][] = [
      [['search', 'sample', 'q', '--bogus', '--json'], 'unknownOption'],
      [['rerank', '--docs', 'x.jsonl', '--json'], 'missingMandatoryOptionValue'],
      [['search', 'sample', '--json'], 'missingArgument'],
      [['search', 'sample', '-honey', '--json'], 'unknownOption'],
    ];
    for (const [args, reason] of cases) {
      const r = plait(...args);
      assert.equal(r.code, 2, r.stderr);
      const err = jsonError(r);
      assert.equal(err.code, 'USAGE', r.stderr);
      assert.equal(err.details?.['reason'], reason);
      assert.equal(r.stderr.trim().split('\n').length, 1, `only the JSON line: ${r.stderr}`);
    }
    // A query beginning with '-' is refused with a hint at '--', and goes through after it.
    assert.match(String(jsonError(plait('search', 'sample', '-honey', '--json')).details?.['hint']), /'--'/);
    const dashed = plait('search', 'sample', '--json', '-k', '2', '--', '-honeybee waggle dance');
    assert.equal(dashed.code, 0, dashed.stderr);
    assert.equal((JSON.parse(dashed.stdout) as { hits: { docId: string }[] }).hits[0]!.docId, 'honeybees');
  });

  test('-k 0 and -k 100000 both name topK and its range; limits and defaults are in --help', () => {
    for (const k of ['0', '100000']) {
      const r = plait('search', 'sample', 'q', '-k', k);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`Expected an integer in \\[1, 10000\\] for -k but received "${k}" \\[INVALID_ARGUMENT\\]`));
    }
    // explain's -k too (search-15): past 10000 the library had refused it "for topK".
    const explainK = plait('explain', 'sample', 'q', 'bread-yeast', '--mode', 'hybrid', '-k', '20000');
    assert.equal(explainK.code, 2);
    assert.match(explainK.stderr, /Expected an integer in \[1, 10000\] for -k but received "20000" \[INVALID_ARGUMENT\]/);
    const search = plait('search', '--help').stdout.replace(/\s+/g, ' ');
    assert.match(search, /results per query \(topK\), 1–10000 \(default: 10\)/);
    assert.match(search, /\(nIvfProbe\), 1–4194304 \(default: the index's calibration \(plait calibrate\), else by k: 1, 2, 4 for k <= 10, <= 100, beyond; and at least 32·that many cells a query\)/);
    assert.match(search, /--plaid-defaults <table> .*\(choices: "plait", "colbert"\)/);
    assert.match(search, /choices: "late", "bm25", "hybrid"/);
    const index = plait('index', '--help').stdout.replace(/\s+/g, ' ');
    assert.doesNotMatch(index, /\(default\) \(default: true\)/);
    assert.match(index, /--split split long documents into overlapping passages \(default: true\)/);
    assert.match(index, /--kmeans-iters <n> k-means iterations, >= 0 \(default: 4, as ColBERT\)/);
    assert.match(index, /--threads <n> encoder worker threads, 0–1024 \(0 = in-process; default: one per core, at most 4\)/);
    assert.match(plait('eval', '--help').stdout.replace(/\s+/g, ' '), /--depth <n> results per query, 10–10000/);
    const mode = plait('search', 'sample', 'q', '--mode', 'lat');
    assert.equal(mode.code, 2);
    assert.match(mode.stderr, /Allowed choices are late, bm25, hybrid\. \[INVALID_ARGUMENT\]/);
    const quantize = plait('encode', '--quantize', 'int4', 'text');
    assert.equal(quantize.code, 2);
    assert.match(quantize.stderr, /argument 'int4' is invalid\. Allowed choices are int8\. \[INVALID_ARGUMENT\]/);
  });

  test('plait info --kernels (which a script mentions) exists, with and without an index', () => {
    const k = plait('info', '--kernels', '--json');
    assert.equal(k.code, 0, k.stderr);
    assert.match((JSON.parse(k.stdout) as { kernels: { active: string } }).kernels.active, /^(native|typescript)/);
    assert.match(plait('info', 'sample', '--kernels').stdout, /^kernels\s+\S+.*; fast-scan (avx512-vbmi-vnni|avx512bw|avx2|neon|scalar|typescript)\b/m);
    // The JSON names the fast-scan lookup path too (native-kernels/src/fast-scan.cc).
    assert.match((JSON.parse(k.stdout) as { kernels: { fastScanPath: string } }).kernels.fastScanPath, /^(avx512-vbmi-vnni|avx512bw|avx2|neon|scalar|typescript)$/);
    // The CPU report names the flags that pick the paths (the VNNI int8 scores, fast-scan's vpermb), as the CPU reports them.
    const cpu = (JSON.parse(k.stdout) as { kernels: { cpu: Record<string, unknown> } }).kernels.cpu;
    const flags = new Set(process.platform !== 'linux' ? [] : readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'))?.split(':')[1]?.trim().split(/\s+/) ?? []);
    for (const [field, flag] of [['avx512vl', 'avx512vl'], ['avx512vbmi', 'avx512vbmi'], ['avx512vnni', 'avx512_vnni'], ['avx512bw', 'avx512bw']] as const) {
      if (process.platform === 'linux') assert.equal(cpu[field], process.arch === 'x64' && flags.has(flag), field);
    }
    assert.equal(plait('info').code, 2);
  });
});

describe('paths and options are checked before any long work (item 2)', () => {
  test('missing inputs are FILE_NOT_FOUND, exit 2, naming the option', () => {
    writeFileSync(join(dir, 'q.tsv'), 'q1\tbread\n');
    writeFileSync(join(dir, 'qrels.tsv'), 'q1\t0\tbread-yeast\t1\n');
    const cases: [string[], RegExp][] = [
      [['eval', 'sample', '--queries', 'nope.tsv', '--qrels', 'qrels.tsv', '--json'], /--queries: no such file nope\.tsv/],
      [['eval', 'sample', '--queries', 'q.tsv', '--qrels', 'nope.tsv', '--json'], /--qrels: no such file nope\.tsv/],
      [['search', 'sample', '--queries', 'nope.tsv', '--json'], /--queries: no such file/],
      [['rerank', '--query', 'x', '--docs', 'nope.jsonl', '--json'], /--docs: no such file/],
      [['index', 'no-corpus.jsonl', '--index', 'x', '--json'], /no corpus at no-corpus\.jsonl/],
    ];
    for (const [args, message] of cases) {
      const r = plait(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const err = jsonError(r);
      assert.equal(err.code, 'FILE_NOT_FOUND');
      assert.match(err.message, message);
    }
  });

  test('a typo in --modes or --baseline on a BEIR folder fails before the build starts', () => {
    const beir = join(dir, 'beir-typo');
    writeBeir(beir);
    for (const [args, re] of [
      [['--modes', 'plaid,hybird'], /unknown mode "hybird"/],
      [['--baseline', 'bm52'], /--baseline "bm52" is not one of the modes/],
      [['--sweep', 'ncels=2'], /unknown sweep setting "ncels"/],
    ] as [string[], RegExp][]) {
      const r = plait('eval', beir, '--index', 'beir-typo', ...args, '--json');
      assert.equal(r.code, 2, r.stderr);
      assert.match(jsonError(r).message, re);
      assert.ok(!existsSync(join(dir, 'indexes', 'beir-typo')), 'nothing was built');
    }
  });

  test('--run and --report in missing folders are created; a folder where a file should be is refused', () => {
    writeFileSync(join(dir, 'q2.tsv'), 'q1\tbread and yeast\nq2\tglaciers carving valleys\n');
    writeFileSync(join(dir, 'qrels2.tsv'), 'q1\t0\tbread-yeast\t1\nq2\t0\tglaciers\t1\n');
    const run = plait('search', 'sample', '--queries', 'q2.tsv', '--run', join('new', 'deeper', 'run.trec'), '-k', '3');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(join(dir, 'new', 'deeper', 'run.trec'), 'utf8').trim().split('\n').length, 6);
    const ev = plait('eval', 'sample', '--queries', 'q2.tsv', '--qrels', 'qrels2.tsv', '--modes', 'bm25', '--depth', '10', '--report', join('rep', 'sub', 'r.html'), '--run-dir', join('runs', 'x'), '--quiet');
    assert.equal(ev.code, 0, ev.stderr);
    for (const f of ['r.html', 'r.json', 'r.txt']) assert.ok(existsSync(join(dir, 'rep', 'sub', f)), f);
    // Item 13: the report records what produced it.
    const meta = (JSON.parse(readFileSync(join(dir, 'rep', 'sub', 'r.json'), 'utf8')) as { meta: { index: string; model: string; plaitVersion: string; machine: { cpu: string; cores: number }; depth: number } }).meta;
    assert.equal(meta.index, join(dir, 'indexes', 'sample'));
    assert.equal(meta.model, 'bundled:use-lite');
    assert.equal(meta.plaitVersion, (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version);
    assert.ok(meta.machine.cores >= 1 && meta.machine.cpu.length > 0);
    assert.equal(meta.depth, 10);
    assert.match(readFileSync(join(dir, 'rep', 'sub', 'r.html'), 'utf8'), /class="meta">index .*model bundled:use-lite · depth 10 · .* cores.* · plait /);
    assert.ok(existsSync(join(dir, 'runs', 'x', 'bm25.trec')));
    mkdirSync(join(dir, 'a-folder.trec'));
    const bad = plait('search', 'sample', '--queries', 'q2.tsv', '--run', 'a-folder.trec', '--json');
    assert.equal(bad.code, 2);
    assert.equal(jsonError(bad).code, 'INVALID_ARGUMENT');
  });

  test('a build never takes over a folder that is not an index', () => {
    mkdirSync(join(dir, 'indexes', 'notes'), { recursive: true });
    writeFileSync(join(dir, 'indexes', 'notes', 'keep.txt'), 'mine');
    const r = plait('index', SAMPLE, '--index', 'notes', '--json', '--threads', '1');
    assert.equal(r.code, 2, r.stderr);
    assert.equal(jsonError(r).code, 'DESTINATION_EXISTS');
    assert.match(jsonError(r).message, /is a folder with 1 entry \(keep\.txt\) and not a plait index/);
    assert.equal(readFileSync(join(dir, 'indexes', 'notes', 'keep.txt'), 'utf8'), 'mine');
  });
});

describe('batch search and empty queries (items 3, 4)', () => {
  test('search --queries without --run or --json prints the TREC run; an empty query is skipped with a warning', () => {
    writeFileSync(join(dir, 'q3.tsv'), 'q1\tbread and yeast\nq2\t \nq3\tglaciers carving valleys\n');
    const r = plait('search', 'sample', '--queries', 'q3.tsv', '-k', '4', '--quiet');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 8);
    assert.match(lines[0]!, /^q1 Q0 bread-yeast 1 \S+ plait$/);
    assert.ok(lines.every((l) => !l.startsWith('q2 ')));
    assert.match(r.stderr, /skipped 1 query with empty text in q3\.tsv \(EMPTY_TEXT: "q2" at line 2\)/);
  });

  // search-15: --tag with one query, or with a batch printed as --json, was accepted and dropped.
  test('--tag names the lines of a batch\'s run; where no run is written it is refused (USAGE), not ignored', () => {
    writeFileSync(join(dir, 'qtag.tsv'), 'q1\tbread and yeast\n');
    for (const args of [['sample', 'bread and yeast'], ['sample', '--queries', 'qtag.tsv', '--json']]) {
      const r = plait('search', ...args, '--tag', 'mine', '--mode', 'bm25', '--quiet');
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      // In text, or as the JSON error line of a --json command.
      if (args.includes('--json')) assert.deepEqual([jsonError(r).code, /--tag names the lines of a TREC run/.test(jsonError(r).message)], ['USAGE', true]);
      else assert.match(r.stderr, /^plait: Usage: --tag names the lines of a TREC run: .* \[USAGE\]$/m);
    }
    const printed = plait('search', 'sample', '--queries', 'qtag.tsv', '--tag', 'mine', '--mode', 'bm25', '-k', '2', '--quiet');
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^q1 Q0 \S+ 1 \S+ mine\n/);
    const written = plait('search', 'sample', '--queries', 'qtag.tsv', '--json', '--run', 'tag.run', '--tag', 'mine', '--mode', 'bm25', '-k', '2', '--quiet');
    assert.equal(written.code, 0, written.stderr);
    assert.ok(readFileSync(join(dir, 'tag.run'), 'utf8').trim().split('\n').every((l) => l.endsWith(' mine')));
  });

  test('a batch with --run says what it wrote on stderr, with or without --pipeline; stdout stays empty', () => {
    writeFileSync(join(dir, 'qrun.tsv'), 'q1\tbread and yeast\n');
    for (const how of [['--mode', 'bm25', '-k', '2'], ['--pipeline', 'bm25:2']]) {
      const r = plait('search', 'sample', '--queries', 'qrun.tsv', '--run', 'said.run', '--quiet', ...how);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '', `${how.join(' ')}: the status line had gone to stdout with --pipeline`);
      assert.match(r.stderr, /^plait: wrote 1 query to said\.run$/m);
    }
  });

  test('search --queries says which queries had nothing to search or were clipped, as a single search does', () => {
    const long = Array.from({ length: 200 }, (_, i) => `bread${i}`).join(' ');
    writeFileSync(join(dir, 'q5.tsv'), `q1\tbread and yeast\nq2\t!!!\nq3\t${long}\nq4\t??\n`);
    const r = plait('search', 'sample', '--queries', 'q5.tsv', '-k', '1', '--quiet');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split(' ')[0]), ['q1', 'q3']);
    // Before: q2 and q4 had no run lines and nothing was said; q3 was clipped without a word.
    assert.equal(
      r.stderr,
      'plait: warning: 2 queries had no letter or digit: nothing to search, no hits (no-content): "q2", "q4"\n' +
        'plait: warning: 1 query had more tokens than the model keeps: searched on their first 128: "q3"\n',
    );
  });

  test('eval skips an empty query (warning, count in the JSON) and evaluates the others only', () => {
    writeFileSync(join(dir, 'q4.tsv'), 'q1\tbread and yeast\nq2\t\t\nq3\tglaciers carving valleys\n');
    writeFileSync(join(dir, 'qrels4.tsv'), 'q1\t0\tbread-yeast\t1\nq2\t0\tsourdough\t1\nq3\t0\tglaciers\t1\n');
    const r = plait('eval', 'sample', '--queries', 'q4.tsv', '--qrels', 'qrels4.tsv', '--modes', 'bm25', '--depth', '10', '--json');
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as { queries: number; meta: { skippedQueries: Record<string, number> }; metrics: string[] };
    assert.equal(c.queries, 2); // q2 left the evaluation instead of scoring 0
    assert.deepEqual(c.meta.skippedQueries, { EMPTY_TEXT: 1 });
    assert.match(r.stderr, /skipped 1 query with empty text/);
    // depth 10: no metric cut deeper than 10 is reported (R@100 would equal R@10).
    assert.deepEqual(c.metrics, ['ndcg@10', 'mrr@10', 'recall@10', 'p@10']);
  });
});

describe('empty documents: one behaviour for index and eval (item 1)', () => {
  const EMPTY = '{"_id":"blank","title":"","text":"   "}';

  test('index stops with EMPTY_TEXT and a hint; --skip-invalid builds, says what it skipped, and info shows it', () => {
    writeFileSync(join(dir, 'with-empty.jsonl'), [...sampleLines(10), EMPTY].join('\n') + '\n');
    const stop = plait('index', 'with-empty.jsonl', '--index', 'we', '--quiet', '--threads', '1');
    assert.equal(stop.code, 2);
    assert.match(stop.stderr, /document "blank" in with-empty\.jsonl at line 11 has no title and no text \[EMPTY_TEXT\]/);
    assert.match(stop.stderr, /add --skip-invalid/);
    const skip = plait('index', 'with-empty.jsonl', '--index', 'we', '--quiet', '--threads', '1', '--skip-invalid');
    assert.equal(skip.code, 0, skip.stderr);
    assert.match(skip.stderr, /skipped 1 invalid document \(1 EMPTY_TEXT\)/);
    assert.match(skip.stdout, /indexed 10 documents .*; skipped 1 invalid \(1 EMPTY_TEXT\)/);
    assert.match(plait('info', 'we').stdout, /^skipped\s+1 invalid \(1 EMPTY_TEXT\)$/m);
    const info = JSON.parse(plait('info', 'we', '--json').stdout) as { manifest: { skipped: Record<string, number> } };
    assert.deepEqual(info.manifest.skipped, { emptyText: 1 });
    assert.match(plait('info', 'sample').stdout, /^skipped\s+none$/m);
  });

  test('eval on a BEIR folder stops the same way, and takes the same flag', () => {
    const beir = join(dir, 'beir-empty');
    writeBeir(beir, [EMPTY]);
    const stop = plait('eval', beir, '--index', 'be', '--modes', 'bm25', '--quiet');
    assert.equal(stop.code, 2, stop.stderr);
    assert.match(stop.stderr, /\[EMPTY_TEXT\]\nplait: add --skip-invalid/);
    assert.ok(!existsSync(join(dir, 'indexes', 'be')));
    const skip = plait('eval', beir, '--index', 'be', '--modes', 'bm25', '--depth', '10', '--quiet', '--skip-invalid');
    assert.equal(skip.code, 0, skip.stderr);
    assert.match(skip.stderr, /skipped 1 invalid document \(1 EMPTY_TEXT\)/);
    const again = plait('eval', beir, '--index', 'be', '--modes', 'bm25', '--depth', '10', '--quiet');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /left out 1 invalid document \(1 EMPTY_TEXT\)/);
  });
});

describe('index names (item 9)', () => {
  test('a bare name resolves ./<name> first, then the index home', () => {
    const local = plait('index', SAMPLE, '--index', './here', '--threads', '1');
    assert.equal(local.code, 0, local.stderr);
    // Item 11: JSON progress lines count time from the start of the build, never from a phase's.
    const lines = local.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { phase: string; elapsedMs: number });
    const phases = [...new Set(lines.map((l) => l.phase))];
    assert.ok(phases.length >= 4, phases.join());
    for (let i = 1; i < lines.length; i++) assert.ok(lines[i]!.elapsedMs >= lines[i - 1]!.elapsedMs, JSON.stringify(lines.slice(i - 1, i + 1)));
    assert.ok(lines.find((l) => l.phase === 'encode' || l.phase === 'ivf')!.elapsedMs > 0);
    const info = JSON.parse(plait('info', 'here', '--json').stdout) as { path: string };
    assert.equal(info.path, join(dir, 'here'));
    const s = plait('search', 'here', 'honeybee waggle dance', '-k', '1', '--json');
    assert.equal(s.code, 0, s.stderr);
    // The index home still serves names that are not in the current folder.
    assert.equal((JSON.parse(plait('info', 'sample', '--json').stdout) as { path: string }).path, join(dir, 'indexes', 'sample'));
  });
});

describe('SIGINT / SIGTERM during a build (item 6)', () => {
  // Enough documents that the build is still reading or encoding when the first progress line comes.
  before(() => {
    const docs = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: Array.from({ length: 40 }, (_, j) => `w${(i * 31 + j * 7) % 997}`).join(' ') }));
    writeFileSync(join(dir, 'big.jsonl'), `${docs.join('\n')}\n`);
  });

  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    test(`${signal}: removes the temporary folder, ends the line, says interrupted, exits ${status}`, async () => {
      const child = spawn(process.execPath, [BIN, 'index', 'big.jsonl', '--index', `big-${signal}`, '--threads', '1'], {
        cwd: dir,
        env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let sent = false;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        stderr += d;
        // Once the build reports progress, its temporary folder exists.
        if (!sent && stderr.includes('"phase"')) {
          sent = true;
          assert.ok(readdirSync(join(dir, 'indexes')).some((e) => e.startsWith(`.big-${signal}.building-`)));
          child.kill(signal);
        }
      });
      const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
      assert.ok(sent, stderr);
      // Ended by the signal itself (re-raised after cleaning up): the shell shows 128 + its number, `status`.
      assert.deepEqual(ended, { code: null, signal }, stderr);
      assert.equal(128 + osConstants.signals[signal], status);
      assert.match(stderr, new RegExp(`plait: interrupted by ${signal}; removed the unfinished build`));
      assert.ok(stderr.endsWith('\n'));
      assert.deepEqual(readdirSync(join(dir, 'indexes')).filter((e) => e.includes(`big-${signal}`)), []);
    });
  }
});

test('a query with nothing to search says so (stderr warning, emptyReason in --json) instead of printing nothing', () => {
  const text = plait('search', 'sample', '!!!');
  assert.equal(text.code, 0);
  assert.equal(text.stdout, '');
  // Prefixed as every other CLI warning is (it was a bare "warning: ").
  assert.equal(text.stderr, 'plait: warning: nothing to search: the query has no letter or digit (no-content)\n');
  const long = plait('search', 'sample', Array.from({ length: 200 }, (_, i) => `bread${i}`).join(' '), '-k', '1');
  assert.equal(long.code, 0, long.stderr);
  assert.equal(long.stderr, 'plait: warning: the query has more tokens than the model keeps (128); only the first were searched\n');
  const json = plait('search', 'sample', '!!!', '--json');
  assert.equal(json.code, 0);
  assert.deepEqual(JSON.parse(json.stdout), { hits: [], emptyReason: 'no-content' });
});
