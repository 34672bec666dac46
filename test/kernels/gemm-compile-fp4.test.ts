// The built-in catalogs' FP4 GEMM kernels (FLUX.1-dev and Qwen-Image, NVFP4 and MXFP4, the tiles `gen`
// ships for sm_120a) compile with nvcc for sm_120a and sm_121a (-gencode arch=compute_12xa,code=sm_12xa,
// block-scaled mma.sync) with 0 spill bytes. Each distinct kernel is one nvcc run with both targets
// (two runs at a time); results are cached by content.
import { describe, expect, it } from 'vitest';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { catalogVariants, generationTarget } from '../../codegen/generate.js';
import { compileCuda } from '../../codegen/nvcc.js';
import { planGemm } from '../../codegen/plan/gemm.js';
import { renderKernel } from '../../codegen/render.js';
import { FLUX_DEV, QWEN_IMAGE, specsFor } from '../../dsl/models/index.js';
import type { KernelSpec } from '../../dsl/types.js';

const target = generationTarget('sm_120a');
const distinct = new Map<string, KernelSpec>();
for (const catalog of [FLUX_DEV, QWEN_IMAGE])
  for (const v of catalogVariants('sm_120a'))
    for (const { spec } of specsFor(catalog, v)) {
      const { label: _label, ...key } = spec;
      distinct.set(JSON.stringify([key, defaultTiles(spec, target).gemm]), spec);
    }

describe.concurrent('FP4 catalog GEMM kernels under nvcc for sm_120a and sm_121a', () => {
  it('covers NVFP4 and MXFP4, each with the linear and the fc1 → qnext kernel', () => {
    const uris = [...distinct.values()].map((s) => planGemm(s, defaultTiles(s, target).gemm, target).uri);
    expect(uris.filter((u) => u.includes('nvfp4g16') && u.includes('qnext')).length).toBeGreaterThan(0);
    expect(uris.filter((u) => u.includes('mxfp4g32') && u.includes('qnext')).length).toBeGreaterThan(0);
    expect(uris.filter((u) => !u.includes('qnext')).length).toBeGreaterThanOrEqual(2);
  });

  for (const spec of distinct.values()) {
    const plan = planGemm(spec, defaultTiles(spec, target).gemm, target);
    it(`${plan.uri} for sm_120a, sm_121a: 0 spills`, async () => {
      const result = await compileCuda({
        source: renderKernel(plan),
        arch: 'sm_120a',
        kind: 'object',
        extraFlags: ['-gencode', 'arch=compute_121a,code=sm_121a'],
      });
      const entries = result.ptxas.filter((r) => r.entry && r.kernel.includes(plan.kernelName));
      expect(entries.map((e) => e.arch).sort()).toEqual(['sm_120a', 'sm_121a']);
      for (const e of entries) {
        expect(e.spillStoreBytes, `${e.arch} spill stores`).toBe(0);
        expect(e.spillLoadBytes, `${e.arch} spill loads`).toBe(0);
        expect(e.registers, `${e.arch} registers`).toBeLessThanOrEqual(255);
      }
    });
  }
});
