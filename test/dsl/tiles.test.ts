import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../dsl/errors.js';
import { int4, nvfp4 } from '../../dsl/formats.js';
import { layer } from '../../dsl/spec.js';
import { resolveGpu } from '../../dsl/targets.js';
import { checkTileOnTarget, gemmThreads, validateActTile, validateGemmTile, warpTile } from '../../dsl/tiles.js';
import type { GemmTile } from '../../dsl/types.js';
import { expectSpecError } from './expect-spec-error.js';

const nunchaku: GemmTile = { blockM: 256, blockN: 128, blockK: 64, warpsM: 8, warpsN: 1, stages: 2, staging: 'reg', accum: 'f16' };
const t = (o: Partial<GemmTile>) => ({ ...nunchaku, ...o });

describe('validateGemmTile', () => {
  it("accepts Nunchaku's fixed 256×128, 8-warp tile and returns a copy", () => {
    const v = validateGemmTile(nunchaku, layer({}));
    expect(v).toEqual(nunchaku);
    expect(v).not.toBe(nunchaku);
    expect(gemmThreads(v)).toBe(256);
    expect(warpTile(v)).toEqual({ m: 32, n: 128 });
  });
  it('rejects non-powers of two and out-of-range blocks', () => {
    expectSpecError(() => validateGemmTile(t({ blockM: 96 })), 'tile.blockM', 96, 'power of two in [16, 256]');
    expectSpecError(() => validateGemmTile(t({ blockN: 512 })), 'tile.blockN', 512, 'power of two in [16, 256]');
    expectSpecError(() => validateGemmTile(t({ blockK: 32 })), 'tile.blockK', 32, 'power of two in [64, 256]');
    expectSpecError(() => validateGemmTile(t({ warpsM: 3 })), 'tile.warpsM', 3, 'power of two in [1, 8]');
  });
  it('limits warps per block to 8', () => {
    expectSpecError(() => validateGemmTile(t({ warpsM: 4, warpsN: 4 })), 'tile.warpsN', 4, 'at most 8 warps per block');
  });
  it('needs whole 16×16 MMA tiles per warp', () => {
    expectSpecError(() => validateGemmTile(t({ blockM: 64, warpsM: 8 })), 'tile.blockM', 64, 'multiple of 16·warpsM = 128');
    expectSpecError(() => validateGemmTile(t({ blockN: 32, warpsM: 2, warpsN: 4 })), 'tile.blockN', 32, 'multiple of 16·warpsN = 64');
  });
  it('checks stages, staging and accumulation', () => {
    expectSpecError(() => validateGemmTile(t({ stages: 5 })), 'tile.stages', 5, 'integer in [1, 4]');
    expectSpecError(() => validateGemmTile(t({ stages: 0 })), 'tile.stages', 0, 'integer in [1, 4]');
    expectSpecError(() => validateGemmTile(t({ staging: 'tma' as 'reg' })), 'tile.staging', 'tma', "allowed: 'reg', 'smem'");
    expectSpecError(() => validateGemmTile(t({ accum: 'f64' as 'f32' })), 'tile.accum', 'f64', "allowed: 'f32', 'f16'");
    expectSpecError(() => validateGemmTile({ ...nunchaku, swizzle: 1 }), 'tile.swizzle', 1, 'allowed fields');
    expectSpecError(() => validateGemmTile(null), 'tile', null, 'must be an object');
  });
  it('applies the format: blockK a multiple of the group, f16 accumulation only for int4', () => {
    expectSpecError(() => validateGemmTile(t({ blockK: 64 }), layer({ format: int4({ group: 128 }) })), 'tile.blockK', 64, 'multiple of the int4 group size 128');
    expect(validateGemmTile(t({ blockK: 128 }), layer({ format: int4({ group: 128 }) })).blockK).toBe(128);
    expectSpecError(() => validateGemmTile(t({ accum: 'f16' }), layer({ format: nvfp4() })), 'tile.accum', 'f16', "only allowed for int4");
    expect(validateGemmTile(t({ accum: 'f32' }), layer({ format: nvfp4() })).accum).toBe('f32');
  });
  it('rejects shared-memory staging on Turing (no cp.async)', () => {
    expectSpecError(() => checkTileOnTarget(t({ staging: 'smem' }), resolveGpu('sm_75')), 'tile.staging', 'smem', "cp.async needs sm_80");
    expect(() => checkTileOnTarget(t({ staging: 'smem' }), resolveGpu('sm_89'))).not.toThrow();
    expect(() => checkTileOnTarget(t({ staging: 'reg' }), resolveGpu('sm_75'))).not.toThrow();
  });
});

describe('validateActTile', () => {
  it("accepts Nunchaku's 256 rows × 128 channels with 8 warps", () => {
    expect(validateActTile({ blockM: 256, blockK: 128, warps: 8 })).toEqual({ blockM: 256, blockK: 128, warps: 8 });
  });
  it('names every violated rule', () => {
    expectSpecError(() => validateActTile({ blockM: 64, blockK: 128, warps: 8 }), 'actTile.blockM', 64, 'multiple of 16·warps = 128');
    expectSpecError(() => validateActTile({ blockM: 64, blockK: 32, warps: 1 }), 'actTile.blockK', 32, 'power of two in [64, 512]');
    expectSpecError(() => validateActTile({ blockM: 64, blockK: 64, warps: 16 }), 'actTile.warps', 16, 'power of two in [1, 8]');
    expectSpecError(() => validateActTile({ blockM: 64, blockK: 64, warps: 2 }, layer({ format: int4({ group: 128 }) })), 'actTile.blockK', 64, 'group size 128');
    expectSpecError(() => validateActTile({ blockM: 64, blockK: 64 }), 'actTile.warps', undefined, 'power of two');
  });
});

describe('tile rules as properties', () => {
  it('a tile is valid exactly when every structural rule holds; otherwise the error names a tile field', () => {
    const pick = <T,>(xs: T[]) => fc.constantFrom(...xs);
    const tileArb = fc.record({
      blockM: pick([8, 16, 24, 32, 64, 96, 128, 256, 512]),
      blockN: pick([8, 16, 32, 48, 64, 128, 256, 512]),
      blockK: pick([32, 64, 96, 128, 256, 512]),
      warpsM: pick([1, 2, 3, 4, 8, 16]),
      warpsN: pick([1, 2, 4, 8]),
      stages: pick([0, 1, 2, 3, 4, 5]),
      staging: pick(['reg', 'smem'] as const),
      accum: pick(['f32', 'f16'] as const),
    });
    const pow2 = (x: number) => (x & (x - 1)) === 0;
    fc.assert(
      fc.property(tileArb, (tile) => {
        const ok =
          [tile.blockM, tile.blockN, tile.blockK, tile.warpsM, tile.warpsN].every(pow2) &&
          tile.blockM >= 16 && tile.blockM <= 256 && tile.blockN >= 16 && tile.blockN <= 256 &&
          tile.blockK >= 64 && tile.blockK <= 256 && tile.warpsM <= 8 && tile.warpsM * tile.warpsN <= 8 &&
          tile.blockM % (16 * tile.warpsM) === 0 && tile.blockN % (16 * tile.warpsN) === 0 &&
          tile.stages >= 1 && tile.stages <= 4;
        try {
          expect(validateGemmTile(tile)).toEqual(tile);
          expect(ok).toBe(true);
        } catch (e) {
          if (!(e instanceof SpecError)) throw e;
          expect(ok).toBe(false);
          expect(e.field).toMatch(/^tile\.(blockM|blockN|blockK|warpsM|warpsN|stages)$/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
