/**
 * IEEE 754 half-precision conversion for spilling token vectors to disk during a build (Node 20
 * has no Float16Array). Half precision keeps 11 significant bits (relative error ≤ 2^-11), far
 * finer than the 1–4-bit residual quantisation the vectors go through next. Table-driven (after
 * J. van der Zijp, "Fast Half Float Conversions", 2008), rounding to nearest on the way down.
 */

/** Shift marker for exponents whose half is a fixed value (signed zero or infinity). */
const FIXED = 31;
const base = new Uint16Array(512);
const shift = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  const e = i - 127;
  if (e < -25) {
    // Too small: signed zero.
    base[i] = 0x0000;
    base[i | 0x100] = 0x8000;
    shift[i] = shift[i | 0x100] = FIXED;
  } else if (e < -14) {
    // Subnormal half.
    base[i] = 0x0400 >> (-e - 14);
    base[i | 0x100] = (0x0400 >> (-e - 14)) | 0x8000;
    shift[i] = shift[i | 0x100] = -e - 1;
  } else if (e <= 15) {
    base[i] = (e + 15) << 10;
    base[i | 0x100] = ((e + 15) << 10) | 0x8000;
    shift[i] = shift[i | 0x100] = 13;
  } else if (e < 128) {
    // Too large: infinity.
    base[i] = 0x7c00;
    base[i | 0x100] = 0xfc00;
    shift[i] = shift[i | 0x100] = FIXED;
  } else {
    // Infinity and NaN keep their class.
    base[i] = 0x7c00;
    base[i | 0x100] = 0xfc00;
    shift[i] = shift[i | 0x100] = 13;
  }
}

/** All 65,536 halves as float32 (256 KiB): decoding is one table load. */
const decodeTable = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = sign * m * 2 ** -24;
    else if (e === 31) t[h] = m === 0 ? sign * Infinity : NaN;
    else t[h] = sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

/** out[i] = half(src[i]), rounded to nearest. */
export function toFloat16(src: Float32Array, out: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const f = bits[i]!;
    const idx = f >>> 23;
    const s = shift[idx]!;
    const m = f & 0x007fffff;
    if (s === 13) {
      const e = (f >>> 23) & 0xff;
      // Normal range: round the 13 dropped bits to nearest (a carry correctly bumps the exponent).
      out[i] = e === 0xff ? base[idx]! | (m !== 0 ? 0x200 : 0) : base[idx]! + ((m + 0x1000) >>> 13);
    } else if (s === FIXED) out[i] = base[idx]!;
    else out[i] = (base[idx]! & 0x8000) | (((m | 0x00800000) + (1 << (s - 1))) >>> s); // subnormal half, rounded
  }
}

/** out[i] = float(src[i]). */
export function fromFloat16(src: Uint16Array, out: Float32Array): void {
  for (let i = 0; i < src.length; i++) out[i] = decodeTable[src[i]!]!;
}
