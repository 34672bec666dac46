// A default tile for every valid spec on every target that can run it (issue 15: INT4 group 128 had
// none on any target — 80 of 240 spec × target pairs — although a plannable tile existed for each).
import { describe, expect, it } from 'vitest';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { actTileProblems } from '../../codegen/plan/act.js';
import { gemmTileProblems } from '../../codegen/plan/gemm.js';
import { qnext } from '../../dsl/epilogue.js';
import { int4 } from '../../dsl/formats.js';
import { defaultSearchSpace, enumerateActTiles, enumerateGemmTiles } from '../../dsl/space.js';
import { layer } from '../../dsl/spec.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { KernelSpec } from '../../dsl/types.js';

const TARGETS = ['sm_75', 'sm_80', 'sm_86', 'sm_89'].map((a) => resolveGpu(a));

function specs(): KernelSpec[] {
  const out: KernelSpec[] = [];
  for (const group of [64, 128] as const)
    for (const dtype of ['fp16', 'bf16'] as const)
      for (const rank of [0, 32])
        for (const act of [undefined, 'gelu'] as const)
          for (const q of [false, true]) {
            const epilogue = [...(rank > 0 ? ['bias', 'lowrank'] : ['bias']), ...(act ? [act] : []), ...(q ? [qnext({ format: int4({ group: 64 }) })] : [])] as never[];
            out.push(layer({ dtype, format: int4({ group }), lowRank: rank, epilogue }));
          }
  return out;
}

describe('defaultTiles', () => {
  it('every INT4 spec (groups 64, 128) has a plannable default on every target where the search space holds a plannable tile', () => {
    let pairs = 0;
    for (const target of TARGETS) {
      const space = defaultSearchSpace(target.arch);
      for (const spec of specs()) {
        const gemmOk = [...enumerateGemmTiles(space, spec)].some((t) => gemmTileProblems(spec, t, target).length === 0);
        const actOk = [...enumerateActTiles(space, spec)].some((t) => actTileProblems(spec, t, target).length === 0);
        if (!gemmOk || !actOk) continue;
        pairs++;
        const t = defaultTiles(spec, target);
        expect(gemmTileProblems(spec, t.gemm, target)).toEqual([]);
        expect(actTileProblems(spec, t.act, target)).toEqual([]);
      }
    }
    expect(pairs).toBeGreaterThan(40);
  });
  it('group 32 and 64 keep their defaults (the new candidates come last)', () => {
    const t = defaultTiles(layer({}), resolveGpu('sm_89'));
    expect(t.gemm).toEqual({ blockM: 128, blockN: 128, blockK: 128, warpsM: 2, warpsN: 4, stages: 2, staging: 'smem', accum: 'f32' });
    expect(defaultTiles(layer({ format: int4({ group: 128 }) }), resolveGpu('sm_89')).gemm.blockK).toBe(128);
  });
});
