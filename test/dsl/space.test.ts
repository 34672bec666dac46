import { describe, expect, it } from 'vitest';
import { UserError } from '../../dsl/errors.js';
import { nvfp4 } from '../../dsl/formats.js';
import { cartesian, defaultSearchSpace, enumerateActTiles, enumerateGemmTiles, enumerateSpace, spaceSize } from '../../dsl/space.js';
import { layer } from '../../dsl/spec.js';
import { validateGemmTile } from '../../dsl/tiles.js';
import type { SmArch } from '../../dsl/types.js';

describe('search spaces', () => {
  it('cartesian walks every combination once, last knob fastest', () => {
    const pts = [...cartesian<{ a: number; b: string }>({ a: [1, 2], b: ['x', 'y', 'z'] })];
    expect(pts).toEqual([
      { a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 1, b: 'z' },
      { a: 2, b: 'x' }, { a: 2, b: 'y' }, { a: 2, b: 'z' },
    ]);
    expect([...cartesian<{ a: number }>({ a: [] })]).toEqual([]);
  });
  // Counts are the product of the knob lists (spaceSize) and of the structural and efficiency rules
  // (enumerate: warp tiles ≥ 32×32, ≥ 4 warps for a cp.async ring): a change to either shows up here.
  it.each([
    ['sm_75', 384, 144, 144],
    ['sm_80', 648, 147, 108],
    ['sm_86', 648, 147, 108],
    ['sm_89', 648, 147, 108],
    ['sm_90', 648, 147, 108],
    ['sm_120a', 324, 108, 108],
  ] as Array<[SmArch, number, number, number]>)('%s: %i raw GEMM points, %i valid, %i valid for NVFP4', (arch, raw, valid, validFp4) => {
    const s = defaultSearchSpace(arch);
    expect(spaceSize(s)).toEqual({ gemm: raw, act: 48 });
    expect([...enumerateGemmTiles(s)].length).toBe(valid);
    const fp4 = [...enumerateGemmTiles(s, layer({ format: nvfp4() }))];
    expect(fp4.length).toBe(validFp4);
    expect(fp4.every((t) => t.accum === 'f32')).toBe(true);
    expect([...enumerateActTiles(s)].length).toBe(39);
  });
  it('every enumerated tile passes validation and the space holds Nunchaku’s tile', () => {
    const s = defaultSearchSpace('sm_89');
    const tiles = [...enumerateGemmTiles(s)];
    for (const t of tiles) expect(validateGemmTile(t)).toEqual(t);
    expect(tiles).toContainEqual({ blockM: 256, blockN: 128, blockK: 128, warpsM: 8, warpsN: 1, stages: 2, staging: 'smem', accum: 'f16' });
    expect(tiles.every((t) => t.staging === 'smem' && t.blockK === 128 && t.stages >= 2)).toBe(true);
    expect(new Set(tiles.map((t) => JSON.stringify(t))).size).toBe(tiles.length);
  });
  it('Turing has register staging with 1–2 stages only', () => {
    const s = defaultSearchSpace('sm_75');
    expect(s.gemm.staging).toEqual(['reg']);
    expect(s.gemm.stages).toEqual([1, 2]);
  });
  it('enumerateSpace tags both kernels', () => {
    const pts = [...enumerateSpace(defaultSearchSpace('sm_86'))];
    expect(pts.filter((p) => p.kernel === 'gemm').length).toBe(147);
    expect(pts.filter((p) => p.kernel === 'act').length).toBe(39);
    expect(pts[0].kernel).toBe('gemm');
  });
  it('rejects unknown archs', () => {
    expect(() => defaultSearchSpace('sm_70' as SmArch)).toThrow(UserError);
    expect(() => defaultSearchSpace('sm_70' as SmArch)).toThrow(/allowed: sm_75, sm_80/);
  });
});
