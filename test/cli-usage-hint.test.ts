/**
 * A refused command line ends with where to look, and that line must be one the user can run:
 * `(plait delete --help for usage)` after `plait delete idx extra`. It had been
 * `(add --help for usage)` for every command, which reads as `plait add --help` (trial 10).
 * Real CLI processes; the hint's own command is run and must print that command's usage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PLAIT_BIN, runPlait } from './helpers/cli.js';

const HINT = /^\((.+) --help for usage\)$/m;

test('the usage hint names the command that was refused, and running it prints that command\'s usage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-usage-hint-'));
  try {
    // Tests run bin/plait.js with node: plait writes itself as `node <bin, relative to the working folder>`.
    const self = `node ${relative(dir, PLAIT_BIN)}`;
    const cases: [string[], string[]][] = [
      [['delete', 'idx', 'cisi-3'], ['delete']],
      [['search', 'idx', 'q', '--mdoe', 'late'], ['search']],
      [['cluster', 'add'], ['cluster', 'add']],
      [['serach', 'idx', 'q'], []],
      // Refused by the command's own checks, not commander's: they had ended at the message alone.
      [['delete', './built'], ['delete']],
      [['search', './built', 'q', '--run', 'r.trec'], ['search']],
      [['serve', '--coordinate', 'x'], ['serve']],
    ];
    writeFileSync(join(dir, 'c.jsonl'), '{"_id": "a", "text": "yeast makes the dough rise"}\n');
    const built = runPlait(dir, ['index', 'c.jsonl', '--index', './built', '-q', '--threads', '0']);
    assert.equal(built.code, 0, built.stderr);
    for (const [args, command] of cases) {
      const r = runPlait(dir, args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(HINT.exec(r.stderr)?.[1], [self, ...command].join(' '), `${args.join(' ')}: ${r.stderr}`);
      const help = spawnSync(process.execPath, [PLAIT_BIN, ...command, '--help'], { cwd: dir, encoding: 'utf8' });
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^Usage: ${['plait', ...command].join(' ')} \\[options\\]`, 'm'));
    }
    assert.doesNotMatch(runPlait(dir, ['--json', 'delete', 'idx', 'x']).stderr, /for usage/, '--json: the JSON line alone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the result-count guesses (--top-k, --limit, -n, …) point at -k; the "--" hint for queries beginning with "-" is given only where a query or text is an argument', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-usage-hint-'));
  try {
    const hintOf = (args: string[]): string | undefined => {
      const r = runPlait(dir, [...args, '--json']);
      assert.equal(r.code, 2, r.stderr);
      const err = (JSON.parse(r.stderr.trim()) as { error: { code: string; details: { hint?: string } } }).error;
      assert.equal(err.code, 'USAGE');
      return err.details.hint;
    };
    for (const guess of [['--top-k', '3'], ['--limit=3'], ['-n', '3'], ['--topk', '3']]) {
      assert.match(String(hintOf(['search', 'idx', 'q', ...guess])), /^Did you mean -k <n> \(--k\)\?/, guess.join(' '));
    }
    assert.match(String(hintOf(['rerank', '--query', 'q', '--docs', 'd.jsonl', '--top-k', '3'])), /-k <n>/);
    // info takes no -k and no query: neither hint.
    assert.equal(hintOf(['info', 'idx', '-n', '2']), undefined);
    assert.equal(hintOf(['compact', 'idx', '-x']), undefined);
    // search keeps the '--' hint for a word beginning with '-'.
    assert.match(String(hintOf(['search', 'idx', '-honey'])), /goes after '--'/);
    // Too many words for a query: options after '--' (README's `-- "-80 degrees"` with -k added) or an
    // unquoted query. It had said only "too many arguments for 'search'. Expected 2 arguments but got 4".
    const excess = /^plait: a query of several words is one argument: quote it .*; options go before '--', after which every word is an argument/m;
    for (const args of [['search', 'idx', '--', '-80 degrees', '-k', '2'], ['search', 'idx', 'vitamin', 'D'], ['explain', 'idx', 'vitamin', 'D', 'doc-1']]) {
      const r = runPlait(dir, args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /too many arguments/, args.join(' '));
      assert.match(r.stderr, excess, args.join(' '));
    }
    // info takes no query: no such hint.
    assert.doesNotMatch(runPlait(dir, ['info', 'a', 'b']).stderr, excess);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
