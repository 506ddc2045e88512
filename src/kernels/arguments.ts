/**
 * One error contract for both kernel implementations: a bad call is a PlaitError with code
 * INVALID_ARGUMENT, whichever path runs. The native addon checks its arguments in C++ and throws
 * TypeError/RangeError (N-API's own classes); `guardNative` maps those. The TypeScript twin checks
 * sizes in validate.ts, and `checkArrayTypes` gives it the addon's array-type checks (a Float64Array
 * passed for a Float32Array would otherwise be read silently).
 */
import { PlaitError } from '../errors/index.js';
import type { Kernels } from './types.js';

type KernelFn = Exclude<keyof Kernels, 'name' | 'mapFile'>;
type ArrayKind = Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor | Int16ArrayConstructor | Float64ArrayConstructor;

/** [argument position, name, array class, optional] of each kernel's typed-array arguments. */
const F32 = Float32Array;
const I32 = Int32Array;
const U8 = Uint8Array;
const I16 = Int16Array;
const F64 = Float64Array;
const ARRAY_ARGS: Record<KernelFn, ReadonlyArray<readonly [number, string, ArrayKind, boolean]>> = {
  matmulTransB: [[0, 'a', F32, false], [2, 'b', F32, false], [5, 'out', F32, false]],
  assignNearest: [[0, 'vectors', F32, false], [2, 'centroids', F32, false], [5, 'codes', I32, false], [6, 'bestScores', F32, true]],
  assignNearestRows: [[0, 'vectors', F32, false], [1, 'rows', I32, false], [3, 'centroids', F32, false], [6, 'codes', I32, false], [7, 'bestScores', F32, true]],
  maxsim: [[0, 'q', F32, false], [3, 'docs', F32, false], [4, 'docStarts', I32, false], [5, 'doclens', I32, false], [7, 'out', F32, false], [8, 'qWeights', F32, true]],
  compress: [[0, 'vectors', F32, false], [3, 'centroids', F32, false], [4, 'codes', I32, false], [5, 'cutoffs', F32, false], [7, 'out', U8, false]],
  decompress: [[0, 'codes', I32, false], [1, 'residuals', U8, false], [4, 'centroids', F32, false], [5, 'weights', F32, false], [7, 'out', F32, false]],
  maxsimCompressed: [
    [0, 'q', F32, false],
    [3, 'codes', I32, false],
    [4, 'residuals', U8, false],
    [5, 'tokenStarts', I32, false],
    [6, 'doclens', I32, false],
    [8, 'centroids', F32, false],
    [9, 'weights', F32, false],
    [11, 'out', F32, false],
    [12, 'qWeights', F32, true],
  ],
  centroidInteraction: [[0, 'centroidScores', F32, false], [2, 'codes', I32, false], [3, 'tokenStarts', I32, false], [4, 'doclens', I32, false], [6, 'keep', U8, true], [7, 'out', F32, false], [8, 'qWeights', F32, true]],
  topK: [[0, 'scores', F32, false]],
  probeCentroids: [[0, 'centroidScores', F32, false], [5, 'probed', I32, false], [6, 'keep', U8, false], [7, 'rowMax', F32, true]],
  keepWithinMargin: [[0, 'centroidScores', F32, false], [3, 'floor', F32, false], [4, 'keep', U8, false], [5, 'rowMax', F32, true]],
  ivfInteraction: [[0, 'centroidScores', F32, false], [2, 'kept', I32, false], [3, 'bounds', I32, false], [4, 'entries', I32, false], [5, 'pids', I32, false], [6, 'out', F32, false], [7, 'qWeights', F32, true]],
  centroidEstimateWalk: [[0, 'centroidScores', F32, false], [2, 'top', I32, false], [4, 'ivfOffsets', F64, false], [5, 'ivf', I32, false], [7, 'pids', I32, false], [8, 'qWeights', F32, true], [9, 'est', F32, false], [10, 'ci', F32, false]],
  probedPairs: [[0, 'codes', I32, false], [1, 'tokenStarts', I32, false], [2, 'doclens', I32, false], [3, 'pids', I32, false], [4, 'docs', I32, false], [5, 'head', I32, false], [6, 'next', I32, false], [9, 'first', I32, false], [10, 'rows', I32, false], [11, 'docOf', I32, false]],
  probedPairScores: [
    [0, 'centroidScores', F32, false],
    [2, 'tables', U8, false],
    [3, 'scales', F32, false],
    [4, 'offsets', F32, false],
    [5, 'codes', I32, false],
    [6, 'residuals', U8, false],
    [9, 'tokenStarts', I32, false],
    [10, 'doclens', I32, false],
    [11, 'pids', I32, false],
    [12, 'docs', I32, false],
    [13, 'head', I32, false],
    [14, 'next', I32, false],
    [16, 'invNorms', F32, false],
    [17, 'centroids', F32, false],
    [18, 'weights', F32, false],
    [19, 'e', F32, false],
  ],
  centroidScoresInt8: [
    [0, 'centroids', U8, false],
    [1, 'centroidScales', F32, false],
    [4, 'queryPanel', U8, false],
    [5, 'queryScales', F32, false],
    [6, 'corrections', I32, false],
    [8, 'out', F32, false],
    [9, 'rowMax', F32, true],
  ],
  buildCodeLut: [[0, 'q', F32, false], [3, 'weights', F32, false], [5, 'lut', I16, false], [6, 'scales', F32, false]],
  maxsimCodes: [
    [0, 'centroidScores', F32, false],
    [2, 'lut', I16, false],
    [3, 'scales', F32, false],
    [4, 'codes', I32, false],
    [5, 'residuals', U8, false],
    [8, 'tokenStarts', I32, false],
    [9, 'doclens', I32, false],
    [11, 'centroidNormsSq', F32, true],
    [12, 'weights', F32, false],
    [13, 'out', F32, false],
    [14, 'qWeights', F32, true],
  ],
  buildFastScanTables: [[0, 'q', F32, false], [3, 'weights', F32, false], [5, 'tables', U8, false], [6, 'scales', F32, false], [7, 'offsets', F32, false]],
  maxsimFastScan: [
    [0, 'centroidScores', F32, false],
    [2, 'tables', U8, false],
    [3, 'scales', F32, false],
    [4, 'offsets', F32, false],
    [5, 'codes', I32, false],
    [6, 'residuals', U8, false],
    [9, 'tokenStarts', I32, false],
    [10, 'doclens', I32, false],
    [12, 'out', F32, false],
    [13, 'qWeights', F32, true],
    [14, 'invNorms', F32, true],
    [15, 'centroids', F32, true],
    [16, 'weights', F32, true],
  ],
  fastScanTokenSimilarities: [
    [0, 'centroidScores', F32, false],
    [2, 'tables', U8, false],
    [3, 'scales', F32, false],
    [4, 'offsets', F32, false],
    [5, 'codes', I32, false],
    [6, 'residuals', U8, false],
    [11, 'out', F32, false],
    [12, 'invNorms', F32, true],
    [13, 'centroids', F32, true],
    [14, 'weights', F32, true],
  ],
  buildTernaryCodeLut: [[0, 'q', F32, false], [3, 'weights', F32, false], [4, 'lut', I16, false], [5, 'scales', F32, false]],
  maxsimTernaryCodes: [
    [0, 'centroidScores', F32, false],
    [2, 'lut', I16, false],
    [3, 'scales', F32, false],
    [4, 'codes', I32, false],
    [5, 'residuals', U8, false],
    [7, 'tokenStarts', I32, false],
    [8, 'doclens', I32, false],
    [10, 'out', F32, false],
    [11, 'qWeights', F32, true],
    [12, 'invNorms', F32, true],
    [13, 'centroids', F32, true],
    [14, 'weights', F32, true],
  ],
};

const ARTICLE: ReadonlyMap<ArrayKind, string> = new Map<ArrayKind, string>([
  [F32, 'a Float32Array'],
  [I32, 'an Int32Array'],
  [U8, 'a Uint8Array'],
  [I16, 'an Int16Array'],
  [F64, 'a Float64Array'],
]);

/** @throws PlaitError INVALID_ARGUMENT when a typed-array argument has the wrong class (the addon's TypeError). */
export function checkArrayTypes(fn: KernelFn, args: readonly unknown[]): void {
  for (const [i, name, kind, optional] of ARRAY_ARGS[fn]) {
    const v = args[i];
    if (optional && (v === undefined || v === null)) continue;
    if (!(v instanceof kind)) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected ${ARTICLE.get(kind)!} for ${name} in ${fn}`, name, kernel: fn });
  }
}

/** Adds the array-type checks in front of every TypeScript kernel. */
export function withArrayChecks(k: Kernels): Kernels {
  const out: Record<string, unknown> = { name: k.name };
  for (const fn of Object.keys(ARRAY_ARGS) as KernelFn[]) {
    const f = k[fn] as (...a: unknown[]) => unknown;
    out[fn] = (...args: unknown[]) => {
      checkArrayTypes(fn, args);
      return f(...args);
    };
  }
  // Members without array arguments (mapFile, for one) pass through as they are.
  for (const [key, value] of Object.entries(k)) if (!(key in out)) out[key] = value;
  return out as unknown as Kernels;
}

/** The addon's kernels with its TypeError/RangeError mapped to PlaitError INVALID_ARGUMENT (the original kept as cause). */
export function guardNative(k: Kernels): Kernels {
  const out: Record<string, unknown> = { name: k.name };
  for (const fn of Object.keys(ARRAY_ARGS) as KernelFn[]) {
    const f = k[fn] as (...a: unknown[]) => unknown;
    out[fn] = (...args: unknown[]) => {
      try {
        return f(...args);
      } catch (e) {
        if (e instanceof TypeError || e instanceof RangeError) {
          const name = /\bfor (\w+)|\bin (\w+)/.exec(e.message);
          throw new PlaitError('INVALID_ARGUMENT', { message: e.message, name: name?.[1] ?? name?.[2], kernel: fn }, { cause: e });
        }
        throw e;
      }
    };
  }
  // Members without array arguments (mapFile, for one) pass through as they are.
  for (const [key, value] of Object.entries(k)) if (!(key in out)) out[key] = value;
  return out as unknown as Kernels;
}
