/**
 * Loads the native addon (native-kernels/build/Release/plait_kernels.node) and wraps it as
 * `Kernels`. Like sharp's loader, every failed attempt is recorded, so the error says what was
 * tried and why each attempt failed. Loading is safe in worker threads (the addon is a
 * context-aware N-API module with no per-process JavaScript state).
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch } from 'node:process';
import { fileURLToPath } from 'node:url';
import type { Kernels, KernelsName } from './types.js';
import { guardNative } from './arguments.js';

export interface CpuFeatures {
  arch: string;
  avx2: boolean;
  fma: boolean;
  avx512f: boolean;
  avx512bw: boolean;
}

/** The addon's exports: the Kernels functions plus feature probes. */
interface NativeAddon extends Omit<Kernels, 'name'> {
  simd(): 'scalar' | 'avx2' | 'avx512';
  cpuFeatures(): Omit<CpuFeatures, 'arch'>;
}

export interface NativeLoadResult {
  kernels: Kernels | null;
  /** Every failed attempt, one per line; undefined when the addon loaded. */
  error?: string;
  cpu: CpuFeatures;
}

const ADDON_FILE = 'plait_kernels.node';

/** Where the addon may be: an explicit override, then the build folders seen from src/ and dist/src/. */
function candidates(): string[] {
  const list: string[] = [];
  const override = process.env.PLAIT_NATIVE_PATH;
  if (override) list.push(override);
  for (const up of ['../../', '../../../']) {
    for (const config of ['Release', 'Debug']) {
      list.push(fileURLToPath(new URL(`${up}native-kernels/build/${config}/${ADDON_FILE}`, import.meta.url)));
    }
  }
  return list;
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const first = e.message.split('\n')[0] ?? e.message;
    return code === 'MODULE_NOT_FOUND' ? 'not found' : first;
  }
  return String(e);
}

/** CPU features from /proc/cpuinfo, used when the addon (which asks the CPU directly) is missing. */
function cpuFromProc(): CpuFeatures {
  const none: CpuFeatures = { arch, avx2: false, fma: false, avx512f: false, avx512bw: false };
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('flags'));
    if (!line) return none;
    const flags = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
    return { arch, avx2: flags.has('avx2'), fma: flags.has('fma'), avx512f: flags.has('avx512f'), avx512bw: flags.has('avx512bw') };
  } catch {
    return none;
  }
}

function wrap(addon: NativeAddon): Kernels {
  const name = `native-${addon.simd()}` as KernelsName;
  return guardNative({
    name,
    matmulTransB: addon.matmulTransB,
    assignNearest: addon.assignNearest,
    maxsim: addon.maxsim,
    compress: addon.compress,
    decompress: addon.decompress,
    maxsimCompressed: addon.maxsimCompressed,
    centroidInteraction: addon.centroidInteraction,
    topK: addon.topK,
  });
}

export function loadNativeKernels(): NativeLoadResult {
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of candidates()) {
    try {
      const addon = require(path) as NativeAddon;
      if (typeof addon.maxsim !== 'function' || typeof addon.simd !== 'function') {
        failures.push(`${path}: loaded but does not export the kernel functions (stale build?)`);
        continue;
      }
      return { kernels: wrap(addon), cpu: { arch, ...addon.cpuFeatures() } };
    } catch (e) {
      failures.push(`${path}: ${describeError(e)}`);
    }
  }
  return {
    kernels: null,
    error: `Tried ${failures.length} locations:\n${failures.map((f) => `  - ${f}`).join('\n')}`,
    cpu: cpuFromProc(),
  };
}
