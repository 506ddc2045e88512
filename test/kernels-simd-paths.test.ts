/**
 * The narrower native SIMD paths (AVX2+FMA, scalar) are chosen at run time, so on an AVX-512
 * machine they run only when asked for: this re-runs the kernel suite in child processes with
 * PLAIT_SIMD=avx2 and PLAIT_SIMD=scalar.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { kernelsStatus } from '../src/kernels/index.js';
import { needsNative, requireNative } from './helpers/requirements.js';

const SUITE = fileURLToPath(new URL('./kernels.test.js', import.meta.url));

for (const simd of ['avx2', 'scalar'] as const) {
  const cpu = kernelsStatus().cpu;
  const unsupported = simd === 'avx2' && !(cpu.avx2 && cpu.fma);
  test(`kernel suite on the native ${simd} path`, { skip: needsNative() || (unsupported ? 'CPU lacks AVX2/FMA' : false) }, () => {
    requireNative();
    // Without NODE_TEST_CONTEXT the child reports plain TAP on stdout instead of to this runner.
    const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', SUITE], {
      env: { ...env, PLAIT_SIMD: simd, PLAIT_KERNELS: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /# pass [1-9]/);
    assert.match(r.stdout, /# fail 0/);
  });
}

test('PLAIT_SIMD selects the reported path', { skip: needsNative() }, () => {
  requireNative();
  const url = new URL('../src/kernels/index.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import('${url}').then((m) => console.log(m.kernelsStatus().active))`], {
    env: { ...process.env, PLAIT_SIMD: 'scalar', PLAIT_KERNELS: '' },
    encoding: 'utf8',
  });
  assert.equal(r.stdout.trim(), 'native-scalar');
});
