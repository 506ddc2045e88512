/**
 * Argument checks shared by the TypeScript kernels: every kernel checks its sizes before its loop,
 * so a bad call fails with a clear message instead of reading past the end of an array (which in
 * JavaScript would silently yield NaN scores). The native addon makes the same checks in C++.
 */

import { PlaitError, invalidArgument } from '../errors/index.js';

/**
 * Residual widths, the one set for the whole engine (kernels, codec, index format): a byte holds a
 * whole number of dimensions. 2 is ColBERTv2's default; 8 is the near-lossless oracle.
 */
export const SUPPORTED_NBITS = [1, 2, 4, 8] as const;
export type Nbits = (typeof SUPPORTED_NBITS)[number];

export function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw invalidArgument(name, 'a non-negative integer', value);
}

export function checkDim(value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw invalidArgument('dim', 'a positive integer', value);
}

/** The array must hold at least `needed` elements. */
export function checkLength(name: string, array: ArrayLike<number>, needed: number): void {
  if (array.length < needed) {
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `Expected at least ${needed} elements in ${name} but received ${array.length}`,
      name,
    });
  }
}

/**
 * @param dim when given, must pack into whole bytes at this width
 * @throws PlaitError INVALID_ARGUMENT for a width outside SUPPORTED_NBITS or a dim that does not pack
 */
export function checkNbits(nbits: number, dim?: number): Nbits {
  if (!(SUPPORTED_NBITS as readonly number[]).includes(nbits)) throw invalidArgument('nbits', `one of ${SUPPORTED_NBITS.join(', ')}`, nbits);
  if (dim !== undefined && (dim * nbits) % 8 !== 0) throw invalidArgument('dim', `a multiple of ${8 / nbits} for nbits ${nbits}`, dim);
  return nbits as Nbits;
}

/** Each document's rows [starts[d], starts[d] + lens[d]) must lie inside [0, rows). */
export function checkSpans(startsName: string, starts: Int32Array, lens: Int32Array, nDocs: number, rows: number): void {
  checkLength(startsName, starts, nDocs);
  checkLength('doclens', lens, nDocs);
  for (let d = 0; d < nDocs; d++) {
    const s = starts[d]!;
    const l = lens[d]!;
    if (s < 0 || l < 0 || s + l > rows) {
      throw new PlaitError('INVALID_ARGUMENT', {
        message: `Document ${d} spans rows [${s}, ${s + l}) but only ${rows} rows exist (${startsName}/doclens)`,
        name: startsName,
      });
    }
  }
}

/** Every code in codes[from, to) must be a centroid id in [0, k). */
export function checkCodes(codes: Int32Array, from: number, to: number, k: number): void {
  for (let i = from; i < to; i++) {
    const c = codes[i]!;
    if (c < 0 || c >= k) {
      throw new PlaitError('INVALID_ARGUMENT', {
        message: `Expected codes in [0, ${k}) but codes[${i}] is ${c}`,
        name: 'codes',
      });
    }
  }
}
