/**
 * `plait index --shards` interrupted, then the same build again (the CLI's door; sharded-build.ts,
 * format/publish.ts). Ctrl-C had left the whole corpus's scratch folder (`.whole-*`) in the root and
 * a kill -9 left the claimed shard folders and their `.shard-<i>.building-*` folders: either way the
 * next `plait index --index <same> --shards n` was refused DESTINATION_EXISTS ("never over your
 * files") until the user removed plait's own leftovers by hand. A sharded build now builds its whole
 * root in one folder beside it (`.<name>.building-*`) and swaps it in (publish.ts
 * temporaryShardedBuildDir): Ctrl-C leaves no root at all (it was absent), and the next build takes a
 * killed one's claimed root over and removes its folder. A real process, killed while it reads a
 * 3,000-document corpus; the rebuild indexes the 40-document sample.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE } from './helpers/server-fixture.js';
import { PLAIT_BIN, runPlait } from './helpers/cli.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-shard-interrupt-'));
  const docs = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: Array.from({ length: 40 }, (_, j) => `w${(i * 31 + j * 7) % 997}`).join(' ') }));
  writeFileSync(join(dir, 'big.jsonl'), `${docs.join('\n')}\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The build folders beside `root` (`.<name>.building-*`). */
function buildFolders(root: string): string[] {
  const name = root.slice(root.lastIndexOf('/') + 1);
  return readdirSync(dir).filter((n) => n.startsWith(`.${name}.`));
}

/** Starts a sharded build of big.jsonl and sends `signal` once it reports progress (its folders exist then); returns the root's entries and the build folders beside it at that moment. */
async function interruptedBuild(root: string, signal: NodeJS.Signals): Promise<string[]> {
  const child = spawn(process.execPath, [PLAIT_BIN, 'index', 'big.jsonl', '--index', root, '--shards', '2', '--threads', '1'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let leftBehind: string[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr += d;
    if (leftBehind.length === 0 && stderr.includes('"phase"')) {
      leftBehind = [...readdirSync(root), ...buildFolders(root)];
      child.kill(signal);
    }
  });
  const ended = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.equal(ended, signal, stderr);
  return leftBehind;
}

function rebuildSucceeds(root: string): void {
  const r = runPlait(dir, ['index', SAMPLE, '--index', root, '--shards', '2', '--threads', '0', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(root).sort(), ['cluster.json', 'shard-0', 'shard-1'], 'no leftover of the interrupted build');
  assert.deepEqual(buildFolders(root), [], 'no build folder beside it');
  const search = runPlait(dir, ['search', join(root, 'shard-0'), 'bread', '-k', '1', '--json']);
  assert.equal(search.code, 0, search.stderr);
}

test('Ctrl-C during a sharded build leaves no root (there was none), and the same build runs again', async () => {
  const root = join(dir, 'c-int');
  const during = await interruptedBuild(root, 'SIGINT');
  assert.ok(during.some((n) => n.startsWith('.c-int.building-')), `the build was under way: ${during.join(', ')}`);
  assert.equal(existsSync(root), false, 'the root it claimed is gone, as it was before (a .whole-* scratch folder had been left in it)');
  assert.deepEqual(buildFolders(root), []);
  rebuildSucceeds(root);
  // The finished cluster is refused as what it is (it said "not a plait index (no manifest.json)").
  const again = runPlait(dir, ['index', SAMPLE, '--index', root, '--shards', '2', '--threads', '0']);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /is a sharded index \(it holds cluster\.json\)\. plait index does not rebuild a cluster in place .* remove it first, then build \[DESTINATION_EXISTS\]/);
});

test('after a kill -9 of a sharded build, the same build takes over its claimed root and removes its build folder', async () => {
  const root = join(dir, 'c-kill');
  await interruptedBuild(root, 'SIGKILL');
  const left = [...readdirSync(root), ...buildFolders(root)].sort();
  assert.ok(left.includes('write.lock') && left.some((n) => n.startsWith('.c-kill.building-')), `the killed build's leftovers: ${left.join(', ')}`);
  rebuildSucceeds(root);
  // A root holding anything else is still refused, as before.
  const other = join(dir, 'c-other');
  runPlait(dir, ['index', SAMPLE, '--index', other, '--shards', '2', '--threads', '0', '--json']);
  writeFileSync(join(other, 'notes.txt'), 'mine\n');
  rmSync(join(other, 'cluster.json'));
  const refused = runPlait(dir, ['index', SAMPLE, '--index', other, '--shards', '2', '--threads', '0']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /\[DESTINATION_EXISTS\]/);
});
