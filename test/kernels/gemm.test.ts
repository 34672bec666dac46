// The INT4 GEMM on the CPU emulator: a covering design over every tile knob (staging, stages 1–4, warp
// grids, blockK 64/128, f32/f16 accumulation, groups 32/64/128), dtypes, s4 and u4 activations, every
// epilogue (bias, low-rank up with S slices, silu, gelu, store, qnext with and without Y and with the
// next layer's low-rank down) and M ∈ {1, 17, 100, 333, 512}, ranks {0, 16, 32, 48, 128}, several K
// (including K not a multiple of blockK). Each config is built once; each shape runs twice.
// Gates: outputs within the tolerance of case.ts `compare` against kernelPrecisionLayer (codes and
// scales of qnext bit-exact), memory checker clean, the two runs bit-identical, the emulator's global
// traffic equal to gemmTraffic. The error against float64 is printed and written to
// .cache/test-kernels-gemm/errors.json.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EpilogueOp, GemmTile, KernelSpec } from '../../dsl/types.js';
import { checkConfig } from './gemm/suite.js';
import { WORK_DIR, buildGemmSuite, compare, makeCase, planFor, runBundle, writeBundle, type GemmCase } from './gemm/case.js';

const int4 = (group: 32 | 64 | 128, scaleDtype: 'fp16' | 'bf16') => ({ kind: 'int4' as const, group, scaleDtype });
const S4 = { unsigned: false, shift: 0 };
const U4 = { unsigned: true, shift: 0.171875 };
const qnext = (group: 32 | 64 | 128, dt: 'fp16' | 'bf16', unsigned: boolean, rank: number, keepOutput: boolean): EpilogueOp => ({
  op: 'qnext', format: int4(group, dt), activation: unsigned ? U4 : S4, lowRankDown: { rank }, keepOutput,
});
const tile = (t: Partial<GemmTile>): GemmTile => ({ blockM: 64, blockN: 64, blockK: 64, warpsM: 2, warpsN: 2, stages: 2, staging: 'reg', accum: 'f32', ...t });

interface Config {
  name: string;
  spec: KernelSpec;
  tile: GemmTile;
  shapes: Omit<GemmCase, 'seed'>[];
}

// Every knob value appears at least once; the Nunchaku-sized 128×128 tile (smem, 3 stages, 4×2 warps)
// runs the FLUX fc1 chain at M = 512.
const CONFIGS: Config[] = [
  {
    name: 'plain, 1 warp, registers, 4 stages',
    spec: { format: int4(64, 'fp16'), activation: S4, dtype: 'fp16', lowRank: { rank: 0 }, epilogue: [] },
    tile: tile({ blockM: 16, blockN: 16, warpsM: 1, warpsN: 1, stages: 4 }),
    shapes: [{ M: 1, N: 32, K: 64 }, { M: 17, N: 48, K: 192 }],
  },
  {
    name: 'bias + lowrank r16 (2 slices), registers, 3 stages, K tail',
    spec: { format: int4(64, 'fp16'), activation: S4, dtype: 'fp16', lowRank: { rank: 16 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }] },
    tile: tile({ blockK: 128, stages: 3 }),
    shapes: [{ M: 100, N: 96, K: 320, slices: 2 }, { M: 333, N: 64, K: 128 }],
  },
  {
    name: 'u4 + shift, bias + lowrank r32 + gelu, 128×128 tile with a 3-stage cp.async ring',
    spec: { format: int4(64, 'bf16'), activation: U4, dtype: 'bf16', lowRank: { rank: 32 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'gelu' }] },
    tile: tile({ blockM: 128, blockN: 128, blockK: 128, warpsM: 4, warpsN: 2, stages: 3, staging: 'smem' }),
    shapes: [{ M: 17, N: 256, K: 256 }],
  },
  {
    name: 'group 32, bias + silu, shared memory, 4 stages, f16 accumulation',
    spec: { format: int4(32, 'fp16'), activation: S4, dtype: 'fp16', lowRank: { rank: 0 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'silu' }] },
    tile: tile({ blockM: 32, blockN: 64, blockK: 128, warpsM: 2, warpsN: 1, stages: 4, staging: 'smem', accum: 'f16' }),
    shapes: [{ M: 100, N: 80, K: 192 }],
  },
  {
    name: 'group 128, bf16 scales on fp16, lowrank r48 (3 slices), registers, 2 stages, f16 accumulation',
    spec: { format: int4(128, 'bf16'), activation: S4, dtype: 'fp16', lowRank: { rank: 48 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }] },
    tile: tile({ blockM: 32, blockN: 64, blockK: 128, warpsM: 1, warpsN: 2, stages: 2, accum: 'f16' }),
    shapes: [{ M: 333, N: 64, K: 384, slices: 3 }],
  },
  {
    name: 'lowrank r128 → qnext s4 g128 with down r128, no Y, registers, 1 stage',
    spec: { format: int4(64, 'bf16'), activation: S4, dtype: 'bf16', lowRank: { rank: 128 }, epilogue: [{ op: 'lowrank' }, qnext(128, 'bf16', false, 128, false)] },
    tile: tile({ blockN: 128, warpsM: 4, warpsN: 1, stages: 1 }),
    shapes: [{ M: 17, N: 256, K: 128 }],
  },
  {
    name: 'FLUX fc1 chain: bias + lowrank + gelu → qnext u4 g64 with down r32, keeps Y, 128×128 tile',
    spec: { format: int4(64, 'bf16'), activation: S4, dtype: 'bf16', lowRank: { rank: 32 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'gelu' }, qnext(64, 'bf16', true, 32, true)] },
    tile: tile({ blockM: 128, blockN: 128, blockK: 128, warpsM: 4, warpsN: 2, stages: 3, staging: 'smem' }),
    shapes: [{ M: 512, N: 256, K: 128 }, { M: 1, N: 128, K: 64 }],
  },
  {
    name: 'gelu → qnext u4 g32 with down r48, keeps Y, shared memory, 1 stage, f16 accumulation',
    spec: { format: int4(64, 'fp16'), activation: S4, dtype: 'fp16', lowRank: { rank: 0 }, epilogue: [{ op: 'gelu' }, qnext(32, 'fp16', true, 48, true)] },
    tile: tile({ blockM: 32, blockN: 128, warpsM: 1, warpsN: 2, stages: 1, staging: 'smem', accum: 'f16' }),
    shapes: [{ M: 70, N: 256, K: 128 }],
  },
  {
    name: 'bf16 group 32, bias + lowrank r16 + silu, 2×4 warps, shared memory, 2 stages',
    spec: { format: int4(32, 'bf16'), activation: S4, dtype: 'bf16', lowRank: { rank: 16 }, epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'silu' }] },
    tile: tile({ blockM: 32, blockN: 256, warpsM: 2, warpsN: 4, stages: 2, staging: 'smem' }),
    shapes: [{ M: 100, N: 272, K: 128 }],
  },
];

interface ErrorRow {
  config: string;
  uri: string;
  shape: string;
  worstToleranceRatio: number;
  relErrVsFloat64: number;
  referenceRelErrVsFloat64: number;
}
const errors: ErrorRow[] = [];

describe('INT4 GEMM on the emulator', () => {
  let bin = '';
  beforeAll(async () => {
    bin = await buildGemmSuite('gemm-test', CONFIGS.map((c) => planFor(c.spec, c.tile)));
  });

  for (const [ci, cfg] of CONFIGS.entries()) {
    it(cfg.name, async () => {
      for (const row of await checkConfig(bin, cfg, 1000 * ci, 'sm_89', 'cases')) errors.push({ config: cfg.name, ...row });
    });
  }

  it('rejects arguments the kernel cannot take without launching', async () => {
    const cfg = CONFIGS[1]!;
    const plan = planFor(cfg.spec, cfg.tile);
    const c: GemmCase = { M: 17, N: 64, K: 128, seed: 7 };
    const d = makeCase(cfg.spec, cfg.tile, c);
    const bad: Array<[string, string, string]> = [
      ['M = 0', 'scalar M 17', 'scalar M 0'],
      ['K not a multiple of 64', 'scalar K 128', 'scalar K 96'],
      ['N not a multiple of 16', 'scalar N 64', 'scalar N 56'],
      ['rank differs from the compiled rank', 'scalar rank 16', 'scalar rank 32'],
      ['alpha ≠ 1 for INT4', 'scalar alpha 1', 'scalar alpha 2'],
    ];
    for (const [what, from, to] of bad) {
      const dir = path.join(WORK_DIR, 'cases', `invalid-${what.replace(/[^a-z0-9]+/gi, '-')}`);
      rmSync(dir, { recursive: true, force: true });
      writeBundle(dir, cfg.spec, plan, c, d);
      const manifest = path.join(dir, 'manifest.txt');
      const text = readFileSync(manifest, 'utf8');
      expect(text, what).toContain(from);
      writeFileSync(manifest, text.replace(from, to));
      const out = await runBundle(bin, plan, dir, path.join(dir, 'run'));
      const result = JSON.parse(readFileSync(path.join(dir, 'run', 'result.json'), 'utf8')) as { gemm_status: number };
      expect(result.gemm_status, what).toBe(1); // SVDQ_ERR_INVALID_ARG
      expect(out.reports, `${what}: nothing launched`).toEqual([]);
    }
  });

  it('reports the error against float64 (kernel and kernel-precision reference)', () => {
    expect(errors.length).toBe(CONFIGS.reduce((n, c) => n + c.shapes.length, 0));
    mkdirSync(WORK_DIR, { recursive: true });
    writeFileSync(path.join(WORK_DIR, 'errors.json'), `${JSON.stringify(errors, null, 2)}\n`);
    console.table(errors.map((e) => ({ uri: e.uri.slice(0, 60), shape: e.shape, 'Δ/tol': e.worstToleranceRatio.toFixed(3), 'rel err vs f64': e.relErrVsFloat64.toExponential(2), 'ref vs f64': e.referenceRelErrVsFloat64.toExponential(2) })));
  });
});
