// The built-in FLUX.1-dev GEMM kernels — the catalog's distinct specs on the tiles `svdq-codegen gen`
// ships (codegen/default-tiles.ts) — compile with nvcc for sm_80, sm_86 and sm_89 with 0 spill bytes
// (ptxas -v). Kernels whose tile is the same on the three targets are compiled in one nvcc run with
// three -gencode targets (two runs at a time); results are cached by content.
import { describe, expect, it } from 'vitest';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { compileCuda } from '../../codegen/nvcc.js';
import { planGemm } from '../../codegen/plan/gemm.js';
import { renderKernel } from '../../codegen/render.js';
import { FLUX_DEV, specsFor } from '../../dsl/models/index.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { GemmTile, KernelSpec, SmArch } from '../../dsl/types.js';

const ARCHS: readonly SmArch[] = ['sm_80', 'sm_86', 'sm_89'];
const distinct = new Map<string, KernelSpec>();
for (const { spec } of specsFor(FLUX_DEV)) {
  const { label: _label, ...key } = spec;
  distinct.set(JSON.stringify(key), spec);
}

/** (spec, tile) → the archs that use it. */
const jobs = new Map<string, { spec: KernelSpec; tile: GemmTile; archs: SmArch[] }>();
for (const spec of distinct.values()) {
  for (const arch of ARCHS) {
    const tile = defaultTiles(spec, resolveGpu(arch)).gemm;
    const key = JSON.stringify([spec, tile]);
    const job = jobs.get(key) ?? { spec, tile, archs: [] };
    job.archs.push(arch);
    jobs.set(key, job);
  }
}

describe.concurrent('FLUX.1-dev GEMM kernels under nvcc', () => {
  it('has the three distinct kernel specs of the catalog (linear, fc1 → qnext, fc2 on u4)', () => {
    expect(distinct.size).toBe(3);
  });

  for (const { spec, tile, archs } of jobs.values()) {
    const [first, ...rest] = archs;
    const plan = planGemm(spec, tile, resolveGpu(first!));
    it(`${plan.uri} for ${archs.join(', ')}: 0 spills`, async () => {
      // The source differs between targets only in the arch token of the URI (comment and symbol).
      const result = await compileCuda({
        source: renderKernel(plan),
        arch: first!,
        kind: rest.length ? 'object' : 'cubin',
        extraFlags: rest.flatMap((a) => ['-gencode', `arch=compute_${a.slice(3)},code=${a}`]),
      });
      const entries = result.ptxas.filter((r) => r.entry && r.kernel.includes(plan.kernelName));
      expect(entries.map((e) => e.arch).sort()).toEqual([...archs].sort());
      for (const e of entries) {
        expect(e.spillStoreBytes, `${e.arch} spill stores`).toBe(0);
        expect(e.spillLoadBytes, `${e.arch} spill loads`).toBe(0);
        expect(e.registers, `${e.arch} registers`).toBeLessThanOrEqual(255);
      }
    });
  }
});
