/**
 * Kernel selection. `getKernels()` returns the native addon when it loads (SIMD path picked at run
 * time from the CPU's features), else the TypeScript twin. PLAIT_KERNELS=ts forces the twin;
 * PLAIT_KERNELS=native, or an addon named by PLAIT_NATIVE_PATH, makes a failed load an error that
 * explains every attempt.
 */

import { PlaitError } from '../errors/index.js';
import { loadNativeKernels, type CpuFeatures, type FastScanPathName, type NativeFileOps, type NativeLoadResult } from './native-loader.js';
import { typescriptKernels } from './typescript-kernels.js';
import type { Kernels, KernelsName } from './types.js';

export type { Kernels, KernelsName } from './types.js';
export { typescriptKernels } from './typescript-kernels.js';

export type { CpuFeatures, FastScanPathName, NativeFileOps } from './native-loader.js';

export interface KernelsStatus {
  active: KernelsName;
  /** Why the native addon is not in use (absent when it is, or when PLAIT_KERNELS=ts). */
  nativeError?: string;
  cpu: CpuFeatures;
  /** The int8 centroid-score path ('avx512-vnni', 'avx-vnni', 'scalar' native; 'typescript' on the twin). */
  intDotPath: string;
  /** The fast-scan lookup path (FastScanPathName native, 'unknown' from an addon older than the report; 'typescript' on the twin). */
  fastScanPath: FastScanPathName | 'typescript' | 'unknown';
}

/**
 * The values PLAIT_SIMD takes: a narrower native path than the CPU's widest ('avx512bw': fast-scan's
 * pshufb lookups instead of VBMI + VNNI). The addon reads it itself, case-sensitively
 * (native-kernels/src/cpu-features.cc, fast-scan.cc) and ignores anything else, so a typo would
 * silently run — and `plait info --kernels` report — the widest path.
 */
export const PLAIT_SIMD_VALUES = ['scalar', 'avx2', 'avx512bw'] as const;

/** The values PLAIT_KERNELS takes (any case): 'ts' or 'typescript' forces the twin, 'native' requires the addon, 'auto' (or unset) picks. */
export const PLAIT_KERNELS_VALUES = ['ts', 'typescript', 'native', 'auto'] as const;

/**
 * Refuses a PLAIT_SIMD or PLAIT_KERNELS value that is not one of theirs (empty counts as unset),
 * as PLAIT_EXACT_SCORING is refused, instead of ignoring it.
 * @throws PlaitError INVALID_ARGUMENT naming the variable, its values and what came
 */
export function checkKernelEnv(env: NodeJS.ProcessEnv = process.env): void {
  const simd = env.PLAIT_SIMD ?? '';
  if (simd !== '' && !(PLAIT_SIMD_VALUES as readonly string[]).includes(simd)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected PLAIT_SIMD to be one of ${PLAIT_SIMD_VALUES.join(', ')} (or unset for the CPU's widest path) but received "${simd}"`, name: 'PLAIT_SIMD' });
  }
  const kernels = (env.PLAIT_KERNELS ?? '').trim().toLowerCase();
  if (kernels !== '' && !(PLAIT_KERNELS_VALUES as readonly string[]).includes(kernels)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected PLAIT_KERNELS to be one of ${PLAIT_KERNELS_VALUES.join(', ')} (or unset) but received "${env.PLAIT_KERNELS}"`, name: 'PLAIT_KERNELS' });
  }
}

let loaded: NativeLoadResult | undefined;

function load(): NativeLoadResult {
  checkKernelEnv();
  if (loaded === undefined) loaded = loadNativeKernels();
  return loaded;
}

/** The addon's file locks and atomic swap (src/format/index-transaction.ts), or null without the addon; PLAIT_KERNELS does not apply. */
export function nativeFileOps(): NativeFileOps | null {
  return load().fileOps ?? null;
}

/** The native kernels, or null when the addon cannot be loaded. */
export function nativeKernels(): Kernels | null {
  return load().kernels;
}

type Mode = 'auto' | 'ts' | 'native';

function mode(): Mode {
  checkKernelEnv();
  const v = (process.env.PLAIT_KERNELS ?? '').trim().toLowerCase();
  if (v === 'ts' || v === 'typescript') return 'ts';
  if (v === 'native') return 'native';
  return 'auto';
}

/** The kernels to use: native unless unavailable or PLAIT_KERNELS=ts. */
export function getKernels(): Kernels {
  const m = mode();
  if (m === 'ts') return typescriptKernels;
  const result = load();
  if (result.kernels) return result.kernels;
  const override = process.env.PLAIT_NATIVE_PATH ?? '';
  if (override !== '') {
    // Asked for by name: the TypeScript twin in its place would be a silent substitution too.
    throw new PlaitError('NATIVE_UNAVAILABLE', { message: `PLAIT_NATIVE_PATH=${override} did not load; unset it to use plait's own build. ${result.error ?? ''}`, path: override });
  }
  if (m === 'native') {
    throw new PlaitError('NATIVE_UNAVAILABLE', {
      message: `PLAIT_KERNELS=native but the addon did not load. ${result.error ?? ''} Build it with "npm run build:native".`,
    });
  }
  return typescriptKernels;
}

export function kernelsStatus(): KernelsStatus {
  const result = load();
  let active: KernelsName;
  try {
    active = getKernels().name;
  } catch {
    active = typescriptKernels.name;
  }
  const native = active !== 'typescript';
  const status: KernelsStatus = {
    active,
    cpu: result.cpu,
    intDotPath: native ? (result.intDotPath ?? 'scalar') : 'typescript',
    fastScanPath: native ? (result.fastScanPath ?? 'unknown') : 'typescript',
  };
  if (result.error !== undefined && mode() !== 'ts') status.nativeError = result.error;
  return status;
}
