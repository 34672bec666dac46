// The main-loop budget (issue 11), static SASS instructions per m16n8k64 in the loop holding the 4-bit
// MMAs (codegen/inspect): fp32 cross-group accumulation ≤ 14, f16 ≤ 12, Turing ≤ 16; no MUFU, division,
// BSSY/BSYNC; at most one block barrier per two k64 steps. Checked on the default tile of every catalog
// kernel on sm_75/80/86/89 and on 8 seeded random tiles of each arch's search space (the long test
// draws 50). Tiles that spill are the tuner's to prune (tuner/compile-prune.ts) and are reported apart.
// (ptxas closes loops longer than ~256 instructions with `@P CALL.REL.NOINC <after the loop>; BRA <top>`:
// inspect counts that exit as a branch, any other CALL in the loop breaks the budget.)
import { describe, expect, it } from 'vitest';
import { BUDGET_ARCHS, catalogSpecs, checkBudget, defaultTile, sampleTiles, type BudgetResult } from './gemm/budget.js';

const breaches = (r: BudgetResult): string[] => r.violations;

describe.concurrent('main-loop budget, default tiles of the catalogs', () => {
  for (const arch of BUDGET_ARCHS) {
    for (const spec of catalogSpecs(arch)) {
      const tile = defaultTile(spec, arch);
      it(`${arch} ${spec.epilogue.map((o) => o.op).join('-')} r${spec.lowRank.rank}${spec.activation.unsigned ? ' u4' : ''}`, async () => {
        const r = await checkBudget(spec, tile, arch);
        expect(r.inspection.counts, r.uri).toBe('sass');
        expect(r.spills, `${r.uri} spills`).toBe(0);
        expect(breaches(r), `${r.uri}: ${r.inspection.mainLoop?.perMma.toFixed(2)} instr/MMA`).toEqual([]);
      });
    }
  }
});

describe.concurrent('main-loop budget, seeded random tiles of the search space', () => {
  for (const arch of BUDGET_ARCHS) {
    const spec = catalogSpecs(arch)[0];
    it(`${arch}: 8 tiles`, async () => {
      const tiles = sampleTiles(spec, arch, 8, 2026 + Number(arch.slice(3)));
      expect(tiles.length).toBe(8);
      for (const tile of tiles) {
        const r = await checkBudget(spec, tile, arch);
        if (r.spills > 0) continue; // pruned by the tuner after compiling, never run
        expect(breaches(r), `${r.uri}: ${r.inspection.mainLoop?.perMma.toFixed(2)} instr/MMA`).toEqual([]);
      }
    }, 600_000);
  }
});
