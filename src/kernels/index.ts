/**
 * Kernel selection. `getKernels()` returns the native addon when it loads (SIMD path picked at run
 * time from the CPU's features), else the TypeScript twin. PLAIT_KERNELS=ts forces the twin;
 * PLAIT_KERNELS=native makes a failed load an error that explains every attempt.
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

let loaded: NativeLoadResult | undefined;

function load(): NativeLoadResult {
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
