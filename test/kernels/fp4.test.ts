// The NVFP4 and MXFP4 GEMMs for sm_120a/121a on the CPU emulator: block-scaled mma.sync m16n8k64
// (kind::mxf4nvf4 scale_vec::4X ue4m3 / kind::mxf4 scale_vec::2X ue8m0) with the scale operands of
// ptx-fragments.md §4.4 (A: lane 4·(m%8) + (m≥8) supplies row m; B: lane 4·n supplies column n; thread-id
// and byte-id 0), the NVFP4 per-tensor alpha, the INT4 epilogue chain and qnext into NVFP4/MXFP4.
// Gates (test/kernels/gemm/suite.ts): outputs within case.ts `compare` (the FP MMA bound of
// docs/emulator-isa.md on top of the INT4 tolerance), qnext codes and scales bit-exact, memory checker
// clean, two runs bit-identical, traffic equal to gemmTraffic, MMA count.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { planGemm } from '../../codegen/plan/gemm.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { EpilogueOp, GemmTile, KernelSpec } from '../../dsl/types.js';
import { WORK_DIR, buildGemmSuite, makeCase, planFor, runBundle, writeBundle, type GemmCase } from './gemm/case.js';
import { checkConfig, type SuiteConfig } from './gemm/suite.js';

const ARCH = 'sm_120a';
const NV = { kind: 'nvfp4' as const, group: 16 as const, scaleDtype: 'ue4m3' as const };
const MX = { kind: 'mxfp4' as const, group: 32 as const, scaleDtype: 'ue8m0' as const };
const S = { unsigned: false, shift: 0 };
const tile = (t: Partial<GemmTile>): GemmTile => ({ blockM: 64, blockN: 64, blockK: 64, warpsM: 2, warpsN: 2, stages: 2, staging: 'reg', accum: 'f32', ...t });
const qnext = (format: typeof NV | typeof MX, rank: number, keepOutput: boolean): EpilogueOp => ({ op: 'qnext', format, activation: S, lowRankDown: { rank }, keepOutput });

const CONFIGS: SuiteConfig[] = [
  {
    name: 'NVFP4 plain, 1 warp, registers, 4 stages',
    spec: { format: NV, activation: S, dtype: 'bf16', lowRank: { rank: 0 }, epilogue: [] },
    tile: tile({ blockM: 16, blockN: 16, warpsM: 1, warpsN: 1, stages: 4 }),
    shapes: [{ M: 1, N: 32, K: 64 }, { M: 17, N: 48, K: 192 }],
  },
  {
    name: 'NVFP4 fp16, bias + lowrank r16 (2 slices) + silu, shared memory, 3 stages, K tail',
    spec: { format: NV, activation: S, dtype: 'fp16', lowRank: { rank: 16 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'silu' }] },
    tile: tile({ blockK: 128, stages: 3, staging: 'smem' }),
    shapes: [{ M: 100, N: 96, K: 320, slices: 2 }],
  },
  {
    name: 'NVFP4 FLUX fc1 chain: bias + lowrank r32 + gelu → qnext NVFP4 with down r32, keeps Y, 128×128 smem tile',
    spec: { format: NV, activation: S, dtype: 'bf16', lowRank: { rank: 32 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'gelu' }, qnext(NV, 32, true)] },
    tile: tile({ blockM: 128, blockN: 128, blockK: 128, warpsM: 4, warpsN: 2, stages: 3, staging: 'smem' }),
    shapes: [{ M: 512, N: 256, K: 128 }],
  },
  {
    name: 'MXFP4 fp16, bias + lowrank r48 (3 slices), registers, 2 stages',
    spec: { format: MX, activation: S, dtype: 'fp16', lowRank: { rank: 48 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }] },
    tile: tile({ blockM: 32, blockK: 128, warpsM: 1, warpsN: 2 }),
    shapes: [{ M: 333, N: 64, K: 384, slices: 3 }],
  },
  {
    name: 'MXFP4 bf16, lowrank r128 → qnext MXFP4 with down r128, no Y, shared memory, 1 stage',
    spec: { format: MX, activation: S, dtype: 'bf16', lowRank: { rank: 128 }, epilogue: [{ op: 'lowrank' }, qnext(MX, 128, false)] },
    tile: tile({ blockN: 128, warpsM: 4, warpsN: 1, stages: 1, staging: 'smem' }),
    shapes: [{ M: 17, N: 256, K: 128 }],
  },
  {
    name: 'NVFP4 rank 0, gelu → qnext MXFP4 with down r48, keeps Y, registers',
    spec: { format: NV, activation: S, dtype: 'fp16', lowRank: { rank: 0 }, epilogue: [{ op: 'lowrank' }, { op: 'gelu' }, qnext(MX, 48, true)] },
    tile: tile({ blockM: 32, blockN: 128, warpsM: 1, warpsN: 2, stages: 1 }),
    shapes: [{ M: 70, N: 256, K: 128 }],
  },
];

describe('NVFP4 / MXFP4 GEMM for sm_120a on the emulator', () => {
  let bin = '';
  beforeAll(async () => {
    bin = await buildGemmSuite('fp4-test', CONFIGS.map((c) => planFor(c.spec, c.tile, ARCH)));
  });

  for (const [ci, cfg] of CONFIGS.entries()) {
    it(cfg.name, async () => {
      const rows = await checkConfig(bin, cfg, 7000 + 100 * ci, ARCH, 'fp4-cases');
      expect(rows.length).toBe(cfg.shapes.length);
    });
  }

  it('rejects an alpha the format cannot take without launching (MXFP4: ≠ 1; NVFP4: not finite)', async () => {
    for (const [ci, bad] of [[3, '2'], [1, '1e39'], [1, '-1e39']] as const) { // ±1e39 → ±Inf in fp32
      const cfg = CONFIGS[ci]!;
      const plan = planFor(cfg.spec, cfg.tile, ARCH);
      const c: GemmCase = { M: 17, N: 64, K: 128, seed: 11 };
      const dir = path.join(WORK_DIR, 'fp4-cases', `invalid-alpha-${ci}-${bad}`);
      rmSync(dir, { recursive: true, force: true });
      writeBundle(dir, cfg.spec, plan, c, makeCase(cfg.spec, cfg.tile, c));
      const manifest = path.join(dir, 'manifest.txt');
      const text = readFileSync(manifest, 'utf8');
      expect(text).toMatch(/scalar alpha \S+/);
      writeFileSync(manifest, text.replace(/scalar alpha \S+/, `scalar alpha ${bad}`));
      const out = await runBundle(bin, plan, dir, path.join(dir, 'run'));
      const result = JSON.parse(readFileSync(path.join(dir, 'run', 'result.json'), 'utf8')) as { gemm_status: number };
      expect(result.gemm_status, `${plan.uri} alpha ${bad}`).toBe(1); // SVDQ_ERR_INVALID_ARG
      expect(out.reports, 'nothing launched').toEqual([]);
    }
  });

  it('plans the block-scaled MMAs on sm_120a and refuses what the formats cannot do, naming the knob', () => {
    const spec = CONFIGS[0]!.spec;
    const t = CONFIGS[0]!.tile;
    expect(planGemm(spec, t, resolveGpu('sm_120a')).mma).toBe('Nvf4');
    expect(planGemm(CONFIGS[3]!.spec, CONFIGS[3]!.tile, resolveGpu('sm_120a')).mma).toBe('Mxf4');
    expect(() => planGemm(spec, { ...t, accum: 'f16' }, resolveGpu('sm_120a'))).toThrow(/tile\.accum: "f16" is only allowed for int4/);
    expect(() => planGemm(spec, t, resolveGpu('sm_89'))).toThrow(/spec\.format\.kind: 'nvfp4' has no 4-bit MMA on rtx4090 \(sm_89\).*allowed there: int4/);
    const int4: KernelSpec = { ...spec, format: { kind: 'int4', group: 64, scaleDtype: 'bf16' } };
    expect(() => planGemm(int4, t, resolveGpu('sm_120a'))).toThrow(/'int4' has no 4-bit MMA on rtx5090 \(sm_120a\).*allowed there: nvfp4, mxfp4/);
    expect(() => planGemm(spec, t, resolveGpu('sm_90'))).toThrow(/no 4-bit tensor cores.*alternatives: sm_80\/86\/89 \(INT4\), sm_120a\/121a/);
    expect(() => planGemm(spec, t, resolveGpu('sm_100a'))).toThrow(/FP4 only through tcgen05\.mma, not mma\.sync.*alternatives: sm_120a\/121a/);
  });
});
