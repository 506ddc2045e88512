/**
 * describeExactStage names what the exact stage runs, not what was asked for: a width without a code
 * scorer decompresses, a ternary index runs its byte lookup table under every code-scoring method.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeExactStage } from '../src/codec/code-scorer.js';
import { kernelsStatus } from '../src/kernels/index.js';
import { TERNARY_NBITS } from '../src/kernels/ternary-kernels.js';

test('describeExactStage: the method that runs for each width and requested method', () => {
  assert.equal(describeExactStage(2, 'fastscan', 'avx512-vbmi-vnni'), "on the codes: fast-scan nibble tables (avx512-vbmi-vnni lookups), divided by the token's norm");
  // By default the path of the kernels in use (kernelsStatus).
  assert.equal(describeExactStage(2, 'fastscan'), `on the codes: fast-scan nibble tables (${kernelsStatus().fastScanPath} lookups), divided by the token's norm`);
  assert.equal(describeExactStage(1, 'codes'), 'on the codes: int16 byte tables, not normalised');
  assert.equal(describeExactStage(4, 'codes-normalized'), "on the codes: int16 byte tables, divided by the token's norm");
  assert.equal(describeExactStage(2, 'decompress'), 'decompression, float MaxSim (PLAIT_EXACT_SCORING=decompress)');
  // 8 bits has no code scorer: whatever is asked, it decompresses.
  for (const m of ['fastscan', 'codes', 'codes-normalized'] as const) assert.equal(describeExactStage(8, m), 'decompression, float MaxSim (no scorer on 8-bit codes)');
  // Ternary: one scorer on its codes under every code-scoring method.
  for (const m of ['fastscan', 'codes', 'codes-normalized'] as const) assert.equal(describeExactStage(TERNARY_NBITS, m), "on the codes: ternary byte lookup table, divided by the token's norm");
  assert.equal(describeExactStage(TERNARY_NBITS, 'decompress'), 'decompression, float MaxSim (PLAIT_EXACT_SCORING=decompress)');
});
