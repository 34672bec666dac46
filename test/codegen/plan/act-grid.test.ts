// The activation grid fills the GPU (issue 11 part 3): at every catalog layer's M and K (default
// resolution and batch, plus the ragged and small M of models-gpus-users.md) the launch grid
// (codegen/plan/act.ts actGrid, the mirror of act/kernel.h act_splits) has at least one block per SM —
// for the default activation tile and every tile of the search space with blockM ≤ 64 on the target.
import { describe, expect, it } from 'vitest';
import { defaultTiles } from '../../../codegen/default-tiles.js';
import { ACT_MAX_SPLITS, actFillBlocks, actGrid, actPartialsBytes, actTileProblems, planAct } from '../../../codegen/plan/act.js';
import { CATALOGS, paddedK, shapesFor } from '../../../dsl/models/index.js';
import { defaultSearchSpace } from '../../../dsl/space.js';
import { resolveGpu } from '../../../dsl/targets.js';
import type { ActTile, KernelSpec, QuantFormat, Target } from '../../../dsl/types.js';

const TARGETS: Target[] = ['rtx4090', 'a100', 'rtx5090'].map(resolveGpu);
const RAGGED_M = [300, 333, 4429];

function nativeFormat(t: Target): QuantFormat {
  return t.arch === 'sm_120a' ? { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' } : { kind: 'int4', group: 64, scaleDtype: 'bf16' };
}

/** (m, k) of every W4A4 layer of every catalog, plus ragged M (SD3.5's 333 text tokens, …) at common K. */
function problems(group: number): Array<{ m: number; k: number }> {
  const seen = new Map<string, { m: number; k: number }>();
  for (const c of CATALOGS) for (const s of shapesFor(c, { group })) seen.set(`${s.m}x${paddedK(s.k, group)}`, { m: s.m, k: paddedK(s.k, group) });
  for (const k of [1536, 2432, 3072]) for (const m of RAGGED_M) seen.set(`${m}x${k}`, { m, k });
  return [...seen.values()];
}

describe('activation grid: at least one full wave at every catalog M', () => {
  for (const target of TARGETS) {
    const spec: KernelSpec = { format: nativeFormat(target), activation: { unsigned: false, shift: 0 }, dtype: 'bf16', lowRank: { rank: 32 }, epilogue: [] };
    const fill = actFillBlocks(target);
    const space = defaultSearchSpace(target.arch).act;
    const tiles: ActTile[] = [defaultTiles(spec, target).act];
    for (const blockM of space.blockM) for (const blockK of space.blockK) for (const warps of space.warps) if (blockM <= 64) tiles.push({ blockM, blockK, warps });
    const plans = tiles.filter((t) => actTileProblems(spec, t, target).length === 0).map((t) => planAct(spec, t, target));

    it(`${target.id} (${target.arch}, ${target.smCount} SMs): ${plans.length} tiles × every catalog (M, K)`, () => {
      expect(plans.length).toBeGreaterThan(4);
      const probs = problems(spec.format.group);
      expect(probs.some((p) => p.m <= 512)).toBe(true);
      for (const plan of plans) {
        for (const { m, k } of probs) {
          const g = actGrid(plan, m, k, fill);
          const tag = `${plan.uri} M=${m} K=${k}: grid ${g.x}×${g.y}`;
          // A full wave, or every quantization unit of K is already its own split (the grid's K limit:
          // only a smaller blockM adds blocks, and some tile of the space reaches the wave, below).
          const unitLimited = g.y === Math.floor(k / plan.unitK);
          expect(g.blocks >= target.smCount || unitLimited, tag).toBe(true);
          expect(g.y).toBeLessThanOrEqual(ACT_MAX_SPLITS);
          // No split beyond what is needed: one fewer split would not reach the fill target.
          if (g.y > 1) expect(g.x * (g.y - 1), tag).toBeLessThan(fill);
          // The partials the host provides are exactly what the split uses.
          expect(actPartialsBytes(plan, m, fill) >= (g.y > 1 ? g.y * Math.ceil(m / 16) * 16 * plan.rank * 4 : 0), tag).toBe(true);
        }
      }
      // Every (M, K): the default tile fills the GPU, or a tile of the space with blockM ≤ 32 does.
      const small = plans.filter((p) => p.blockM <= 32);
      const def = plans[0];
      for (const { m, k } of probs) {
        const fills = (p: (typeof plans)[number]) => actGrid(p, m, k, fill).blocks >= target.smCount;
        expect(fills(def) || small.some(fills), `M=${m} K=${k}`).toBe(true);
      }
    });
  }

  it('without a fill target (fill_blocks 0) the grid is one block per blockM rows, as before', () => {
    const plan = planAct({ format: { kind: 'int4', group: 64, scaleDtype: 'fp16' }, activation: { unsigned: false, shift: 0 }, dtype: 'fp16', lowRank: { rank: 32 }, epilogue: [] }, { blockM: 64, blockK: 256, warps: 4 }, 'sm_89');
    expect(actGrid(plan, 4096, 3072, 0)).toEqual({ x: 64, y: 1, blocks: 64 });
    expect(actGrid(plan, 4096, 3072, 128)).toEqual({ x: 64, y: 2, blocks: 128 });
    expect(actGrid(plan, 512, 3072, 128)).toEqual({ x: 8, y: 16, blocks: 128 });
    // Less partial scratch than wanted: fewer splits, never an error.
    expect(actGrid(plan, 512, 3072, 128, 4 * 512 * 32 * 4).y).toBe(4);
    expect(actGrid(plan, 512, 3072, 128, 0).y).toBe(1);
  });
});
