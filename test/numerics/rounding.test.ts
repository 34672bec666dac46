import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fmaF32, rintEven, roundSum } from '../../numerics/rounding.js';
import { rn16 } from '../../numerics/float16.js';

// Exact arithmetic: every value involved is an integer multiple of 2^-300.
const SCALE = 300n;
function toBig(x: number): bigint {
  if (x === 0) return 0n;
  if (!Number.isFinite(x)) throw new RangeError(`toBig(${x})`);
  let e = Math.floor(Math.log2(Math.abs(x)));
  let m = x / 2 ** (e - 60); // 60+ bits: exact integer for doubles
  while (!Number.isInteger(m)) { e -= 8; m = x / 2 ** (e - 60); }
  const shift = BigInt(e - 60) + SCALE;
  return shift >= 0n ? BigInt(m) << shift : BigInt(m) >> -shift; // right shifts are exact here
}
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
function f32Neighbour(x: number, dir: 1 | -1): number {
  f32buf[0] = x;
  if (x === 0) { u32buf[0] = dir > 0 ? 1 : 0x80000001; return f32buf[0]; }
  u32buf[0] += (x > 0) === (dir > 0) ? 1 : -1;
  return f32buf[0];
}
/** RNE of an exact value to fp32 by comparing exact distances to the candidates. */
function exactRoundF32(v: bigint): number {
  const approx = Math.fround(Number(v) / 2 ** 300);
  const cands = [f32Neighbour(approx, -1), approx, f32Neighbour(approx, 1)].filter(Number.isFinite);
  let best = cands[0];
  let bestD = -1n;
  for (const c of cands) {
    const d = toBig(c) - v;
    const ad = d < 0n ? -d : d;
    f32buf[0] = c;
    const even = (u32buf[0] & 1) === 0;
    if (bestD < 0n || ad < bestD || (ad === bestD && even)) { best = c; bestD = ad; }
  }
  return best;
}

describe('fmaF32 against exact big-integer arithmetic', () => {
  const f = fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e18), max: Math.fround(1e18) });
  it('random operands', () => {
    fc.assert(fc.property(f, f, f, (a, b, c) => {
      const exact = exactRoundF32(toBig(a) * toBig(b) / (1n << SCALE) + toBig(c));
      expect(Object.is(fmaF32(a, b, c), exact) || fmaF32(a, b, c) === exact).toBe(true);
    }), { numRuns: 1500 });
  });
  it('near-cancellation and near-tie operands', () => {
    fc.assert(fc.property(f, f, fc.integer({ min: -40, max: 40 }), fc.constantFrom(0.5, 1, 1.5), (a, b, e, k) => {
      const c = Math.fround(-(a * b) + k * 2 ** e * Math.abs(Math.fround(a * b) || 1) * 2 ** -24);
      fc.pre(Number.isFinite(c));
      const exact = exactRoundF32(toBig(a) * toBig(b) / (1n << SCALE) + toBig(c));
      expect(fmaF32(a, b, c) === exact).toBe(true);
    }), { numRuns: 1500 });
  });
});

describe('rintEven and 16-bit roundSum', () => {
  it('rintEven rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 7.0017].map(rintEven)).toEqual([0, 2, 2, 0, -2, -2, 2, 7]);
  });
  it('roundSum(a·b, c) equals rounding the exact sum (fp16 operands)', () => {
    const h = fc.integer({ min: -2048, max: 2048 }).chain((m) => fc.integer({ min: -14, max: 4 }).map((e) => m * 2 ** e));
    fc.assert(fc.property(h, h, h, (a, b, c) => {
      const r = (x: number) => rn16(x, 'fp16');
      // a·b + c is exact in float64 here (≤ 22 + 20 bits): rn16 of it is the reference
      expect(roundSum(a * b, c, r)).toBe(r(a * b + c));
    }), { numRuns: 1500 });
  });
});
