// The generated activation kernels compile with nvcc for every INT4 target family with explicit
// `-gencode arch=compute_X,code=sm_X` (codegen/nvcc.ts), with 0 spill bytes and no stack frame, for
// both instantiations (16-byte loads and the element-wise fallback). The two configs are the heaviest
// in registers: rank 256 in two passes, and u4 with G = 128 (two slices per unit) and K-split warps.
import { describe, expect, it } from 'vitest';
import { compileCuda } from '../../codegen/nvcc.js';
import { planAct } from '../../codegen/plan/act.js';
import { renderKernel } from '../../codegen/render.js';
import type { ActTile, KernelSpec, SmArch } from '../../dsl/types.js';

const CONFIGS: { spec: KernelSpec; tile: ActTile }[] = [
  {
    spec: { format: { kind: 'int4', group: 64, scaleDtype: 'fp16' }, activation: { unsigned: false, shift: 0 }, dtype: 'fp16', lowRank: { rank: 256 }, epilogue: [] },
    tile: { blockM: 64, blockK: 64, warps: 2 },
  },
  {
    spec: { format: { kind: 'int4', group: 128, scaleDtype: 'bf16' }, activation: { unsigned: true, shift: 0.171875 }, dtype: 'bf16', lowRank: { rank: 32 }, epilogue: [] },
    tile: { blockM: 32, blockK: 256, warps: 4 },
  },
];
const ARCHES: SmArch[] = ['sm_80', 'sm_86', 'sm_89'];

describe('activation kernels compile with nvcc', () => {
  for (const arch of ARCHES) {
    it(`${arch}: 0 spill bytes, both load paths`, async () => {
      for (const { spec, tile } of CONFIGS) {
        const plan = planAct(spec, tile, arch);
        const r = await compileCuda({ source: renderKernel(plan), arch, kind: 'cubin' });
        const kernels = r.ptxas.filter((p) => p.entry);
        expect(kernels.length, plan.uri).toBe(2);
        for (const k of kernels) {
          expect(k.arch).toBe(arch);
          expect(k.spillStoreBytes + k.spillLoadBytes, `${plan.uri} ${k.kernel}`).toBe(0);
          expect(k.stackBytes, `${plan.uri} ${k.kernel}`).toBe(0);
          expect(k.registers).toBeLessThanOrEqual(255);
          expect(k.smemBytes).toBe(0); // the combine uses dynamic shared memory, sized by the plan
        }
      }
    });
  }

  it('sm_120a: NVFP4 and MXFP4 activations (software e2m1/ue4m3/ue8m0 conversions), 0 spill bytes', async () => {
    for (const format of [
      { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' },
      { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' },
    ] as const) {
      const spec: KernelSpec = { format, activation: { unsigned: false, shift: 0 }, dtype: 'bf16', lowRank: { rank: 32 }, epilogue: [] };
      const plan = planAct(spec, { blockM: 64, blockK: 128, warps: 2 }, 'sm_120a');
      const r = await compileCuda({ source: renderKernel(plan), arch: 'sm_120a', kind: 'cubin' });
      const kernels = r.ptxas.filter((p) => p.entry);
      expect(kernels.length, plan.uri).toBe(2);
      for (const k of kernels) expect(k.spillStoreBytes + k.spillLoadBytes + k.stackBytes, `${plan.uri} ${k.kernel}`).toBe(0);
    }
  });
});
