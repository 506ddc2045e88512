/**
 * IEEE 754 half precision (F16) and bfloat16 (BF16) bit patterns to numbers. BF16 is the top half of a float32, so widening is a
 * shift; F16 has 5 exponent bits (bias 15) and 10 mantissa bits, with subnormals, ±inf and NaN.
 */
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

export function bf16ToF32(bits: number): number {
  U32[0] = (bits & 0xffff) << 16;
  return F32[0]!;
}

export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
