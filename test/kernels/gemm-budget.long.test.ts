// The main-loop budget on 50 seeded random tiles of each arch's search space (every plannable tile where
// there are fewer: Turing) (gemm-budget.test.ts holds
// the rules, the default tiles and an 8-tile sample; this is the full sample, minutes of nvcc).
import { describe, expect, it } from 'vitest';
import { BUDGET_ARCHS, catalogSpecs, checkBudget, plannableTiles, sampleTiles } from './gemm/budget.js';

describe('main-loop budget, 50 random tiles per arch', () => {
  for (const arch of BUDGET_ARCHS) {
    it(`${arch}`, async () => {
      const spec = catalogSpecs(arch)[0];
      const tiles = sampleTiles(spec, arch, 50, 11 + Number(arch.slice(3)));
      expect(tiles.length).toBe(Math.min(50, plannableTiles(spec, arch).length)); // Turing's space has fewer: all of them
      const worst: string[] = [];
      for (const tile of tiles) {
        const r = await checkBudget(spec, tile, arch);
        if (r.spills > 0) continue; // the tuner prunes kernels that spill
        if (r.violations.length) worst.push(`${r.uri}: ${r.violations.join('; ')}`);
      }
      expect(worst).toEqual([]);
    }, 3_600_000);
  }
});
