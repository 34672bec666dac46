// The Turing kernels compile with nvcc for sm_75 with 0 spill bytes: the FLUX.1-dev and Qwen-Image
// catalog GEMMs in fp16 (four mma.m8n8k32 per 16×8×64 tile, register staging) with their rank-32 low-rank
// up and fused next-layer down (each k16 MMA as two mma.m16n8k8 f16, arch/mma_fp.h) on their default
// tiles, plus the catalog activation kernels (rank-32 down projection), as `gen` writes them.
import { describe, expect, it } from 'vitest';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { catalogVariants, generationTarget } from '../../codegen/generate.js';
import { compileCuda, type PtxasReport } from '../../codegen/nvcc.js';
import { planAct } from '../../codegen/plan/act.js';
import { planGemm } from '../../codegen/plan/gemm.js';
import { renderKernel } from '../../codegen/render.js';
import { FLUX_DEV, QWEN_IMAGE, specsFor } from '../../dsl/models/index.js';
import type { KernelSpec } from '../../dsl/types.js';

const target = generationTarget('sm_75');
const distinct = new Map<string, KernelSpec>();
for (const catalog of [FLUX_DEV, QWEN_IMAGE])
  for (const v of catalogVariants('sm_75'))
    for (const { spec: full } of specsFor(catalog, v)) {
      const { label: _label, ...key } = full;
      distinct.set(JSON.stringify(key), full);
    }
const gemmPlans = [...distinct.values()].map((s) => planGemm(s, defaultTiles(s, target).gemm, target));
const actPlans = new Map([...distinct.values()].map((s) => {
  const plan = planAct(s, defaultTiles(s, target).act, target);
  return [plan.uri, plan] as const;
}));

function expectNoSpills(entries: PtxasReport[], what: string): void {
  expect(entries.length, what).toBeGreaterThan(0);
  for (const e of entries) {
    expect(e.arch, what).toBe('sm_75');
    expect(e.spillStoreBytes, `${what}: spill stores`).toBe(0);
    expect(e.spillLoadBytes, `${what}: spill loads`).toBe(0);
    expect(e.registers, `${what}: registers`).toBeLessThanOrEqual(255);
  }
}

describe.concurrent('Turing kernels under nvcc for sm_75', () => {
  it('has the catalog kernels: linear, fc1 → qnext u4, fc2 on u4 (fp16, m8n8k32, rank 32 up and down)', () => {
    expect(gemmPlans.length).toBe(3);
    for (const p of gemmPlans) {
      expect(p.mma).toBe('Int4Turing');
      expect(p.uri).toContain('_r32_');
    }
    expect(gemmPlans.some((p) => p.uri.includes('qnext.int4u4g64.r32'))).toBe(true);
    expect([...actPlans.values()].every((p) => p.rank === 32)).toBe(true);
  });

  for (const plan of gemmPlans) {
    it(`${plan.uri}: 0 spills`, async () => {
      const result = await compileCuda({ source: renderKernel(plan), arch: 'sm_75', kind: 'cubin' });
      expectNoSpills(result.ptxas.filter((r) => r.entry && r.kernel.includes(plan.kernelName)), plan.uri);
    });
  }

  for (const plan of actPlans.values()) {
    it(`${plan.uri}: 0 spills, no stack`, async () => {
      const result = await compileCuda({ source: renderKernel(plan), arch: 'sm_75', kind: 'cubin' });
      const entries = result.ptxas.filter((r) => r.entry);
      expectNoSpills(entries, plan.uri);
      for (const e of entries) expect(e.stackBytes, plan.uri).toBe(0);
    });
  }
});
