/**
 * PLAIT_SIMD and PLAIT_KERNELS values that plait does not know are refused, as PLAIT_EXACT_SCORING's
 * are: the addon reads PLAIT_SIMD itself, case-sensitively, and ignored a typo ("AVX2", "avx-2"),
 * so `plait info --kernels` reported — and searches ran — the widest path the user meant to avoid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlaitError } from '../src/errors/index.js';
import { checkKernelEnv, PLAIT_KERNELS_VALUES, PLAIT_SIMD_VALUES } from '../src/kernels/index.js';
import { PLAIT_BIN } from './helpers/cli.js';

function plait(args: readonly string[], env: Record<string, string>): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [PLAIT_BIN, ...args], { encoding: 'utf8', env: { ...process.env, PLAIT_SIMD: '', PLAIT_KERNELS: '', ...env } });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('checkKernelEnv accepts every documented value and unset or empty variables', () => {
  for (const v of PLAIT_SIMD_VALUES) checkKernelEnv({ PLAIT_SIMD: v });
  for (const v of PLAIT_KERNELS_VALUES) checkKernelEnv({ PLAIT_KERNELS: v });
  checkKernelEnv({ PLAIT_KERNELS: ' TS ' });
  checkKernelEnv({ PLAIT_SIMD: '', PLAIT_KERNELS: '' });
  checkKernelEnv({});
});

test('checkKernelEnv refuses unknown values with INVALID_ARGUMENT naming the variable', () => {
  for (const [name, value] of [['PLAIT_SIMD', 'bogus'], ['PLAIT_SIMD', 'AVX2'], ['PLAIT_SIMD', 'avx512'], ['PLAIT_SIMD', 'neon'], ['PLAIT_KERNELS', 'wasm']] as const) {
    assert.throws(
      () => checkKernelEnv({ [name]: value }),
      (e: unknown) => e instanceof PlaitError && e.code === 'INVALID_ARGUMENT' && e.message.includes(name) && e.message.includes(`"${value}"`),
      `${name}=${value}`,
    );
  }
});

test('plait info --kernels refuses a mistyped PLAIT_SIMD or PLAIT_KERNELS instead of reporting the widest path', () => {
  const bad = plait(['info', '--kernels'], { PLAIT_SIMD: 'AVX2' });
  assert.equal(bad.code, 2, bad.out);
  assert.match(bad.out, /Expected PLAIT_SIMD to be one of scalar, avx2, avx512bw .* but received "AVX2" \[INVALID_ARGUMENT\]/);
  const badKernels = plait(['info', '--kernels'], { PLAIT_KERNELS: 'nativ' });
  assert.equal(badKernels.code, 2, badKernels.out);
  assert.match(badKernels.out, /PLAIT_KERNELS .* received "nativ"/);
  const ok = plait(['info', '--kernels'], { PLAIT_KERNELS: 'ts' });
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /^typescript .*; fast-scan typescript; int8 centroid scores typescript$/m);
  // Both run-time choices are named in text, as --json has them: the int8 path of candidate generation too.
  const native = plait(['info', '--kernels'], {});
  const json = JSON.parse(plait(['info', '--kernels', '--json'], {}).out) as { kernels: { fastScanPath: string; intDotPath: string } };
  assert.ok(native.out.includes(`; fast-scan ${json.kernels.fastScanPath}; int8 centroid scores ${json.kernels.intDotPath}`), native.out);
});

test('a mistyped kernel variable stops plait index before it reads the corpus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-kernel-env-'));
  try {
    const corpus = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
    for (const env of [{ PLAIT_SIMD: 'avx-2' }, { PLAIT_EXACT_SCORING: 'fast-scan' }] as Array<Record<string, string>>) {
      const r = plait(['index', corpus, '--index', join(dir, 'x')], env);
      assert.equal(r.code, 2, r.out);
      assert.match(r.out, /\[INVALID_ARGUMENT\]/);
      assert.doesNotMatch(r.out, /"phase"/, 'refused before the read phase');
      assert.equal(existsSync(join(dir, 'x')), false);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PLAIT_NATIVE_PATH naming an addon that does not load is an error, not a silent substitution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-native-path-'));
  try {
    const missing = join(dir, 'missing.node');
    // Before: plait's own build loaded in its place, and info --kernels said native-avx512 without a word.
    const info = plait(['info', '--kernels', '--json'], { PLAIT_NATIVE_PATH: missing });
    assert.equal(info.code, 0, info.out);
    const k = (JSON.parse(info.out) as { kernels: { active: string; nativeError?: string } }).kernels;
    assert.equal(k.active, 'typescript');
    assert.match(k.nativeError ?? '', new RegExp(`Tried 1 location:\\n  - ${missing}: not found`));
    const corpus = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
    const r = plait(['index', corpus, '--index', join(dir, 'x'), '-q'], { PLAIT_NATIVE_PATH: missing });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`PLAIT_NATIVE_PATH=${missing} did not load; unset it to use plait's own build.* \\[NATIVE_UNAVAILABLE\\]`, 's'));
    assert.equal(existsSync(join(dir, 'x')), false);
    // PLAIT_KERNELS=ts asks for no addon at all: the override does not matter then.
    assert.equal(plait(['info', '--kernels'], { PLAIT_NATIVE_PATH: missing, PLAIT_KERNELS: 'ts' }).code, 0);
    const own = fileURLToPath(new URL('../../native-kernels/build/Release/plait_kernels.node', import.meta.url));
    if (existsSync(own)) {
      const named = plait(['info', '--kernels'], { PLAIT_NATIVE_PATH: own });
      assert.match(named.out, /^native-/, 'a build that loads is used');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
