import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveGpu } from '../../dsl/targets.js';
import type { GemmTile } from '../../dsl/types.js';
import {
  LAUNCH_US,
  blocksPerSm,
  boundOf,
  estimateGemm,
  fragmentReuseEfficiency,
  peak16BitFlops,
  peak4BitFlops,
  slowestSmBlocks,
  type GemmModelInput,
} from '../../tuner/cost-model.js';

const target = resolveGpu('sm_89');
const tile: GemmTile = { blockM: 128, blockN: 128, blockK: 64, warpsM: 2, warpsN: 4, stages: 3, staging: 'smem', accum: 'f32' };

function input(over: Partial<GemmModelInput> = {}): GemmModelInput {
  const p = over.problem ?? { m: 4096, n: 3072, k: 3072 };
  const unique = p.m * p.k * 0.5 + p.n * p.k * 0.5 + p.m * p.n * 2;
  return {
    target,
    problem: p,
    tile,
    occupancy: { blocksPerSm: 1, warpsPerBlock: 8 },
    traffic: { bytes: unique * 4, uniqueBytes: unique, bytesPerStage: (128 + 128) * 32 },
    peak4Bit: peak4BitFlops(target, 'int4'),
    peak16Bit: peak16BitFlops(target, 'bf16'),
    rankUp: 32,
    rankNextDown: 0,
    ...over,
  };
}

describe('cost model', () => {
  it('labels every estimate predicted', () => {
    expect(estimateGemm(input()).label).toBe('predicted');
  });

  it('is monotonic in bytes moved', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e5, max: 1e10, noNaN: true }), fc.double({ min: 1, max: 10, noNaN: true }), (bytes, factor) => {
        const a = estimateGemm(input({ traffic: { bytes, uniqueBytes: bytes / 2, bytesPerStage: 8192 } }));
        const b = estimateGemm(input({ traffic: { bytes: bytes * factor, uniqueBytes: (bytes * factor) / 2, bytesPerStage: 8192 } }));
        expect(b.timeUs).toBeGreaterThanOrEqual(a.timeUs);
      }),
    );
  });

  it('is monotonic in FLOPs (K and rank) at equal bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 16 }), (k64, extra) => {
        const traffic = { bytes: 1e6, uniqueBytes: 1e6, bytesPerStage: 8192 };
        const a = estimateGemm(input({ problem: { m: 2048, n: 3072, k: 64 * k64 }, traffic }));
        const b = estimateGemm(input({ problem: { m: 2048, n: 3072, k: 64 * (k64 + extra) }, traffic }));
        const c = estimateGemm(input({ problem: { m: 2048, n: 3072, k: 64 * k64 }, traffic, rankUp: 32 + 16 * extra }));
        expect(b.timeUs).toBeGreaterThanOrEqual(a.timeUs);
        expect(c.timeUs).toBeGreaterThanOrEqual(a.timeUs);
      }),
    );
  });

  it('quantizes waves: one block past a full wave costs a whole extra block-time', () => {
    expect(slowestSmBlocks(128, 128, 1)).toEqual({ units: 1, waves: 1 });
    expect(slowestSmBlocks(129, 128, 1)).toEqual({ units: 2, waves: 2 });
    expect(slowestSmBlocks(256, 128, 2)).toEqual({ units: 2, waves: 1 });
    expect(slowestSmBlocks(257, 128, 2)).toEqual({ units: 3, waves: 2 });
    // M = 128·128 rows fills exactly one wave of 128×128 tiles on 128 SMs with N = 128.
    const traffic = { bytes: 1, uniqueBytes: 1, bytesPerStage: 1e6 };
    const one = estimateGemm(input({ problem: { m: 128 * 128, n: 128, k: 3072 }, traffic, rankUp: 0 }));
    const over = estimateGemm(input({ problem: { m: 128 * 128 + 1, n: 128, k: 3072 }, traffic, rankUp: 0 }));
    expect(over.waves).toBe(2);
    expect(over.tensorUs / one.tensorUs).toBeCloseTo(2, 5);
  });

  it('classifies the bound', () => {
    expect(estimateGemm(input()).bound).toBe('compute');
    expect(estimateGemm(input({ traffic: { bytes: 5e9, uniqueBytes: 5e9, bytesPerStage: 8192 } })).bound).toBe('memory');
    expect(estimateGemm(input({ problem: { m: 16, n: 128, k: 64 }, traffic: { bytes: 1e3, uniqueBytes: 1e3, bytesPerStage: 8192 } })).bound).toBe('launch');
    expect(boundOf({ tensorUs: 1, lowrankUs: 5, memoryUs: 2, launchUs: LAUNCH_US })).toBe('lowrank');
  });

  it('computes occupancy from the per-SM limits and returns 0 when a block cannot fit', () => {
    expect(blocksPerSm(target, 256, 128, 48 * 1024)).toBe(2); // registers: 65536 / (128·256)
    expect(blocksPerSm(target, 128, 64, 0)).toBe(8); // registers: 65536 / (64·128)
    expect(blocksPerSm(target, 256, 64, 60 * 1024)).toBe(1); // shared memory: 100 KiB / 60 KiB
    expect(blocksPerSm(target, 256, 64, 120 * 1024)).toBe(0); // over the per-block limit
    expect(estimateGemm(input({ occupancy: { blocksPerSm: 0, warpsPerBlock: 8 } })).timeUs).toBe(Infinity);
  });

  it('penalizes warp tiles too small to reuse their fragments', () => {
    expect(fragmentReuseEfficiency(64, 32)).toBe(1);
    expect(fragmentReuseEfficiency(16, 16)).toBeLessThan(1);
  });
});
