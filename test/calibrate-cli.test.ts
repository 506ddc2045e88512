/**
 * Calibration through the CLI on real text (the sample corpus, bundled model): `plait index
 * --calibrate` stores a record, `plait info` shows it, `plait search` uses it, `plait calibrate
 * --queries log --dry-run` measures on a query log without touching the manifest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openIndex } from '../src/search/plait-index.js';
import type { IndexCalibration } from '../src/format/calibration-record.js';

import { runPlait, type CliResult } from './helpers/cli.js';
const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
let dir: string;

const plait = (...args: string[]): CliResult => runPlait(dir, args);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-calibrate-cli-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('index --calibrate → info shows the settings → search uses them → calibrate on a query log (dry run)', async () => {
  const built = plait('index', SAMPLE, '--index', 'sample', '--threads', '1', '--calibrate', '60', '--json', '-q');
  assert.equal(built.code, 0, built.stderr);
  const out = JSON.parse(built.stdout) as { calibration: IndexCalibration };
  const cal = out.calibration;
  assert.equal(cal.source, 'corpus');
  assert.deepEqual(cal.buckets.map((b) => b.maxTopK), [10, 100, null]);
  assert.ok(cal.queries >= 20 && cal.queriesByKind.keyword! > 0 && cal.queriesByKind.span! > 0, JSON.stringify(cal.queriesByKind));
  // 40 documents: the k ≤ 10 bucket reaches 0.99 of the exhaustive top-10.
  assert.ok(cal.buckets[0]!.fidelity >= 0.99, JSON.stringify(cal.buckets[0]));
  const manifestPath = join(dir, 'indexes', 'sample', 'manifest.json');
  const stored = JSON.parse(readFileSync(manifestPath, 'utf8')) as { calibration: IndexCalibration };
  assert.deepEqual(stored.calibration, cal);

  const info = plait('info', 'sample');
  assert.equal(info.code, 0, info.stderr);
  const p = cal.buckets[0]!.params;
  assert.match(info.stdout, new RegExp(`k ≤ 10\\s+ncells ${p.nIvfProbe} per query token${p.nIvfProbeTotal === undefined ? '' : ` \\(at least ${p.nIvfProbeTotal} per query\\)`}, threshold ${p.centroidScoreThreshold}, ndocs ${p.ndocs}`));
  assert.match(info.stdout, /defaults \d+\.\d%, p50 \d+\.\d ms; chosen costs \d+\.\d× the defaults/);
  assert.match(info.stdout, /cost ceiling: 3× the defaults' estimated cost/);

  const index = await openIndex(join(dir, 'indexes', 'sample'));
  try {
    assert.deepEqual(index.resolveSearch({ topK: 10 }).plaid, p);
    assert.equal(index.resolveSearch({ topK: 10, ndocs: 64 }).plaid.ndocs, 64);
  } finally {
    await index.close();
  }

  // --timings says which settings ran and where they came from.
  const used = plait('search', 'sample', 'bread and yeast', '-k', '10', '--mode', 'late', '--json', '--timings');
  assert.equal(used.code, 0, used.stderr);
  const u = JSON.parse(used.stdout) as { timings: { plaid: Record<string, unknown> } };
  assert.deepEqual(u.timings.plaid, { ...p, source: 'calibration' });
  const flagged = JSON.parse(plait('search', 'sample', 'bread', '-k', '10', '--mode', 'late', '--ndocs', '64', '--json', '--timings').stdout) as { timings: { plaid: { ndocs: number; source: string } } };
  assert.deepEqual([flagged.timings.plaid.ndocs, flagged.timings.plaid.source], [64, 'flags+calibration']);

  writeFileSync(join(dir, 'log.txt'), 'bread and yeast\nhoneybee dance\nglaciers carving valleys\ncoral reefs\n');
  const before = readFileSync(manifestPath, 'utf8');
  const dry = plait('calibrate', 'sample', '--queries', join(dir, 'log.txt'), '--dry-run', '--json', '--budget-s', '30');
  assert.equal(dry.code, 0, dry.stderr);
  const d = JSON.parse(dry.stdout) as { written: boolean; calibration: IndexCalibration };
  assert.equal(d.written, false);
  assert.equal(d.calibration.source, 'query-log');
  assert.deepEqual(d.calibration.queriesByKind, { log: 4 });
  assert.equal(readFileSync(manifestPath, 'utf8'), before);

  const bad = plait('calibrate', 'sample', '--target', '2');
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /INVALID_ARGUMENT/);
  const missing = plait('calibrate', 'sample', '--queries', join(dir, 'no-such-log.txt'), '--json');
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /FILE_NOT_FOUND/);
  assert.doesNotMatch(missing.stderr, /at readQueryLog|ENOENT/);
  // A weaker record replacing a stronger one is said: 2 queries cannot be trusted in any bucket.
  writeFileSync(join(dir, 'two.txt'), 'bread and yeast\nhoneybee dance\n');
  const weak = plait('calibrate', 'sample', '--queries', join(dir, 'two.txt'), '--budget-s', '30', '--json');
  assert.equal(weak.code, 0, weak.stderr);
  // (fewer buckets trusted, or as many on fewer queries: the stored record measured ≥ 20).
  assert.equal((JSON.parse(weak.stdout) as { replacedStronger: boolean }).replacedStronger, true);
  assert.match(weak.stderr, new RegExp(`warning: this calibration trusts 0 of 3 k buckets on 2 queries; the one it replaced trusted ${cal.buckets.filter((b) => b.reached).length} on ${cal.queries}`));
});
