// The test-side FP4 codec against the value tables of ptx-fragments.md §4.6, and our numerics/ codecs
// against it (two implementations written from the same definitions must agree everywhere).
import { describe, expect, it } from 'vitest';
import { decodeE2m1, encodeE2m1 } from '../../../numerics/fp4.js';
import { decodeUe4m3, decodeUe8m0, encodeUe4m3, encodeUe8m0 } from '../../../numerics/fp8.js';
import { e2m1Encode, e2m1Value, ue4m3Encode, ue4m3Value, ue8m0EncodeUp, ue8m0Value } from './fp4-definitions.js';

describe('test-side FP4 definitions', () => {
  it('e2m1, ue4m3 and ue8m0 values as ptx-fragments.md §4.6 tabulates them', () => {
    expect(Array.from({ length: 8 }, (_, c) => e2m1Value(c))).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6]);
    expect(Array.from({ length: 8 }, (_, c) => e2m1Value(c | 8))).toEqual([-0, -0.5, -1, -1.5, -2, -3, -4, -6]);
    expect([ue4m3Value(0x38), ue4m3Value(0x7e), ue4m3Value(0x01), ue4m3Value(0x08)]).toEqual([1, 448, 2 ** -9, 2 ** -6]);
    expect(ue4m3Value(0x7f)).toBeNaN();
    expect([ue8m0Value(0x7f), ue8m0Value(0), ue8m0Value(254)]).toEqual([1, 2 ** -127, 2 ** 127]);
  });
  it('encoders round to nearest, ties to even, and saturate', () => {
    expect([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 7, 100].map(e2m1Encode)).toEqual([0, 2, 2, 4, 4, 6, 6, 7, 7]);
    expect(e2m1Encode(-2.6)).toBe(0xd);
    expect([1, 448, 1000, 1.0625, 1.1875].map(ue4m3Encode)).toEqual([0x38, 0x7e, 0x7e, 0x38, 0x3a]);
    expect([1, 1.01, 0.75, 2 ** -140].map(ue8m0EncodeUp)).toEqual([127, 128, 127, 0]);
  });
  it('numerics/ decodes and encodes exactly like the definitions', () => {
    for (let c = 0; c < 16; c++) expect(decodeE2m1(c)).toBe(e2m1Value(c));
    for (let c = 0; c < 0x7f; c++) expect(decodeUe4m3(c)).toBe(ue4m3Value(c));
    for (let c = 0; c < 0xff; c++) expect(decodeUe8m0(c)).toBe(ue8m0Value(c));
    // every midpoint and its neighbours, and a sweep
    const probes: number[] = [];
    for (let c = 0; c < 0x7e; c++) {
      const mid = (ue4m3Value(c) + ue4m3Value(c + 1)) / 2;
      probes.push(mid, mid * (1 + 2 ** -20), mid * (1 - 2 ** -20));
    }
    for (let i = 0; i < 2000; i++) probes.push(2 ** (-12 + (i / 2000) * 22));
    for (const v of probes) {
      expect(encodeUe4m3(v), `ue4m3(${v})`).toBe(ue4m3Encode(v));
      expect(encodeUe8m0(v), `ue8m0(${v})`).toBe(ue8m0EncodeUp(v));
      if (v < 8) {
        expect(encodeE2m1(v), `e2m1(${v})`).toBe(e2m1Encode(v));
        expect(encodeE2m1(-v), `e2m1(${-v})`).toBe(e2m1Encode(-v));
      }
    }
  });
});
