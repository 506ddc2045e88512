/**
 * ARM: the code-scoring kernels' NEON paths (code-maxsim.cc and fast-scan.cc) agree bit for bit with their scalar paths, checked by a
 * small C++ harness (native-kernels/test/arm64-harness.cc) cross-compiled with
 * g++-aarch64-linux-gnu and run under qemu-aarch64-static; every native source compiles with clang
 * for an arm64 target (no x86 intrinsic outside an `#if defined(__x86_64__)` guard). The same
 * harness built for this machine compares its AVX2 / AVX-512 paths. Needs the cross toolchain,
 * qemu-user-static and clang (.ci/run installs them): skipped without them, failed in CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { REPO_ROOT, inCi } from './helpers/requirements.js';

const NATIVE = join(REPO_ROOT, 'native-kernels');
const HARNESS = ['test/arm64-harness.cc', 'src/code-maxsim.cc', 'src/fast-scan.cc'];

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** false when every tool is present (or in CI, where the test then fails on the missing tool); else the skip reason. */
function needsTools(...tools: string[]): string | false {
  const missing = tools.filter((t) => !has(t));
  if (missing.length === 0 || inCi()) return false;
  return `missing ${missing.join(', ')} (apt-get install g++-aarch64-linux-gnu qemu-user-static clang; in CI this fails)`;
}

function run(cmd: string, args: string[], cwd = NATIVE): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

test('NEON code scoring is bit-identical to the scalar path under qemu-aarch64', { skip: needsTools('aarch64-linux-gnu-g++', 'qemu-aarch64-static') }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-arm64-'));
  try {
    const bin = join(dir, 'arm64-harness');
    const build = run('aarch64-linux-gnu-g++', ['-O3', '-std=c++17', '-ffp-contract=off', '-static', '-Isrc', ...HARNESS, '-o', bin]);
    assert.equal(build.status, 0, build.out);
    const r = run('qemu-aarch64-static', [bin]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^neon ok [1-9]\d*$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the same harness on this machine: its AVX2 / AVX-512 paths against scalar', { skip: process.arch !== 'x64' ? 'not x86-64' : needsTools('g++') }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-x64-'));
  try {
    const bin = join(dir, 'harness');
    const build = run('g++', ['-O3', '-std=c++17', '-ffp-contract=off', '-Isrc', ...HARNESS, 'src/cpu-features.cc', '-o', bin]);
    assert.equal(build.status, 0, build.out);
    const r = run(bin, []);
    assert.equal(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /mismatch/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every native source compiles with clang for arm64 (no x86 intrinsics leak)', { skip: needsTools('clang++') }, () => {
  const require = createRequire(import.meta.url);
  const addonApi = (require('node-addon-api') as { include_dir: string }).include_dir;
  const nodeInclude = join(process.execPath, '..', '..', 'include', 'node');
  const sources = readdirSync(join(NATIVE, 'src')).filter((f) => f.endsWith('.cc'));
  assert.ok(sources.includes('code-maxsim.cc') && sources.includes('fast-scan.cc') && sources.includes('dense-kernels.cc'));
  for (const f of sources) {
    const r = run('clang++', ['--target=aarch64-linux-gnu', '-fsyntax-only', '-std=c++17', '-DNAPI_VERSION=8', '-Isrc', `-I${nodeInclude}`, `-I${join(REPO_ROOT, addonApi)}`, join('src', f)]);
    assert.equal(r.status, 0, `${f}: ${r.out}`);
  }
});
