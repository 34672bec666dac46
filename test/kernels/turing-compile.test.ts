// The Turing INT4 GEMMs (four mma.m8n8k32 per 16×8×64 tile, register staging, fp16) compile with nvcc
// for sm_75 with 0 spill bytes: the FLUX.1-dev and Qwen-Image catalog specs in fp16 at rank 0 (the rank
// the sm_75 planner accepts until arch/mma_fp.h wraps the 16-bit MMA for sm_75) on their default tiles.
import { describe, expect, it } from 'vitest';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { catalogVariants } from '../../codegen/generate.js';
import { compileCuda } from '../../codegen/nvcc.js';
import { planGemm } from '../../codegen/plan/gemm.js';
import { renderKernel } from '../../codegen/render.js';
import { FLUX_DEV, QWEN_IMAGE, specsFor } from '../../dsl/models/index.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { KernelSpec } from '../../dsl/types.js';

const target = resolveGpu('sm_75');
const distinct = new Map<string, KernelSpec>();
for (const catalog of [FLUX_DEV, QWEN_IMAGE])
  for (const v of catalogVariants('sm_75'))
    for (const { spec: full } of specsFor(catalog, v)) {
      const { label: _label, ...key } = full;
      distinct.set(JSON.stringify(key), rankZero(full));
    }

/** The catalog spec without its low-rank branches (up and the fused next-layer down). */
function rankZero(s: KernelSpec): KernelSpec {
  return {
    ...s,
    lowRank: { ...s.lowRank, rank: 0 },
    epilogue: s.epilogue.filter((o) => o.op !== 'lowrank').map((o) => (o.op === 'qnext' ? { ...o, lowRankDown: { ...o.lowRankDown, rank: 0 } } : o)),
  };
}

describe.concurrent('Turing INT4 GEMM kernels under nvcc for sm_75', () => {
  it('has the catalog kernels: linear, fc1 → qnext u4, fc2 on u4 (fp16, m8n8k32)', () => {
    expect(distinct.size).toBe(3);
    for (const s of distinct.values()) expect(planGemm(s, defaultTiles(s, target).gemm, target).mma).toBe('Int4Turing');
  });

  for (const spec of distinct.values()) {
    const plan = planGemm(spec, defaultTiles(spec, target).gemm, target);
    it(`${plan.uri}: 0 spills`, async () => {
      const result = await compileCuda({ source: renderKernel(plan), arch: 'sm_75', kind: 'cubin' });
      const entries = result.ptxas.filter((r) => r.entry && r.kernel.includes(plan.kernelName));
      expect(entries.map((e) => e.arch)).toEqual(['sm_75']);
      for (const e of entries) {
        expect(e.spillStoreBytes, 'spill stores').toBe(0);
        expect(e.spillLoadBytes, 'spill loads').toBe(0);
        expect(e.registers, 'registers').toBeLessThanOrEqual(255);
      }
    });
  }
});
