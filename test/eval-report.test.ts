import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  buildComparison,
  evaluateRun,
  latencyStats,
  renderJson,
  renderReportHtml,
  renderScatterSvg,
  renderTable,
  writeReportFiles,
  type ModeInput,
  type Qrels,
  type Run,
} from '../src/eval/index.js';
import { logRange, logTicks } from '../src/eval/scatter-svg.js';

// 40 queries, each with one relevant doc "rel". Mode "good" ranks it first everywhere (MRR 1);
// "base" ranks it second (MRR 0.5); "same" is identical to "base". good − base = +0.5 on every
// query, so the randomisation test's p is its floor 1/(N+1) and the t-test's p is 0.
const QIDS = Array.from({ length: 40 }, (_, i) => `q${i}`);
const qrels: Qrels = new Map(QIDS.map((q) => [q, new Map([['rel', 1]])]));
const runWith = (relFirst: boolean): Run =>
  new Map(QIDS.map((q) => [q, [{ docId: 'rel', score: relFirst ? 2 : 1 }, { docId: 'other', score: 1.5 }]]));

function modes(): ModeInput[] {
  return [
    { name: 'base', result: evaluateRun(runWith(false), qrels), latency: latencyStats([2, 2, 2, 2]) },
    { name: 'good <x>', result: evaluateRun(runWith(true), qrels), latency: latencyStats([30, 40, 50, 60]) },
    { name: 'same', result: evaluateRun(runWith(false), qrels) },
  ];
}

describe('buildComparison', () => {
  it('marks significant differences against the baseline', () => {
    const c = buildComparison(modes(), { permutations: 999 });
    assert.equal(c.baseline, 'base');
    assert.equal(c.queries, 40);
    const [base, good, same] = c.modes;
    assert.equal(base!.significance, null);
    assert.equal(good!.mean['mrr@10'], 1);
    assert.equal(base!.mean['mrr@10'], 0.5);
    assert.equal(good!.significance!['mrr@10']!.p, 1 / 1000);
    assert.equal(good!.significance!['mrr@10']!.significant, true);
    assert.equal(good!.significance!['mrr@10']!.meanDiff, 0.5);
    assert.equal(good!.significance!['recall@10']!.significant, false); // both find it in the top 10
    assert.equal(same!.significance!['mrr@10']!.p, 1);
    assert.equal(same!.significance!['mrr@10']!.significant, false);
    const t = buildComparison(modes(), { test: 't-test', baseline: 'same' });
    assert.equal(t.modes[1]!.significance!['mrr@10']!.p, 0);
    assert.equal(t.permutations, null);
  });

  it('refuses an unknown baseline, duplicate names and mismatched query sets', () => {
    assert.throws(() => buildComparison(modes(), { baseline: 'nope' }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => buildComparison([...modes(), modes()[0]!]), { code: 'INVALID_ARGUMENT' });
    const fewer: Qrels = new Map([...qrels].slice(0, 10));
    assert.throws(() => buildComparison([...modes(), { name: 'short', result: evaluateRun(runWith(true), fewer) }]), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => buildComparison([]), { code: 'INVALID_ARGUMENT' });
  });
});

describe('renderTable', () => {
  it('prints aligned rows with the marker only where p < alpha', () => {
    const text = renderTable(buildComparison(modes(), { permutations: 999, title: 'demo' }));
    const lines = text.split('\n');
    assert.equal(lines[0], 'demo');
    const header = lines[2]!;
    const rule = lines[3]!;
    assert.match(header, /^mode\s+nDCG@10\s+MRR@10\s+MAP@100\s+R@10\s+R@100\s+R@1000\s+P@10\s+p50 ms\s+p95 ms\s+p99 ms\s+QPS$/);
    assert.match(rule, /^-+( +-+){11}$/);
    const good = lines.find((l) => l.startsWith('good <x>'))!;
    const same = lines.find((l) => l.startsWith('same'))!;
    const base = lines.find((l) => l.startsWith('base (base)'))!;
    // Columns line up: every data row is as long as the rule, except trailing blanks trimmed.
    assert.equal(good.length, rule.length);
    // MRR@10 column: 1.000† for good, 0.500 without marker for the others.
    assert.match(good, /1\.000† /);
    assert.doesNotMatch(same, /†/);
    assert.doesNotMatch(base, /†/);
    // Latency, nearest rank over [30, 40, 50, 60]: p50 = 2nd = 40, p95 = p99 = 4th = 60;
    // QPS = 4 / 0.18 s = 22.2; nothing for "same".
    assert.match(good, / 40\.0 +60\.0 +60\.0 +22\.2$/);
    assert.match(same, / - +- +- +-$/);
    assert.match(text, /† significantly better, ‡ significantly worse: p < 0\.05 vs base \(paired randomisation test, 999 permutations, two-sided, 40 queries\)/);
  });
});

describe('direction of a significant difference', () => {
  it('marks a significant loss ‡ (never †) and bolds only a significant gain in the HTML', () => {
    // Against "good" as baseline, "base" and "same" are significantly worse on MRR@10.
    const c = buildComparison(modes(), { permutations: 999, baseline: 'good <x>' });
    const lines = renderTable(c).split('\n');
    const base = lines.find((l) => l.startsWith('base'))!;
    assert.match(base, /0\.500‡/);
    assert.doesNotMatch(base, /†/);
    const html = renderReportHtml(c);
    assert.match(html, /<td class="worse">0\.500‡/);
    assert.doesNotMatch(html, /class="better"/);
    const better = renderReportHtml(buildComparison(modes(), { permutations: 999 }));
    assert.match(better, /<td class="better">1\.000†/);
    assert.match(better, /td\.better \{ font-weight: 600; \}/);
    assert.doesNotMatch(better, /td\.worse \{[^}]*font-weight/);
  });
});

describe('renderJson and renderReportHtml', () => {
  it('JSON round-trips the comparison', () => {
    const c = buildComparison(modes(), { permutations: 99 });
    const parsed = JSON.parse(renderJson(c)) as typeof c;
    assert.equal(parsed.modes[1]!.name, 'good <x>');
    assert.equal(parsed.modes[1]!.mean['mrr@10'], 1);
    assert.equal(parsed.modes[2]!.latency, null);
    assert.equal(parsed.modes[0]!.perQuery, undefined);
    const withPerQuery = JSON.parse(renderJson(buildComparison(modes(), { permutations: 99, includePerQuery: true }))) as typeof c;
    assert.equal(withPerQuery.modes[0]!.perQuery!['q7']!['mrr@10'], 0.5);
    assert.equal(Object.keys(withPerQuery.modes[1]!.perQuery!).length, 40);
  });

  it('HTML is self-contained, escaped, and plots one point per mode with latency', () => {
    const html = renderReportHtml(buildComparison(modes(), { permutations: 99, title: 'A & B' }));
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>A &amp; B<\/title>/);
    assert.match(html, /good &lt;x&gt;/);
    assert.doesNotMatch(html, /good <x>/);
    assert.doesNotMatch(html, /(src|href)=/); // no external assets
    assert.equal((html.match(/<svg /g) ?? []).length, 1);
    // base is a square, good a circle; "same" has no latency and is not plotted.
    assert.equal((html.match(/<circle /g) ?? []).length, 1);
    assert.equal((html.match(/<rect x="[\d.]+" y="[\d.]+" width="10"/g) ?? []).length, 1);
    assert.match(html, /1 mode\(s\) without latency data are not plotted/);
  });

  it('writes the requested files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plait-report-'));
    try {
      const c = buildComparison(modes(), { permutations: 99 });
      await writeReportFiles(c, { html: join(dir, 'r.html'), json: join(dir, 'r.json'), text: join(dir, 'r.txt') });
      assert.equal(await readFile(join(dir, 'r.txt'), 'utf8'), renderTable(c));
      assert.equal(await readFile(join(dir, 'r.html'), 'utf8'), renderReportHtml(c));
      assert.deepEqual(JSON.parse(await readFile(join(dir, 'r.json'), 'utf8')), JSON.parse(renderJson(c)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('scatter plot axes', () => {
  it('x is logarithmic on 1-2-5 values with a margin around the data', () => {
    assert.deepEqual(logRange(1.24, 411), [1, 500]);
    assert.deepEqual(logTicks(1, 500), [1, 2, 5, 10, 20, 50, 100, 200, 500]);
    assert.deepEqual(logRange(0.31, 0.78), [0.2, 1]);
    assert.deepEqual(logTicks(0.2, 1), [0.2, 0.3, 0.5, 1]);
    assert.deepEqual(logTicks(0.001, 20_000), [0.001, 0.01, 0.1, 1, 10, 100, 1000, 10_000]);
  });

  it('places points by log latency: 10 ms sits halfway between 1 and 100 ms', () => {
    const svg = renderScatterSvg([
      { label: 'a', x: 1.5, y: 0.5 },
      { label: 'b', x: 15, y: 0.6 },
      { label: 'c', x: 150, y: 0.7 },
    ]);
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    assert.equal(xs.length, 3);
    assert.ok(Math.abs(xs[1]![0] - (xs[0]![0] + xs[2]![0]) / 2) < 0.2, `x positions ${xs.map((p) => p[0]).join(', ')}`);
    assert.ok(xs[0]![1] > xs[1]![1] && xs[1]![1] > xs[2]![1], 'higher nDCG is drawn higher');
    assert.match(renderScatterSvg([]), /no latency data/);
  });
});
