import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromBits16, rn16, storeBits16, toBits16, NAN16 } from '../../numerics/float16.js';
import { fmaF32, roundSum } from '../../numerics/rounding.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bitsToF32(b: number): number {
  u32[0] = b >>> 0;
  return f32[0];
}
function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

// Independent formulations: the classic integer algorithms on fp32 bit patterns.
function f16FromF32Bits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant ? NAN16 : sign | 0x7c00;
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e; // keep 10 + e bits
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into the exponent (→ Inf): correct
  return sign | h;
}
function bf16FromF32Bits(b: number): number {
  if ((b & 0x7fffffff) > 0x7f800000) return NAN16;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

describe('fp16/bf16 RNE conversions', () => {
  it('fp16 matches the integer algorithm on random fp32 bit patterns', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (b) => {
        expect(toBits16(bitsToF32(b), 'fp16')).toBe(f16FromF32Bits(b));
      }),
      { numRuns: 20000 },
    );
  });
  it('fp16 matches around every exponent and subnormal boundary', () => {
    for (let e = 100; e <= 145; e++) {
      for (const m of [0, 1, 0xfff, 0x1000, 0x1001, 0x2000, 0x3000, 0x7fe000, 0x7ff000, 0x7fffff]) {
        for (const s of [0, 0x80000000]) {
          const b = (s | (e << 23) | m) >>> 0;
          expect(toBits16(bitsToF32(b), 'fp16')).toBe(f16FromF32Bits(b));
        }
      }
    }
  });
  it('bf16 matches the integer algorithm on random fp32 bit patterns', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (b) => {
        expect(toBits16(bitsToF32(b), 'bf16')).toBe(bf16FromF32Bits(b));
      }),
      { numRuns: 20000 },
    );
  });
  it('decodes every 16-bit pattern and re-encodes it unchanged', () => {
    const bad: string[] = [];
    for (let b = 0; b < 65536; b++) {
      const v16 = fromBits16(b, 'fp16');
      const vb = fromBits16(b, 'bf16');
      const ref = bitsToF32(b << 16); // bf16 is the top half of fp32
      if (!(Object.is(vb, ref) || (Number.isNaN(vb) && Number.isNaN(ref)))) bad.push(`bf16 decode ${b}`);
      if (!Number.isNaN(v16) && toBits16(v16, 'fp16') !== b) bad.push(`fp16 re-encode ${b}`);
      if (!Number.isNaN(vb) && toBits16(vb, 'bf16') !== b) bad.push(`bf16 re-encode ${b}`);
      // fp16 → fp32 is exact: the integer algorithm maps the fp32 pattern back to the same half
      if (!Number.isNaN(v16) && f16FromF32Bits(f32Bits(v16)) !== b) bad.push(`fp16 decode ${b}`);
      if (Number.isNaN(v16) !== ((b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0)) bad.push(`fp16 NaN ${b}`);
    }
    expect(bad).toEqual([]);
  });
  it('known answers: ties, subnormals, overflow, NaN, signed zero', () => {
    expect(toBits16(1 + 2 ** -11, 'fp16')).toBe(0x3c00); // tie → even
    expect(toBits16(1 + 3 * 2 ** -11, 'fp16')).toBe(0x3c02); // tie → even (up)
    expect(toBits16(2 ** -24, 'fp16')).toBe(0x0001);
    expect(toBits16(2 ** -25, 'fp16')).toBe(0x0000); // tie with 0 → even
    expect(toBits16(3 * 2 ** -25, 'fp16')).toBe(0x0002);
    expect(toBits16(-(2 ** -26), 'fp16')).toBe(0x8000);
    expect(toBits16(65504, 'fp16')).toBe(0x7bff);
    expect(toBits16(65519.99, 'fp16')).toBe(0x7bff);
    expect(toBits16(65520, 'fp16')).toBe(0x7c00);
    expect(toBits16(-1e9, 'fp16')).toBe(0xfc00);
    expect(toBits16(NaN, 'fp16')).toBe(0x7fff);
    expect(toBits16(-0, 'bf16')).toBe(0x8000);
    expect(toBits16(1 + 2 ** -8, 'bf16')).toBe(0x3f80);
    expect(toBits16(1 + 3 * 2 ** -8, 'bf16')).toBe(0x3f82);
    expect(rn16(3.14159, 'bf16')).toBe(3.140625);
  });
  it('rounds a float64 once (no double rounding through fp32)', () => {
    // 1 + 2^-11 + 2^-40: fp32 would round it to the tie 1 + 2^-11 and then to 1; exact RNE gives 1 + 2^-10.
    expect(toBits16(1 + 2 ** -11 + 2 ** -40, 'fp16')).toBe(0x3c01);
  });
  it('the fp16 store saturates to ±65504, keeps NaN; bf16 stores plain RNE', () => {
    expect(storeBits16(1e6, 'fp16')).toBe(0x7bff);
    expect(storeBits16(-Infinity, 'fp16')).toBe(0xfbff);
    expect(Number.isNaN(fromBits16(storeBits16(NaN, 'fp16'), 'fp16'))).toBe(true);
    expect(storeBits16(1e39, 'bf16')).toBe(0x7f80);
    expect(storeBits16(1.5, 'fp16')).toBe(0x3e00);
  });
});

describe('single-rounding fma and sums', () => {
  it('fmaF32 avoids the double rounding of fround(a·b + c)', () => {
    const a = 2 ** -12 * (1 + 2 ** -15);
    const b = 2 ** -12 * (1 - 2 ** -15);
    const c = 1 + 2 ** -23;
    expect(Math.fround(a * b + c)).toBe(1 + 2 ** -22); // wrong: the double sum lands on the tie
    expect(fmaF32(a, b, c)).toBe(1 + 2 ** -23);
    expect(fmaF32(a, -b, -c)).toBe(-(1 + 2 ** -23));
  });
  it('roundSum resolves a 16-bit tie by the lost low part', () => {
    const r = (x: number) => rn16(x, 'fp16');
    // 1 + 2^-11 is the fp16 tie between 1 and 1 + 2^-10; + 2^-70 must round up.
    expect(roundSum(1 + 2 ** -11, 2 ** -70, r)).toBe(1 + 2 ** -10);
    expect(roundSum(1 + 2 ** -11, -(2 ** -70), r)).toBe(1);
    expect(roundSum(2, 3, r)).toBe(5);
  });
  it('fmaF32 equals fround of the exact value when no tie occurs (random fp32 operands)', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true, noDefaultInfinity: true }), (a, b, c) => {
        const got = fmaF32(a, b, c);
        const naive = Math.fround(a * b + c);
        // They differ only when the double sum is an exact fp32 tie; then got is one ulp away.
        if (got !== naive) expect(Math.fround((got + naive) / 2)).not.toBe((got + naive) / 2);
      }),
      { numRuns: 5000 },
    );
  });
});
