// The INT4 GEMM on sm_75 (Turing: RTX 20xx, T4) on the CPU emulator: the same packed fragments, each
// 16×8×64 tile as four mma.m8n8k32 s4/u4, register staging only (no cp.async), fp16 only, and the fused
// low-rank up / next-layer down at ranks {0, 16, 32, 48, 128} (each k16 MMA as two m16n8k8 f16 on the GPU;
// the emulator models the k16 product, docs/emulator-isa.md). Same gates as test/kernels/gemm.test.ts
// (test/kernels/gemm/suite.ts), and the planner's sm_75 refusals.
import { beforeAll, describe, expect, it } from 'vitest';
import { planAct } from '../../codegen/plan/act.js';
import { planGemm } from '../../codegen/plan/gemm.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { EpilogueOp, GemmTile, KernelSpec } from '../../dsl/types.js';
import { buildGemmSuite, planFor } from './gemm/case.js';
import { checkConfig, type SuiteConfig } from './gemm/suite.js';

const ARCH = 'sm_75';
const int4 = (group: 32 | 64 | 128) => ({ kind: 'int4' as const, group, scaleDtype: 'fp16' as const });
const S4 = { unsigned: false, shift: 0 };
const U4 = { unsigned: true, shift: 0.171875 };
const tile = (t: Partial<GemmTile>): GemmTile => ({ blockM: 64, blockN: 64, blockK: 64, warpsM: 2, warpsN: 2, stages: 2, staging: 'reg', accum: 'f32', ...t });
const qnext = (group: 32 | 64 | 128, unsigned: boolean, rank: number, keepOutput: boolean): EpilogueOp => ({
  op: 'qnext', format: int4(group), activation: unsigned ? U4 : S4, lowRankDown: { rank }, keepOutput,
});

const CONFIGS: SuiteConfig[] = [
  {
    name: 'plain, 1 warp, 4 stages',
    spec: { format: int4(64), activation: S4, dtype: 'fp16', lowRank: { rank: 0 }, epilogue: [] },
    tile: tile({ blockM: 16, blockN: 16, warpsM: 1, warpsN: 1, stages: 4 }),
    shapes: [{ M: 1, N: 32, K: 64 }, { M: 17, N: 48, K: 192 }],
  },
  {
    name: 'u4 + shift, group 32, bias + lowrank r16 + silu, f16 accumulation, K tail',
    spec: { format: int4(32), activation: U4, dtype: 'fp16', lowRank: { rank: 16 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'silu' }] },
    tile: tile({ blockM: 32, blockK: 128, warpsM: 1, warpsN: 2, stages: 2, accum: 'f16' }),
    shapes: [{ M: 333, N: 64, K: 320 }],
  },
  {
    name: 'qnext s4 g128 with down r48, no Y, 1 stage',
    spec: { format: int4(64), activation: S4, dtype: 'fp16', lowRank: { rank: 0 }, epilogue: [qnext(128, false, 48, false)] },
    tile: tile({ blockN: 128, warpsM: 4, warpsN: 1, stages: 1 }),
    shapes: [{ M: 17, N: 256, K: 256 }],
  },
  {
    name: 'FLUX fc1 chain: bias + lowrank r32 + gelu → qnext u4 g64 with down r32, keeps Y',
    spec: { format: int4(64), activation: S4, dtype: 'fp16', lowRank: { rank: 32 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'gelu' }, qnext(64, true, 32, true)] },
    tile: tile({ blockM: 64, blockN: 128, warpsM: 2, warpsN: 2, stages: 2 }),
    shapes: [{ M: 512, N: 128, K: 128 }, { M: 100, N: 256, K: 64 }],
  },
  {
    name: 'group 128, bias + lowrank r128, 2×1 warps, 3 stages',
    spec: { format: int4(128), activation: S4, dtype: 'fp16', lowRank: { rank: 128 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }] },
    tile: tile({ blockM: 32, blockN: 32, blockK: 128, warpsM: 2, warpsN: 1, stages: 3 }),
    shapes: [{ M: 100, N: 96, K: 384 }],
  },
];

describe('INT4 GEMM for sm_75 (four m8n8k32 per tile) on the emulator', () => {
  let bin = '';
  beforeAll(async () => {
    bin = await buildGemmSuite('turing-test', CONFIGS.map((c) => planFor(c.spec, c.tile, ARCH)));
  });

  for (const [ci, cfg] of CONFIGS.entries()) {
    it(cfg.name, async () => {
      const rows = await checkConfig(bin, cfg, 5000 + 100 * ci, ARCH, 'turing-cases');
      expect(rows.length).toBe(cfg.shapes.length);
    });
  }

  it('plans m8n8k32 and low-rank ranks on sm_75 and refuses bf16 and shared-memory staging there, naming the knob', () => {
    const spec: KernelSpec = CONFIGS[0]!.spec;
    expect(planGemm(spec, CONFIGS[0]!.tile, resolveGpu('sm_75')).mma).toBe('Int4Turing');
    expect(planGemm(spec, CONFIGS[0]!.tile, resolveGpu('sm_89')).mma).toBe('Int4');
    expect(() => planGemm({ ...spec, dtype: 'bf16' }, CONFIGS[0]!.tile, resolveGpu('sm_75'))).toThrow(/spec\.dtype: 'bf16' needs bf16 tensor cores \(sm_80\+\); allowed on sm_75: 'fp16'/);
    expect(() => planGemm({ ...spec, format: { kind: 'int4', group: 64, scaleDtype: 'bf16' } }, CONFIGS[0]!.tile, resolveGpu('sm_75'))).toThrow(/spec\.format\.scaleDtype: 'bf16'/);
    expect(() => planGemm(spec, { ...CONFIGS[0]!.tile, staging: 'smem' }, resolveGpu('sm_75'))).toThrow(/tile\.staging: 'smem' needs cp\.async/);
    for (const rank of [16, 32, 48, 128]) {
      const lowrank: KernelSpec = { ...spec, lowRank: { rank }, epilogue: [{ op: 'lowrank' }, qnext(64, false, rank, true)] };
      expect(planGemm(lowrank, tile({ blockN: 64, warpsN: 1 }), resolveGpu('sm_75')).uri).toContain(`_r${rank}_`);
      expect(() => planGemm({ ...lowrank, dtype: 'bf16' }, tile({ blockN: 64, warpsN: 1 }), resolveGpu('sm_75'))).toThrow(/spec\.dtype: 'bf16' needs bf16 tensor cores/);
    }
    const act = { blockM: 64, blockK: 128, warps: 2 };
    for (const rank of [0, 16, 32, 48, 128]) expect(planAct({ ...spec, lowRank: { rank } }, act, 'sm_75').rank).toBe(rank);
    expect(() => planAct({ ...spec, dtype: 'bf16', lowRank: { rank: 32 } }, act, 'sm_75')).toThrow(/spec\.dtype: 'bf16' needs bf16 tensor cores and arithmetic \(sm_80\+\); allowed on sm_75: 'fp16'/);
  });
});
