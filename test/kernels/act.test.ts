// The activation kernel on the CPU emulator: generated from the DSL (spec × ActTile → plan → .cu),
// compiled with g++ against runtime/emu, run on shapes with tails in M and K, compared with the
// TypeScript reference — codes and scales bit for bit (padded rows included), lora_act within the
// fp32-accumulation tolerance — under the memory checker, twice (bit-identical runs).
import pLimit from 'p-limit';
import { beforeAll, describe, expect, it } from 'vitest';
import { actGrid, planAct, type ActPlan } from '../../codegen/plan/act.js';
import type { ActTile, Dtype16, Int4Format, KernelSpec, QuantFormat } from '../../dsl/types.js';
import { runEmuProgram } from '../../runtime/emu/build.js';
import { GELU_SHIFT } from '../../runtime/reference/quantize.js';
import { createRng } from '../../runtime/reference/random.js';
import { buildActDriver, expected, firstDiff, loraActErrors, makeInputs, runCases, type ActCase } from './act/harness.js';

interface KernelCase {
  name: string;
  dtype: Dtype16;
  format: QuantFormat;
  unsigned: boolean;
  rank: number;
  tile: ActTile;
  shapes: ActCase[];
}

const int4 = (group: 32 | 64 | 128, scaleDtype: Dtype16): Int4Format => ({ kind: 'int4', group, scaleDtype });

// Each kernel is one g++ build; shapes cover M ∈ {1, 17, 33, 77, 100, 300, 333, 512}, K up to 3072 and
// K tails (K not a multiple of blockK), every group size, s4 and u4, ranks 0–256 (multi-pass), K-split
// warps with the shared-memory combine, K split across blocks (`fill`: 2–8 splits, uneven step counts,
// with the last-block reduction), several row tiles per warp, unaligned X and an NVFP4 input_scale.
const KERNELS: KernelCase[] = [
  {
    name: 'fp16 s4 g64 r32, 2 warps on rows',
    dtype: 'fp16', format: int4(64, 'fp16'), unsigned: false, rank: 32,
    tile: { blockM: 64, blockK: 128, warps: 2 },
    shapes: [{ M: 100, K: 320 }, { M: 1, K: 192, misalign: true }, { M: 100, K: 320, fill: 8 }, { M: 77, K: 3072, fill: 16 }],
  },
  {
    name: 'bf16 u4+shift g128 r16, warps split K (combine)',
    dtype: 'bf16', format: int4(128, 'bf16'), unsigned: true, rank: 16,
    tile: { blockM: 32, blockK: 256, warps: 4 },
    shapes: [{ M: 17, K: 384 }, { M: 333, K: 256 }, { M: 17, K: 384, fill: 4 }],
  },
  {
    name: 'fp16 s4 g32 bf16 scales r0',
    dtype: 'fp16', format: int4(32, 'bf16'), unsigned: false, rank: 0,
    tile: { blockM: 16, blockK: 64, warps: 1 },
    shapes: [{ M: 512, K: 128 }, { M: 17, K: 192, misalign: true }, { M: 300, K: 128, fill: 64 }],
  },
  {
    name: 'bf16 s4 g64 r128, 4 warps, one row tile per iteration',
    dtype: 'bf16', format: int4(64, 'bf16'), unsigned: false, rank: 128,
    tile: { blockM: 128, blockK: 128, warps: 4 },
    shapes: [{ M: 100, K: 192 }],
  },
  {
    name: 'fp16 u4+shift g32 r48, 8 warps split K',
    dtype: 'fp16', format: int4(32, 'fp16'), unsigned: true, rank: 48,
    tile: { blockM: 16, blockK: 512, warps: 8 },
    shapes: [{ M: 17, K: 1024 }, { M: 1, K: 64 }, { M: 17, K: 1024, fill: 8, misalign: true }],
  },
  {
    name: 'fp16 s4 g64 r256 (two rank passes, two row iterations)',
    dtype: 'fp16', format: int4(64, 'fp16'), unsigned: false, rank: 256,
    tile: { blockM: 64, blockK: 64, warps: 2 },
    shapes: [{ M: 33, K: 128 }, { M: 33, K: 128, fill: 4 }],
  },
  {
    name: 'bf16 nvfp4 (e2m1, ue4m3 g16) r32',
    dtype: 'bf16', format: { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' }, unsigned: false, rank: 32,
    tile: { blockM: 64, blockK: 128, warps: 2 },
    shapes: [{ M: 100, K: 256 }, { M: 1, K: 64, misalign: true }, { M: 100, K: 256, fill: 8, inputScale: 2 ** -7 * 1.375, xScale: 2 ** -9 }],
  },
  {
    name: 'fp16 mxfp4 (e2m1, ue8m0 g32) r16, warps split K',
    dtype: 'fp16', format: { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' }, unsigned: false, rank: 16,
    tile: { blockM: 32, blockK: 128, warps: 4 },
    shapes: [{ M: 17, K: 192 }, { M: 17, K: 192, fill: 3 }],
  },
];

function planFor(k: KernelCase): ActPlan {
  const spec: KernelSpec = {
    format: k.format,
    activation: { unsigned: k.unsigned, shift: k.unsigned ? GELU_SHIFT : 0 },
    dtype: k.dtype,
    lowRank: { rank: k.rank },
    epilogue: [],
  };
  return planAct(spec, k.tile, 'sm_89');
}

describe('activation kernel on the emulator', () => {
  const binaries = new Map<string, string>();
  beforeAll(async () => {
    // One g++ build per kernel (the engine library is built once and shared), two at a time (2 cores).
    const limit = pLimit(2);
    await Promise.all(KERNELS.map((k) => limit(async () => binaries.set(k.name, await buildActDriver(planFor(k))))));
  });

  for (const k of KERNELS) {
    it(`${k.name}: codes and scales bit-identical to the reference, lora_act within tolerance`, async () => {
      const plan = planFor(k);
      const shift = k.unsigned ? GELU_SHIFT : 0;
      const rng = createRng(0x5eed ^ k.rank ^ (k.format.group << 8));
      const inputs = k.shapes.map((s) => makeInputs(rng, s, plan, shift));
      const { outputs, launches } = await runCases(binaries.get(k.name)!, plan, inputs, shift);
      // Memory checker: no findings in any launch (two per case).
      expect(launches.length).toBe(2 * inputs.length);
      for (const l of launches) {
        expect(l.reports.map((r) => `${r.kind}: ${r.message}`)).toEqual([]);
        expect(l.status).toBe('ok');
        // The cross-warp low-rank combine is laid out so quarter-warps hit distinct banks.
        expect(l.counters.shared.load.bankConflicts ?? 0).toBe(0);
        expect(l.counters.shared.store.bankConflicts ?? 0).toBe(0);
      }
      if (plan.warpsK > 1 && plan.rank > 0) expect(launches[0].counters.shared.store.accesses).toBeGreaterThan(0);
      inputs.forEach((c, i) => {
        const o = outputs[i];
        const want = expected(plan, c, shift);
        const tag = `M=${c.M} K=${c.K}${c.misalign ? ' (unaligned x)' : ''}${c.fill ? ` fill ${c.fill}` : ''}${c.inputScale ? ` input_scale ${c.inputScale}` : ''}`;
        expect(o.status, tag).toBe(0);
        expect(o.identical, `${tag}: second run differs`).toBe(true);
        expect(o.countersClean, `${tag}: split counters not left at 0`).toBe(true);
        if (c.fill) expect(actGrid(plan, c.M, c.K, c.fill).y, `${tag}: the case should split K`).toBeGreaterThan(1);
        expect(firstDiff(o.aq, want.aq), `${tag}: first differing aq byte`).toBe(-1);
        expect(firstDiff(o.ascales, want.ascales), `${tag}: first differing ascale`).toBe(-1);
        expect(loraActErrors(plan, c, o.loraAct, want), tag).toEqual([]);
      });
    });
  }

  // The GEMM's qnext epilogue feeds the same quantizer in C-fragment order: same bits expected.
  for (const k of [KERNELS[1], KERNELS[2], KERNELS[3], KERNELS[6], KERNELS[7]]) {
    it(`${k.name}: the quantizer fed in C-fragment order gives the same codes and scales`, async () => {
      const plan = planFor(k);
      const shift = k.unsigned ? GELU_SHIFT : 0;
      const rng = createRng(0xc0de ^ k.format.group);
      // The test kernel reads 4-byte pairs, so X stays aligned here.
      const inputs = k.shapes.map((s) => makeInputs(rng, { ...s, misalign: false }, plan, shift));
      const { outputs, launches } = await runCases(binaries.get(k.name)!, plan, inputs, shift, 'cfrag');
      expect(launches.length).toBe(inputs.length);
      for (const l of launches) expect(l.reports.map((r) => `${r.kind}: ${r.message}`)).toEqual([]);
      inputs.forEach((c, i) => {
        const want = expected(plan, c, shift);
        expect(outputs[i].status).toBe(0);
        expect(firstDiff(outputs[i].aq, want.aq), `M=${c.M} K=${c.K}: first differing aq byte`).toBe(-1);
        expect(firstDiff(outputs[i].ascales, want.ascales), `M=${c.M} K=${c.K}: first differing ascale`).toBe(-1);
      });
    });
  }

  it('the launcher refuses bad arguments without launching', async () => {
    for (const k of [KERNELS[0], KERNELS[2]]) {
      const r = await runEmuProgram(binaries.get(k.name)!, ['validate', String(k.rank)], { env: { SVDQ_EMU_QUIET: '1' } });
      expect(r.code).toBe(0);
      const statuses = r.stdout.trim().split('\n').map(Number);
      expect(statuses.length).toBe(k.rank > 0 ? 13 : 11);
      expect(statuses.every((s) => s === 1)).toBe(true); // SVDQ_ERR_INVALID_ARG
      expect(r.reports).toEqual([]);
    }
  });
});
