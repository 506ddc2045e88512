/**
 * Bit identity on the narrower native paths: on an AVX-512 machine the AVX2 and scalar paths run only
 * when PLAIT_SIMD asks for them (and on a CPU with AVX-512 VBMI and VNNI, fast-scan's AVX-512BW
 * pshufb path only with PLAIT_SIMD=avx512bw), which is read once a process, so a test file re-runs
 * its bit-identity tests in child processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { kernelsStatus } from '../../src/kernels/index.js';
import { needsNative, requireNative } from './requirements.js';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Registers one test a path (`paths`: default AVX2 and scalar) that runs the tests of `file` whose names match
 * 'bit-identical' with PLAIT_SIMD set and `childFlag`=1 (the child skips registering these), and
 * checks that every test named by `names(simd)` passed and none failed.
 */
export function bitIdentityOnNarrowerPaths(
  file: string,
  childFlag: string,
  names: (simd: string) => string[],
  paths: ReadonlyArray<'avx512bw' | 'avx2' | 'scalar'> = ['avx2', 'scalar'],
): void {
  for (const simd of paths) {
    const cpu = kernelsStatus().cpu;
    const unsupported = simd === 'avx2' ? !(cpu.avx2 && cpu.fma) ? 'CPU lacks AVX2' : false : simd === 'avx512bw' && !(cpu.avx512f && cpu.avx512bw) ? 'CPU lacks AVX-512BW' : false;
    test(`bit identity on the native ${simd} path`, { skip: needsNative() || unsupported }, () => {
      requireNative();
      // Without NODE_TEST_CONTEXT the child reports plain TAP on stdout instead of to this runner.
      const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
      const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', '--test-name-pattern=bit-identical', file], {
        env: { ...env, PLAIT_SIMD: simd, PLAIT_KERNELS: '', [childFlag]: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      for (const name of names(simd)) assert.match(r.stdout, new RegExp(`ok \\d+ - ${escape(name)}`));
      assert.match(r.stdout, /# fail 0/);
    });
  }
}
