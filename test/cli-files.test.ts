/**
 * Issue 8, files and output: stale temporary folders of dead builders (item 6), index name
 * resolution in the library (item 9), progress lines (item 11), the HTML report (item 13).
 */
import { test, describe, mock } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BUILDER_FILE, cleanStaleBuilds, temporaryBuildDir, discardBuildDir, removeActiveBuildDirs } from '../src/format/publish.js';
import { indexCandidates, locateIndex, resolveIndexPath } from '../src/format/index-path.js';
import { isPlaitError } from '../src/errors/index.js';
import { ProgressReporter } from '../src/cli/progress.js';
import { buildComparison, evaluateRun, latencyStats, renderReportHtml, renderTable, type ModeInput, type Qrels, type Run } from '../src/eval/index.js';
import { renderScatterSvg } from '../src/eval/scatter-svg.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'plait-files-'));
}

/** The pid of a process that has exited (so it is free and, for a while, unused). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function fakeBuild(parent: string, name: string, record: object | null, pid: number, kind = 'building'): string {
  const d = join(parent, `.${name}.${kind}-${pid}-abc123`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'codes.i32'), 'x');
  if (record !== null) writeFileSync(join(d, BUILDER_FILE), JSON.stringify(record));
  return d;
}

describe('stale temporary folders (item 6)', () => {
  test('the next build removes dead builders’ folders of any name and keeps live ones', async () => {
    const home = tempDir();
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const dead = deadPid();
      const live = sleeper.pid!;
      const liveTicks = Number(readFileSync(`/proc/${live}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
      const deadOther = fakeBuild(home, 'other', { pid: dead, hostname: hostname(), startTicks: 1 }, dead);
      const noRecord = fakeBuild(home, 'third', null, dead);
      const liveOne = fakeBuild(home, 'busy', { pid: live, hostname: hostname(), startTicks: liveTicks }, live);
      const reused = fakeBuild(home, 'reused', { pid: live, hostname: hostname(), startTicks: liveTicks - 1 }, live);
      const remote = fakeBuild(home, 'remote', { pid: dead, hostname: `not-${hostname()}`, startTicks: 1 }, dead);
      const aside = fakeBuild(home, 'moved', null, dead, 'old');

      const tmp = temporaryBuildDir(join(home, 'mine'));
      assert.ok(!existsSync(deadOther), 'dead builder, another index name');
      assert.ok(!existsSync(noRecord), 'no record: the pid in the name is dead');
      assert.ok(!existsSync(reused), 'a live pid with another start time is a reused pid');
      assert.ok(existsSync(liveOne), 'a live builder is never touched');
      assert.ok(existsSync(remote), 'another host cannot be checked from here');
      assert.ok(!existsSync(aside) && existsSync(join(home, 'moved', 'codes.i32')), 'an index moved aside by a killed publish is put back');
      // This build's own folder carries its record.
      const rec = JSON.parse(readFileSync(join(tmp, BUILDER_FILE), 'utf8')) as { pid: number; hostname: string };
      assert.deepEqual([rec.pid, rec.hostname], [process.pid, hostname()]);
      assert.deepEqual(cleanStaleBuilds(join(home, 'mine')), [], 'an active folder of this process is kept');
      assert.ok(existsSync(tmp));
      discardBuildDir(tmp);
      assert.ok(!existsSync(tmp));
    } finally {
      sleeper.kill();
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('removeActiveBuildDirs (the signal handler’s clean-up) removes this process’s unfinished builds', () => {
    const home = tempDir();
    const a = temporaryBuildDir(join(home, 'a'));
    const b = temporaryBuildDir(join(home, 'b'));
    assert.deepEqual(removeActiveBuildDirs().sort(), [a, b].sort());
    assert.ok(!existsSync(a) && !existsSync(b));
    rmSync(home, { recursive: true, force: true });
  });
});

describe('index names (item 9)', () => {
  test('./<name> first when it is an index, then the index home; errors say where they looked', () => {
    const root = tempDir();
    const cwd = process.cwd();
    const env = process.env.PLAIT_INDEX_DIR;
    try {
      process.chdir(root);
      process.env.PLAIT_INDEX_DIR = join(root, 'home');
      assert.deepEqual(indexCandidates('x'), [join(root, 'x'), join(root, 'home', 'x')]);
      assert.deepEqual(indexCandidates('./x'), [join(root, 'x')]);
      // Neither exists: a build goes to the home; reading fails naming both places.
      assert.equal(resolveIndexPath('x'), join(root, 'home', 'x'));
      assert.throws(() => locateIndex('x'), (e) => isPlaitError(e, 'INDEX_NOT_FOUND') && e.message.includes(join(root, 'x')) && e.message.includes(join(root, 'home', 'x')));
      // ./x exists but is no index (a corpus folder, say): never chosen, and the error says why.
      mkdirSync(join(root, 'x'));
      assert.equal(resolveIndexPath('x'), join(root, 'home', 'x'));
      assert.throws(() => locateIndex('x'), /x \(no manifest\.json\)/);
      mkdirSync(join(root, 'home', 'x'), { recursive: true });
      writeFileSync(join(root, 'home', 'x', 'manifest.json'), '{}');
      assert.equal(locateIndex('x'), join(root, 'home', 'x'));
      writeFileSync(join(root, 'x', 'manifest.json'), '{}');
      assert.equal(locateIndex('x'), join(root, 'x'));
      assert.equal(resolveIndexPath('x'), join(root, 'x'));
    } finally {
      process.chdir(cwd);
      if (env === undefined) delete process.env.PLAIT_INDEX_DIR;
      else process.env.PLAIT_INDEX_DIR = env;
      rmSync(root, { recursive: true, force: true });
    }
  });
});

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('progress (item 11)', () => {
  test('JSON lines carry the job’s elapsed time, not a per-phase one', () => {
    const out = new Capture();
    const p = new ProgressReporter('json', out as unknown as NodeJS.WriteStream);
    p.update('read', 10, 10, 5000);
    p.update('encode', 0, 100, 5200);
    p.done();
    const lines = out.text.trim().split('\n').map((l) => JSON.parse(l) as { phase: string; elapsedMs: number });
    assert.deepEqual(lines.map((l) => [l.phase, l.elapsedMs]), [['read', 5000], ['encode', 5200]]);
  });

  test('the bar is redrawn every second without new counts, and the line is ended', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const out = new Capture();
      const p = new ProgressReporter('bar', out as unknown as NodeJS.WriteStream);
      p.update('encode', 512, 4096);
      const draws = (): number => out.text.split('\r').length - 1;
      assert.equal(draws(), 1);
      mock.timers.tick(1000);
      mock.timers.tick(1000);
      assert.equal(draws(), 3);
      assert.match(out.text, /encode {2}\[#{4}\.{24}\] {2}13% 512\/4096/);
      p.done();
      assert.ok(out.text.endsWith('\n'));
      mock.timers.tick(5000);
      assert.equal(draws(), 3, 'no redraw after done()');
    } finally {
      mock.timers.reset();
    }
  });
});

describe('HTML report (item 13)', () => {
  const qrels: Qrels = new Map([['q1', new Map([['a', 1]])], ['q2', new Map([['b', 1]])]]);
  const run = (first: string): Run => new Map([['q1', [{ docId: first, score: 2 }, { docId: first === 'a' ? 'z' : 'a', score: 1 }]], ['q2', [{ docId: 'b', score: 1 }]]]);
  const modes = (): ModeInput[] => [
    { name: 'exhaustive', result: evaluateRun(run('a'), qrels), latency: latencyStats([40, 50]) },
    { name: 'plaid ncells=2,ndocs=1024,threshold=0.45', result: evaluateRun(run('z'), qrels), latency: latencyStats([2, 3]) },
  ];
  const meta = { index: '/x/scifact', model: 'bundled:use-lite', date: '2026-11-29T12:00:00.000Z', machine: { cpu: 'Test CPU 9000', cores: 2 }, plaitVersion: '0.1.0', depth: 100 };

  test('R@1000 only when the runs are 1000 deep', () => {
    const shallow = renderReportHtml(buildComparison(modes(), { depth: 100, permutations: 99 }));
    assert.doesNotMatch(shallow, /R@1000/);
    assert.match(shallow, /R@100</);
    assert.match(renderReportHtml(buildComparison(modes(), { depth: 1000, permutations: 99 })), /R@1000/);
    assert.doesNotMatch(renderTable(buildComparison(modes(), { depth: 100, permutations: 99 })), /R@1000/);
  });

  test('model, index, date, machine and plait version are in the report and its JSON', () => {
    const c = buildComparison(modes(), { depth: 100, permutations: 99, meta });
    const html = renderReportHtml(c);
    for (const s of ['index /x/scifact', 'model bundled:use-lite', 'depth 100', '2026-11-29T12:00:00.000Z', 'Test CPU 9000, 2 cores', 'plait 0.1.0']) assert.ok(html.includes(s), s);
    assert.deepEqual(JSON.parse(JSON.stringify(c)).meta, meta);
  });

  test('points stay off the frame: the extreme ones are inside the plot area', () => {
    const svg = renderScatterSvg([
      { label: 'a', x: 1, y: 0.2001 }, // just above a tick: rounding alone would put it on the frame
      { label: 'b', x: 100, y: 0.6999 },
    ]);
    const frame = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/.exec(svg)!;
    const [x0, y0, w, h] = frame.slice(1).map(Number) as [number, number, number, number];
    const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    assert.equal(circles.length, 2);
    for (const [cx, cy] of circles) {
      assert.ok(cx > x0 + 5 && cx < x0 + w - 5, `x ${cx} inside (${x0}, ${x0 + w})`);
      assert.ok(cy > y0 + 5 && cy < y0 + h - 5, `y ${cy} inside (${y0}, ${y0 + h})`);
    }
  });

  test('metric cells stack difference and p-value, so that the QPS column fits at 1200 px', () => {
    const html = renderReportHtml(buildComparison(modes(), { depth: 100, permutations: 99 }));
    // Each metric cell holds the value and two short lines, not one long nowrap line.
    assert.match(html, /<td>[\d.]+<span class="p">[+−][\d.]+<\/span><span class="p">p[=&]/);
    assert.doesNotMatch(html, /td:first-child \{[^}]*nowrap/);
    assert.match(html, /<th>QPS<\/th>/);
  });
});
