/**
 * A user coming from another tool types its verb: `plait sync` (the README's own word for `plait add
 * --sync`), `plait rm`, `plait ls`, `plait remove`. Commander suggests by spelling alone: `plait
 * remove` was told "Did you mean one of restore, serve?" (restore overwrites an index), and the
 * others nothing. Now the hint names the plait command that does it, and the command it names
 * exists and takes what the hint says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../src/cli/main.js';
import { otherCommandHint } from '../src/cli/other-command-names.js';
import { runPlait } from './helpers/cli.js';

test('plait sync, rm, remove, ls: the hint names plait add --sync, delete, info (remove had been offered restore), in text and --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-other-names-'));
  try {
    const cases: [string[], RegExp][] = [
      [['sync', 'my-index', 'notes/'], /Did you mean plait add\? plait add <index> <folder> --sync/],
      [['remove', 'my-index'], /Did you mean plait delete\? plait delete <index> --ids <file> or --filter <json>/],
      // `plait drop my-index` may mean the whole index: the hint says how that goes, too.
      [['drop', 'my-index'], /--filter <json> \(deletes documents; a whole index is a folder of its own: plait info <index> prints its path, then rm -r it\)/],
      [['ls'], /Did you mean plait info\?/],
      [['cluster', 'rm'], /Did you mean plait cluster delete\? \(plait cluster delete --help\)/],
    ];
    for (const [args, hint] of cases) {
      const r = runPlait(dir, args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /\[USAGE\]/);
      assert.match(r.stderr, hint, args.join(' '));
      assert.doesNotMatch(r.stderr, /restore, serve/);
    }
    const json = runPlait(dir, ['rm', '--json']);
    const err = (JSON.parse(json.stderr) as { error: { code: string; details: { hint: string } } }).error;
    assert.equal(err.code, 'USAGE');
    assert.match(err.details.hint, /^Did you mean plait delete\?/);
    // A word no tool uses keeps commander's answer (no hint made up).
    assert.doesNotMatch(runPlait(dir, ['frobnicate']).stderr, /Did you mean/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every command a hint names is one of plait's, and plait cluster sync is not sent to a --sync that cluster add lacks", async () => {
  const program = await buildProgram();
  const top = program.commands.map((c) => c.name());
  const cluster = program.commands.find((c) => c.name() === 'cluster')!;
  const words = ['sync', 'update', 'upsert', 'remove', 'rm', 'ls', 'list', 'status', 'stats', 'optimize', 'vacuum', 'query', 'find', 'dump', 'export', 'snapshot', 'load', 'build', 'create', 'server', 'start', 'evaluate', 'embed'];
  for (const word of words) {
    const hint = otherCommandHint(word, top);
    assert.ok(hint !== undefined, word);
    const named = /^Did you mean plait (\w+)\?/.exec(hint)?.[1];
    assert.ok(named !== undefined && top.includes(named), `${word}: ${hint}`);
    if (/--sync/.test(hint)) assert.ok(program.commands.find((c) => c.name() === named)!.options.some((o) => o.long === '--sync'), hint);
  }
  assert.equal(otherCommandHint('sync', cluster.commands.map((c) => c.name()), ['cluster']), undefined);
});
