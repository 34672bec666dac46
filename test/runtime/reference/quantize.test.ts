import { describe, expect, it } from 'vitest';
import type { QuantFormat } from '../../../dsl/types.js';
import { fromBits16, toBits16 } from '../../../numerics/float16.js';
import { divF32, mulF32 } from '../../../numerics/rounding.js';
import { dequantize, GELU_SHIFT, quantizeActivations, quantizeWeights } from '../../../runtime/reference/quantize.js';

const S4 = { unsigned: false, shift: 0 };
const U4 = { unsigned: true, shift: GELU_SHIFT };
const int4 = (group: 32 | 64 | 128, scaleDtype: 'fp16' | 'bf16' = 'fp16'): QuantFormat => ({ kind: 'int4', group, scaleDtype });
const NVFP4: QuantFormat = { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' };
const MXFP4: QuantFormat = { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' };

function group(values: number[], G: number): number[] {
  return [...values, ...new Array(G - values.length).fill(0)];
}

describe('INT4 group quantization', () => {
  it('s4: scale = RN16(amax/7), codes rni(x / scale) with ties to even', () => {
    const x = group([7, 0.5, 1.5, 2.5, -0.5, -1.5, -7, 3.49], 32);
    const q = quantizeActivations(x, 1, 32, int4(32), S4);
    expect(q.scales[0]).toBe(0x3c00); // 1.0
    expect(Array.from(q.codes.slice(0, 8))).toEqual([7, 0, 2, 2, 0, -2, -7, 3]);
    expect(q.codes).toBeInstanceOf(Int8Array);
  });
  it('s4: the division uses the stored (rounded) scale', () => {
    // amax = 1 → 1/7 = 0.142857…; fp16 RN gives 0x3092 = 0.14282227; 1 / that = 7.0017 → 7.
    // A value 0.5 / 0.14282227 = 3.5008… → 4 (an unrounded scale would give exactly 3.5 → 4 too);
    // 0.0714 / s = 0.49993 → 0 while 0.0715 / s = 0.5006 → 1.
    const x = group([1, 0.5, 0.0714, 0.0715], 32);
    const q = quantizeActivations(x, 1, 32, int4(32), S4);
    expect(q.scales[0]).toBe(toBits16(Math.fround(1 / 7), 'fp16'));
    expect(fromBits16(q.scales[0], 'fp16')).toBeCloseTo(0.14282227, 7);
    expect(Array.from(q.codes.slice(0, 4))).toEqual([7, 4, 0, 1]);
  });
  it('a zero group has scale 0 and codes 0; groups are independent', () => {
    const x = [...group([], 64), ...group([-14, 2], 64)];
    const q = quantizeActivations(x, 1, 128, int4(64), S4);
    expect(Array.from(q.scales)).toEqual([0, 0x4000]); // 0 and 2.0
    expect(q.codes.slice(0, 64).every((c) => c === 0)).toBe(true);
    expect(Array.from(q.codes.slice(64, 66))).toEqual([-7, 1]);
  });
  it('u4: shift added before smoothing; negative values saturate to 0; scale amax/15', () => {
    // values after shift: 15.171875/1, -1+0.171875 → -0.828125 → 0 (saturated), 0 + shift
    const x = group([15, -1, 0], 32);
    const q = quantizeActivations(x, 1, 32, int4(32), U4);
    const s = fromBits16(q.scales[0], 'fp16');
    expect(s).toBe(fromBits16(toBits16(Math.fround(Math.fround(15 + GELU_SHIFT) / 15), 'fp16'), 'fp16'));
    expect(q.codes).toBeInstanceOf(Uint8Array);
    expect(Array.from(q.codes.slice(0, 3))).toEqual([15, 0, 0]); // 0.171875/1.0117 = 0.17 → 0
    // padding entries (x = 0) are the shift itself: 0.17 → 0
    expect(q.codes[31]).toBe(0);
  });
  it('smoothing scales each channel by its factor (exact for powers of two)', () => {
    const x = group([14, 14], 32);
    const smooth = new Array(32).fill(1);
    smooth[1] = 2;
    const q = quantizeActivations(x, 1, 32, int4(32), S4, smooth);
    expect(fromBits16(q.scales[0], 'fp16')).toBe(2);
    expect(Array.from(q.codes.slice(0, 2))).toEqual([7, 4]); // 14/2/2 = 3.5 → 4
  });
  it('no division per element: smoothing multiplies by RN(1 ÷ smooth), codes by RN(1 ÷ scale)', () => {
    // x = 1 + 5/2048 and smooth 3: RN(x × RN(1/3)) ≠ RN(x ÷ 3) (one ulp apart) — the reference (and the
    // kernels) take the reciprocal route; the group's amax carries it into the scale.
    const x = 1 + 5 / 2048;
    const r3 = divF32(1, 3);
    expect(mulF32(x, r3)).not.toBe(divF32(x, 3));
    const smooth = new Array(32).fill(3);
    const q = quantizeActivations(group([x], 32), 1, 32, { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' }, S4, smooth);
    // MXFP4: scale 2^⌈log2(v/6)⌉ = 2^-4; code e2m1(v × 16) = e2m1(5.359…) = 6 (0x7)
    expect(q.scales[0]).toBe(127 - 4);
    expect(q.codes[0]).toBe(0x7);
    const v = mulF32(x, r3);
    const q4 = quantizeActivations(group([x, 0.1], 32), 1, 32, int4(32), S4, smooth);
    const s = fromBits16(q4.scales[0], 'fp16');
    expect(s).toBe(fromBits16(toBits16(divF32(v, 7), 'fp16'), 'fp16'));
    const rs = divF32(1, s);
    expect(q4.codes[1]).toBe(Math.round(mulF32(mulF32(0.1, r3), rs)));
  });
  it('bf16 scales round to 8 significant bits', () => {
    const x = group([1], 32);
    const q = quantizeActivations(x, 1, 32, int4(32, 'bf16'), S4);
    expect(q.scales[0]).toBe(toBits16(Math.fround(1 / 7), 'bf16'));
    expect(q.scales[0]).toBe(0x3e12);
  });
  it('weights: per-row groups along K, s4 only', () => {
    const w = [...group([7, -3.5], 64), ...group([0.7], 64)];
    const q = quantizeWeights(w, 2, 64, int4(64));
    expect(Array.from(q.scales)).toEqual([0x3c00, toBits16(0.1, 'fp16')]);
    expect(Array.from(q.codes.slice(0, 2))).toEqual([7, -4]);
    expect(q.codes[64]).toBe(7);
    const d = dequantize(q);
    expect(d[0]).toBe(7);
    expect(d[1]).toBe(-4);
  });
  it('rejects K that is not a multiple of the group, naming it', () => {
    expect(() => quantizeActivations(new Array(48).fill(0), 1, 48, int4(32), S4)).toThrow(/K = 48 .*group 32/);
    expect(() => quantizeActivations(new Array(16).fill(0), 1, 16, NVFP4, U4)).toThrow(/unsigned/);
  });
});

describe('NVFP4 group quantization', () => {
  it('activations: scale = ue4m3(amax/6), codes e2m1(x / scale)', () => {
    const x = group([12, 5, -5, 7, 0.5, -12, 11], 16);
    const q = quantizeActivations(x, 1, 16, NVFP4, S4);
    expect(q.scales[0]).toBe(0x40); // 2.0
    // 12/2 = 6 → 0x7; 2.5 → 2 (tie to even, 0x4); -2.5 → 0xC; 3.5 → 4 (0x6); 0.25 → 0; -6 → 0xF; 5.5 → 6 (0x7)
    expect(Array.from(q.codes.slice(0, 7))).toEqual([0x7, 0x4, 0xc, 0x6, 0x0, 0xf, 0x7]);
  });
  it('activations: the ue4m3 scale rounds, and codes saturate at 6', () => {
    // amax = 6.9 → 1.15 → ue4m3 RNE 1.125 (0x39); 6.9/1.125 = 6.13 → satfinite 6
    const q = quantizeActivations(group([6.9], 16), 1, 16, NVFP4, S4);
    expect(q.scales[0]).toBe(0x39);
    expect(q.codes[0]).toBe(0x7);
  });
  it('zero group: scale 0, code 0', () => {
    const q = quantizeActivations(group([], 16), 1, 16, NVFP4, S4);
    expect(q.scales[0]).toBe(0);
    expect(q.codes.every((c) => c === 0)).toBe(true);
  });
  it('weights: per-tensor scale amax/2688, micro = ue4m3(amax_g/6/ts)', () => {
    const w = [...group([2688], 16), ...group([672, -336], 16)];
    const q = quantizeWeights(w, 1, 32, NVFP4);
    expect(q.tensorScale).toBe(1);
    expect(Array.from(q.scales)).toEqual([0x7e, 0x6e]); // 448, 112
    expect(Array.from(q.codes.slice(16, 18))).toEqual([0x7, 0xd]); // 672/112 = 6, -336/112 = -3
  });
  it('all-zero weights keep tensorScale 1', () => {
    const q = quantizeWeights(new Array(16).fill(0), 1, 16, NVFP4);
    expect(q.tensorScale).toBe(1);
    expect(q.scales[0]).toBe(0);
  });
});

describe('MXFP4 group quantization', () => {
  it('scale = smallest power of two ≥ amax/6; no code saturates', () => {
    const x = [...group([6, -3, 1.4], 32), ...group([7, 3.5], 32)];
    const q = quantizeActivations(x, 1, 64, MXFP4, S4);
    expect(Array.from(q.scales)).toEqual([127, 128]);
    expect(Array.from(q.codes.slice(0, 3))).toEqual([0x7, 0xd, 0x3]); // 6, -3, 1.4 → 1.5
    expect(Array.from(q.codes.slice(32, 34))).toEqual([0x6, 0x4]); // 7/2 = 3.5 → 4, 3.5/2 = 1.75 → 2 (ties to even)
  });
  it('zero group: scale 2^-127 (code 0), codes 0', () => {
    const q = quantizeActivations(group([], 32), 1, 32, MXFP4, S4);
    expect(q.scales[0]).toBe(0);
    expect(q.codes.every((c) => c === 0)).toBe(true);
  });
});
