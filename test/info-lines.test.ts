/**
 * `plait info`'s small lines (trial of the merged main, item 5): a never-written index says
 * `generation 0` (as add, delete and compact call it) instead of no line; `info --kernels` names the
 * CPU's features as a readable list, AVX-VNNI (which the avx2 path's int8 scores use) included,
 * instead of raw JSON without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpuFeaturesText, livingInfoLines } from '../src/cli/commands/index-commands.js';
import type { IndexManifest } from '../src/format/manifest.js';
import { kernelsStatus } from '../src/kernels/index.js';
import { runPlait } from './helpers/cli.js';
import { tmpdir } from 'node:os';

test('a built index that was never written is generation 0; a written one its number', () => {
  const built = { counts: { documents: 3, passages: 3, tokens: 9, centroids: 2 } } as unknown as IndexManifest;
  assert.deepEqual(livingInfoLines(built), ['generation   0 (as built: add, delete and compact make the next)']);
  assert.deepEqual(livingInfoLines({ ...built, generation: 2 }), ['generation   2']);
});

test('cpuFeaturesText lists the features present, then those absent; a feature nothing probed is left out', () => {
  const cpu = { arch: 'x64', avx2: true, fma: true, avx512f: false, avx512bw: false, avx512vl: false, avx512vbmi: false, avx512vnni: false, avxvnni: true };
  assert.equal(cpuFeaturesText(cpu), 'x64 with avx2, fma, avx-vnni; without avx512f, avx512bw, avx512vl, avx512vbmi, avx512vnni');
  const { avxvnni: _unknown, ...unprobed } = cpu;
  assert.equal(cpuFeaturesText(unprobed), 'x64 with avx2, fma; without avx512f, avx512bw, avx512vl, avx512vbmi, avx512vnni');
  assert.equal(cpuFeaturesText({ ...cpu, avx2: false, fma: false, avxvnni: false }), 'x64 without avx2, fma, avx512f, avx512bw, avx512vl, avx512vbmi, avx512vnni, avx-vnni');
});

test('plait info --kernels prints a readable feature line with AVX-VNNI as /proc/cpuinfo has it', () => {
  const r = runPlait(tmpdir(), ['info', '--kernels']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /[{}"]/, 'no raw JSON');
  assert.match(r.stdout, /\(cpu: (x64|arm64|\w+)( with [\w, -]+)?(;? without [\w, -]+)?\)/);
  let flags: Set<string> | null = null;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    if (line !== undefined) flags = new Set(line.split(':')[1]!.trim().split(/\s+/));
  } catch {
    // No /proc: the line may leave AVX-VNNI out.
  }
  if (flags !== null) {
    assert.equal(kernelsStatus().cpu.avxvnni, flags.has('avx_vnni'));
    assert.match(r.stdout, flags.has('avx_vnni') ? /with [\w, -]*\bavx-vnni\b/ : /without [\w, -]*\bavx-vnni\b/);
  }
  const json = JSON.parse(runPlait(tmpdir(), ['info', '--kernels', '--json']).stdout) as { kernels: { cpu: { avxvnni?: boolean } } };
  assert.equal(json.kernels.cpu.avxvnni, flags === null ? json.kernels.cpu.avxvnni : flags.has('avx_vnni'));
});
