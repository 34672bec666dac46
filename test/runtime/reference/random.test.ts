import { describe, expect, it } from 'vitest';
import { createRng, syntheticLayer } from '../../../runtime/reference/random.js';
import { fromValues, tensor, toFloat64 } from '../../../numerics/tensors.js';

describe('seeded PRNG', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(42), b = createRng(42), c = createRng(43);
    const sa = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(sa);
  });
  it('uniform and normal draws have the right moments', () => {
    const r = createRng(1);
    const n = 20000;
    let su = 0, sn = 0, sn2 = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      su += u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    expect(Math.abs(su / n - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(sn / n)).toBeLessThan(0.03);
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(0.05);
  });
  it('synthetic layers have large outlier channels', () => {
    const s = syntheticLayer({ M: 64, N: 32, K: 128, seed: 9, outlierScale: 30 });
    expect(s.outliers).toHaveLength(4);
    const amax = (k: number) => Math.max(...Array.from({ length: 64 }, (_, m) => Math.abs(s.x[m * 128 + k])));
    const normal = [...Array(128).keys()].filter((k) => !s.outliers.includes(k));
    const maxNormal = Math.max(...normal.map(amax));
    for (const k of s.outliers) expect(amax(k)).toBeGreaterThan(3 * maxNormal);
  });
});

describe('tensors', () => {
  it('stores 16-bit values as bit patterns and decodes them exactly', () => {
    const t = fromValues([1, -2.5, 65504, 1e-8], 'fp16', [2, 2]);
    expect(Array.from(t.data)).toEqual([0x3c00, 0xc100, 0x7bff, 0x0000]);
    expect(Array.from(toFloat64(t))).toEqual([1, -2.5, 65504, 0]);
    expect(tensor('int8', [3]).data).toBeInstanceOf(Int8Array);
    expect(() => tensor('f32', [2, 2], new Float32Array(3))).toThrow(/data has 3 elements, expected 4/);
  });
});
