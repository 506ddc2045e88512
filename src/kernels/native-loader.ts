/**
 * Loads the native addon and wraps it as `Kernels`. Where it is looked for, in order:
 *   1. PLAIT_NATIVE_PATH, a .node file (an explicit override: when set, nothing else is tried);
 *   2. node-gyp-build over the package's `native-kernels/` folder: a local build
 *      (build/Release, build/Debug: `npm run build:native`), else the prebuilt binary shipped in
 *      the npm package (prebuilds/<platform>-<arch>/, made by prebuildify in `prepack`), so users
 *      without a C++ toolchain get native kernels too. The folder is tried as seen from src/ (tsx)
 *      and from dist/src/ (compiled).
 * Like sharp's loader, every failed attempt is recorded, so the error says what was tried and why
 * each attempt failed. PLAIT_KERNELS=ts (src/kernels/index.ts) skips all this. Loading is safe in
 * worker threads (the addon is a context-aware N-API module with no per-process JavaScript state).
 */

import { plural } from '../util/plural.js';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch } from 'node:process';
import { fileURLToPath } from 'node:url';
import type { Kernels, KernelsName } from './types.js';
import { guardNative } from './arguments.js';
import { typescriptKernels } from './typescript-kernels.js';
import { codeKernels } from './code-kernels.js';
import { fastScanKernels } from './fast-scan.js';
import { ternaryCodeKernels } from './ternary-code-kernels.js';
import { TERNARY_NBITS } from './validate.js';

/**
 * The fast-scan kernel's lookup path (native-kernels/src/fast-scan.cc): 'avx512-vbmi-vnni' (vpermb
 * over four nibble positions, vpdpbusd sums; CPUs with AVX-512 VBMI and VNNI), 'avx512bw' (vpshufb
 * per nibble; PLAIT_SIMD=avx512bw forces it), 'avx2', 'neon', 'scalar'. Every path gives the same scores.
 */
export type FastScanPathName = 'avx512-vbmi-vnni' | 'avx512bw' | 'avx2' | 'neon' | 'scalar';

export interface CpuFeatures {
  arch: string;
  avx2: boolean;
  fma: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  /** With avx512vnni: the int8 centroid scores' VNNI path; with avx512vbmi too: fast-scan's vpermb + vpdpbusd path. */
  avx512vl: boolean;
  avx512vbmi: boolean;
  avx512vnni: boolean;
  /**
   * AVX-VNNI (VEX-encoded int8 dot products), which the avx2 path's int8 centroid scores use
   * ('avx-vnni'). The addon asks the CPU; a build older than that report falls back to /proc/cpuinfo's
   * `avx_vnni` flag, or true when the addon chose that path; absent when neither can tell.
   */
  avxvnni?: boolean;
}

/** The addon's exports: the Kernels functions plus feature probes. */
interface NativeAddon extends Omit<Kernels, 'name'> {
  simd(): 'scalar' | 'avx2' | 'avx512';
  /** The int8 dot-product path of centroidScoresInt8 (centroid-scores.cc); absent in older builds. */
  intDotPath?(): 'scalar' | 'avx-vnni' | 'avx512-vnni';
  /** The fast-scan lookup path (fast-scan.cc); absent in older builds. */
  fastScanPath?(): FastScanPathName;
  cpuFeatures(): Omit<CpuFeatures, 'arch'>;
  /** Measured single-core fp32 FMA peak (peak-flops.cc); absent in builds older than it. */
  peakFlops?(seconds: number): { flopsPerSecond: number; simd: string };
  /** file-lock.cc; absent in builds older than it. */
  lockFile?(path: string): number;
  unlockFile?(fd: number): void;
  exchangePaths?(a: string, b: string): boolean;
  /** ternary-kernels.cc: compress / decompress / maxsimCompressed without nbits; absent in builds older than it. */
  compressTernary?(vectors: Float32Array, n: number, dim: number, centroids: Float32Array, codes: Int32Array, cutoffs: Float32Array, out: Uint8Array): void;
  decompressTernary?(codes: Int32Array, residuals: Uint8Array, n: number, dim: number, centroids: Float32Array, weights: Float32Array, out: Float32Array): void;
  maxsimCompressedTernary?(
    q: Float32Array,
    qLen: number,
    dim: number,
    codes: Int32Array,
    residuals: Uint8Array,
    tokenStarts: Int32Array,
    doclens: Int32Array,
    nDocs: number,
    centroids: Float32Array,
    weights: Float32Array,
    out: Float32Array,
    qWeights?: Float32Array | null,
  ): void;
}

/**
 * The addon's file operations (native-kernels/src/file-lock.cc), used by the index transaction
 * whatever PLAIT_KERNELS says (a lock must be the same kind in every writer).
 */
export interface NativeFileOps {
  /** flock(2) LOCK_EX|LOCK_NB on `path` (created if absent): the held descriptor, or -1 when another holder has it. */
  lockFile(path: string): number;
  /** Releases and closes a descriptor from lockFile. */
  unlockFile(fd: number): void;
  /** renameat2(RENAME_EXCHANGE): swaps two paths atomically; false where unsupported. */
  exchangePaths(a: string, b: string): boolean;
}

/** A measured single-core fp32 FMA peak, for benchmarks' "share of peak". */
export interface MeasuredPeak {
  flopsPerSecond: number;
  /** The SIMD path the peak loop ran on (the MaxSim kernel's own). */
  simd: string;
}

export interface NativeLoadResult {
  kernels: Kernels | null;
  /** Measures the core's FMA peak over about `seconds` (benchmarks only); absent without the addon. */
  measurePeak?: (seconds: number) => MeasuredPeak;
  /** File locks and the atomic swap; absent without the addon or in a build older than file-lock.cc. */
  fileOps?: NativeFileOps;
  /** The int8 dot-product path of centroidScoresInt8 ('avx512-vnni', 'avx-vnni', 'scalar'); absent without the addon. */
  intDotPath?: string;
  /** The fast-scan lookup path of maxsimFastScan; absent without the addon or in an older build. */
  fastScanPath?: FastScanPathName;
  /** Every failed attempt, one per line; undefined when the addon loaded. */
  error?: string;
  cpu: CpuFeatures;
}

/** A way to load the addon: a .node file, or a native-kernels folder for node-gyp-build. */
type Candidate = { kind: 'file'; path: string } | { kind: 'folder'; path: string };

/**
 * Where the addon may be: an explicit override alone (a build asked for by name is not replaced by
 * another one when it does not load: it was, silently, so a benchmark of "another build" measured
 * this one), else the native-kernels folder seen from src/ and dist/src/.
 */
function candidates(): Candidate[] {
  const list: Candidate[] = [];
  const override = process.env.PLAIT_NATIVE_PATH;
  if (override) return [{ kind: 'file', path: override }];
  for (const up of ['../../', '../../../']) {
    list.push({ kind: 'folder', path: fileURLToPath(new URL(`${up}native-kernels`, import.meta.url)) });
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

/** node-gyp-build: resolves build/Release, build/Debug, then prebuilds/<platform>-<arch>/ under a folder. */
type NodeGypBuild = (dir: string) => unknown;

/** The `flags` of /proc/cpuinfo's first processor; null where there is none (not Linux, not x86). */
function procFlags(): Set<string> | null {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return line === undefined ? null : new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return null;
  }
}

/** CpuFeatures.avxvnni: /proc/cpuinfo's `avx_vnni`, else true when the int8 path is AVX-VNNI's, else unknown (no field). */
function avxVnni(flags: Set<string> | null, intDotPath: string | undefined): { avxvnni?: boolean } {
  if (flags !== null) return { avxvnni: flags.has('avx_vnni') };
  return intDotPath === 'avx-vnni' ? { avxvnni: true } : {};
}

/** CPU features from /proc/cpuinfo, used when the addon (which asks the CPU directly) is missing. */
function cpuFromProc(): CpuFeatures {
  const flags = procFlags();
  if (flags === null) return { arch, avx2: false, fma: false, avx512f: false, avx512bw: false, avx512vl: false, avx512vbmi: false, avx512vnni: false };
  // /proc/cpuinfo's names: avx512_vnni and avx_vnni with an underscore, avx512vbmi and avx512vl without.
  return {
    arch,
    avx2: flags.has('avx2'),
    fma: flags.has('fma'),
    avx512f: flags.has('avx512f'),
    avx512bw: flags.has('avx512bw'),
    avx512vl: flags.has('avx512vl'),
    avx512vbmi: flags.has('avx512vbmi'),
    avx512vnni: flags.has('avx512_vnni'),
    avxvnni: flags.has('avx_vnni'),
  };
}

function gatherThenAssign(assignNearest: Kernels['assignNearest']): Kernels['assignNearestRows'] {
  return (vectors, rows, nRows, centroids, k, dim, codes, bestScores) => {
    const gathered = new Float32Array(nRows * dim);
    for (let i = 0; i < nRows; i++) {
      const r = rows[i]!;
      if (!(r >= 0 && (r + 1) * dim <= vectors.length)) throw new RangeError(`Expected rows in [0, ${Math.floor(vectors.length / dim)}) but rows[${i}] is ${r}`);
      gathered.set(vectors.subarray(r * dim, (r + 1) * dim), i * dim);
    }
    assignNearest(gathered, nRows, centroids, k, dim, codes, bestScores);
  };
}

/**
 * The residual kernels, with nbits = TERNARY_NBITS routed to the addon's ternary functions (or, in
 * an addon built before them, to the TypeScript twin's).
 */
function residualKernels(addon: NativeAddon): Pick<Kernels, 'compress' | 'decompress' | 'maxsimCompressed'> {
  const { compressTernary, decompressTernary, maxsimCompressedTernary } = addon;
  if (typeof compressTernary !== 'function' || typeof decompressTernary !== 'function' || typeof maxsimCompressedTernary !== 'function') {
    const ts = typescriptKernels;
    return {
      compress: (v, n, dim, c, codes, cutoffs, nbits, out) => (nbits === TERNARY_NBITS ? ts : addon).compress(v, n, dim, c, codes, cutoffs, nbits, out),
      decompress: (codes, r, n, dim, c, w, nbits, out) => (nbits === TERNARY_NBITS ? ts : addon).decompress(codes, r, n, dim, c, w, nbits, out),
      maxsimCompressed: (q, qLen, dim, codes, r, s, l, nDocs, c, w, nbits, out, qw) => (nbits === TERNARY_NBITS ? ts : addon).maxsimCompressed(q, qLen, dim, codes, r, s, l, nDocs, c, w, nbits, out, qw),
    };
  }
  return {
    compress: (v, n, dim, c, codes, cutoffs, nbits, out) => (nbits === TERNARY_NBITS ? compressTernary(v, n, dim, c, codes, cutoffs, out) : addon.compress(v, n, dim, c, codes, cutoffs, nbits, out)),
    decompress: (codes, r, n, dim, c, w, nbits, out) => (nbits === TERNARY_NBITS ? decompressTernary(codes, r, n, dim, c, w, out) : addon.decompress(codes, r, n, dim, c, w, nbits, out)),
    maxsimCompressed: (q, qLen, dim, codes, r, s, l, nDocs, c, w, nbits, out, qw) =>
      nbits === TERNARY_NBITS ? maxsimCompressedTernary(q, qLen, dim, codes, r, s, l, nDocs, c, w, out, qw) : addon.maxsimCompressed(q, qLen, dim, codes, r, s, l, nDocs, c, w, nbits, out, qw),
  };
}

function wrap(addon: NativeAddon): Kernels {
  const name = `native-${addon.simd()}` as KernelsName;
  return guardNative({
    name,
    matmulTransB: addon.matmulTransB,
    assignNearest: addon.assignNearest,
    // An addon built before assignNearestRows existed (a stale build/) gathers the rows in JS instead.
    assignNearestRows: typeof addon.assignNearestRows === 'function' ? addon.assignNearestRows : gatherThenAssign(addon.assignNearest),
    maxsim: addon.maxsim,
    ...residualKernels(addon),
    centroidInteraction: addon.centroidInteraction,
    topK: addon.topK,
    probeCentroids: addon.probeCentroids,
    // An addon built before these kernels (a stale build/) runs the TypeScript twin's loops.
    centroidScoresInt8: typeof addon.centroidScoresInt8 === 'function' ? addon.centroidScoresInt8 : typescriptKernels.centroidScoresInt8,
    keepWithinMargin: typeof addon.keepWithinMargin === 'function' ? addon.keepWithinMargin : typescriptKernels.keepWithinMargin,
    ivfInteraction: typeof addon.ivfInteraction === 'function' ? addon.ivfInteraction : typescriptKernels.ivfInteraction,
    centroidEstimateWalk: typeof addon.centroidEstimateWalk === 'function' ? addon.centroidEstimateWalk : typescriptKernels.centroidEstimateWalk,
    probedPairs: typeof addon.probedPairs === 'function' ? addon.probedPairs : typescriptKernels.probedPairs,
    probedPairScores: typeof addon.probedPairScores === 'function' ? addon.probedPairScores : typescriptKernels.probedPairScores,
    // An addon built before code scoring existed (a stale build/) runs the TypeScript twin's.
    buildCodeLut: typeof addon.buildCodeLut === 'function' ? addon.buildCodeLut : codeKernels.buildCodeLut,
    maxsimCodes: typeof addon.maxsimCodes === 'function' ? addon.maxsimCodes : codeKernels.maxsimCodes,
    buildFastScanTables: typeof addon.buildFastScanTables === 'function' ? addon.buildFastScanTables : fastScanKernels.buildFastScanTables,
    maxsimFastScan: typeof addon.maxsimFastScan === 'function' ? addon.maxsimFastScan : fastScanKernels.maxsimFastScan,
    fastScanTokenSimilarities: typeof addon.fastScanTokenSimilarities === 'function' ? addon.fastScanTokenSimilarities : fastScanKernels.fastScanTokenSimilarities,
    // Ternary code scoring (issue 22); an addon built before it runs the TypeScript twin.
    buildTernaryCodeLut: typeof addon.buildTernaryCodeLut === 'function' ? addon.buildTernaryCodeLut : ternaryCodeKernels.buildTernaryCodeLut,
    maxsimTernaryCodes: typeof addon.maxsimTernaryCodes === 'function' ? addon.maxsimTernaryCodes : ternaryCodeKernels.maxsimTernaryCodes,
    ...(typeof addon.mapFile === 'function' ? { mapFile: addon.mapFile } : {}),
  });
}

export function loadNativeKernels(): NativeLoadResult {
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  let nodeGypBuild: NodeGypBuild | null = null;
  try {
    nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
  } catch (e) {
    failures.push(`node-gyp-build: ${describeError(e)} (a dependency of plait; reinstall it)`);
  }
  const seen = new Set<string>();
  for (const c of candidates()) {
    if (seen.has(c.path)) continue;
    seen.add(c.path);
    try {
      let loaded: unknown;
      if (c.kind === 'file') loaded = require(c.path);
      else if (!existsSync(c.path)) {
        failures.push(`${c.path}: no such folder`);
        continue;
      } else if (nodeGypBuild === null) continue;
      else loaded = nodeGypBuild(c.path);
      const addon = loaded as NativeAddon;
      const path = c.path;
      if (typeof addon.maxsim !== 'function' || typeof addon.simd !== 'function') {
        failures.push(`${path}: loaded but does not export the kernel functions (stale build?)`);
        continue;
      }
      const result: NativeLoadResult = { kernels: wrap(addon), cpu: { arch, ...addon.cpuFeatures() } };
      const peak = addon.peakFlops;
      if (typeof peak === 'function') result.measurePeak = (seconds) => peak(seconds);
      const { lockFile, unlockFile, exchangePaths } = addon;
      // flock(2) is POSIX; on Windows the index transaction uses its record lock.
      if (process.platform !== 'win32' && typeof lockFile === 'function' && typeof unlockFile === 'function' && typeof exchangePaths === 'function') result.fileOps = { lockFile, unlockFile, exchangePaths };
      if (typeof addon.intDotPath === 'function') result.intDotPath = addon.intDotPath();
      // Builds before the addon reported AVX-VNNI itself: /proc/cpuinfo, read only for them.
      if (result.cpu.avxvnni === undefined) Object.assign(result.cpu, avxVnni(procFlags(), result.intDotPath));
      if (typeof addon.fastScanPath === 'function') result.fastScanPath = addon.fastScanPath();
      return result;
    } catch (e) {
      // node-gyp-build's own message names the platform, ABI and libc it looked for.
      failures.push(`${c.path}: ${describeError(e)}`);
    }
  }
  return {
    kernels: null,
    error: `Tried ${plural(failures.length, 'location')}:\n${failures.map((f) => `  - ${f}`).join('\n')}`,
    cpu: cpuFromProc(),
  };
}
