/**
 * Argument checks shared by the TypeScript kernels: every kernel checks its sizes before its loop,
 * so a bad call fails with a clear message instead of reading past the end of an array (which in
 * JavaScript would silently yield NaN scores). The native addon makes the same checks in C++.
 */

import { PlaitError, invalidArgument, checkNumber } from '../errors/index.js';

/**
 * Residual widths, the one set for the whole engine (kernels, codec, index format): a byte holds a
 * whole number of dimensions. 2 is ColBERTv2's default; 8 is the near-lossless oracle.
 */
export const SUPPORTED_NBITS = [1, 2, 4, 8] as const;

/**
 * The ternary codec's width (issue 22; src/kernels/ternary-kernels.ts): each residual dimension is
 * one of three levels, five of them packed in a byte (3^5 = 243 ≤ 256), so 8/5 = 1.6 stored bits a
 * dimension (log2 3 ≈ 1.585 the bound): ceil(dim/5) bytes a token, 26 at 128 d against 2-bit's 32.
 * `nbits` carries this value wherever a residual width flows (kernels, codec, manifest).
 */
export const TERNARY_NBITS = 1.6;

/** A residual width: a bucket codec's bits a dimension (SUPPORTED_NBITS) or TERNARY_NBITS. */
export type Nbits = (typeof SUPPORTED_NBITS)[number] | typeof TERNARY_NBITS;

/** The name of TERNARY_NBITS on the command line (`plait index --nbits ternary`) and in reports. */
export const TERNARY_NAME = 'ternary';

/** The residual widths by name: '1', '2', '4', '8', 'ternary' (the CLI's `--nbits` choices). */
export const NBITS_NAMES = [...SUPPORTED_NBITS.map(String), TERNARY_NAME] as const;

/**
 * A width from its name ('ternary' or a number of bits).
 * @throws PlaitError INVALID_ARGUMENT for a name that is not one of NBITS_NAMES
 */
export function parseNbits(name: string): Nbits {
  return name === TERNARY_NAME ? TERNARY_NBITS : checkNbits(Number(name));
}

/** The width's name: 'ternary' for TERNARY_NBITS, else its number of bits. */
export function nbitsName(nbits: number): string {
  checkNumber('nbits', nbits, 'an nbits value');
  return nbits === TERNARY_NBITS ? TERNARY_NAME : String(nbits);
}

/** Quantisation levels of a width: 2^nbits for the bucket codecs, 3 for ternary. */
export function codecLevels(nbits: number): number {
  return nbits === TERNARY_NBITS ? 3 : 1 << nbits;
}

/** Bytes of packed residual a token: dim·nbits/8 for the bucket codecs, ceil(dim/5) for ternary. */
export function residualRowBytes(dim: number, nbits: number): number {
  return nbits === TERNARY_NBITS ? Math.ceil(dim / 5) : (dim * nbits) / 8;
}

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
 * @param dim when given, must pack into whole bytes at this width (any dim for ternary)
 * @throws PlaitError INVALID_ARGUMENT for a width outside SUPPORTED_NBITS and TERNARY_NBITS, or a dim that does not pack
 */
export function checkNbits(nbits: number, dim?: number): Nbits {
  // Ternary packs any dim (the last byte holds dim mod 5 trits).
  if (nbits === TERNARY_NBITS) return TERNARY_NBITS;
  if (!(SUPPORTED_NBITS as readonly number[]).includes(nbits)) throw invalidArgument('nbits', `one of ${SUPPORTED_NBITS.join(', ')} or ${TERNARY_NBITS} (ternary)`, nbits);
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
