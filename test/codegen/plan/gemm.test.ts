import { describe, expect, it } from 'vitest';
import { DEFAULT_GEMM_TILE, gemmTileProblems, gemmTraffic, planGemm } from '../../../codegen/plan/gemm.js';
import { PlanError, planLayer } from '../../../codegen/plan/index.js';
import { parseUri } from '../../../codegen/uri.js';
import { FLUX_DEV, specsFor } from '../../../dsl/models/index.js';
import { defaultSearchSpace, enumerateGemmTiles } from '../../../dsl/space.js';
import { resolveGpu } from '../../../dsl/targets.js';
import type { GemmTile, KernelSpec } from '../../../dsl/types.js';

const rtx4090 = resolveGpu('sm_89');
const flux = specsFor(FLUX_DEV);
const fc1 = flux.find((s) => s.layer === 'single.mlp_fc1')!.spec;
const fc2 = flux.find((s) => s.layer === 'single.mlp_fc2')!.spec;
const linear = flux.find((s) => s.layer === 'single.attn_out')!.spec;
const tile = (t: Partial<GemmTile> = {}): GemmTile => ({ ...DEFAULT_GEMM_TILE, ...t });

describe('planGemm', () => {
  it('makes every template field concrete for the FLUX fc1 chain', () => {
    const p = planGemm(fc1, DEFAULT_GEMM_TILE, rtx4090);
    expect(p.uri).toBe('w4a4_int4g64_bf16_r32_m128n128k128_w4x2_s3_smem_f32acc_sm89_bias-lora-gelu-qnext.int4u4g64.r32');
    expect(p.symbol).toMatch(/^svdq_[A-Za-z0-9_]+$/);
    expect(p.symbol).toBe(`svdq_${p.uri.replace(/[^A-Za-z0-9_]/g, '_')}`);
    expect(p.threads).toBe(256);
    expect(p.kSteps).toBe(2);
    expect([p.warpTileM, p.warpTileN]).toEqual([32, 64]);
    // cp.async ring: 3 stages × 2 k-steps × (8 + 8 tiles) × (512 + 32) bytes.
    expect(p.ringBytes).toBe(3 * 2 * 16 * 544);
    expect(p.smemBytes).toBe(Math.max(p.ringBytes, p.epilogueSmemBytes));
    expect(p.epilogue.map((s) => s.op)).toEqual(['bias', 'lowrank', 'gelu', 'qnext']); // keepOutput false: no store
    expect(p.epilogue.at(-1)!.functor).toBe('svdq::epilogue::QNext<Cfg, svdq::quant::Int4<true, __nv_bfloat16, 64>, 32, 2>');
    expect(p.next).toEqual({ group: 64, unit: 64, rank: 32, rankChunk: 2, keepOutput: false });
    expect(p.argRules).toBe('64, 32, true, true, false, true, 64, 64, 32, 128, 128, false');
  });

  it('produces a URI that parses back into the same spec and tile', () => {
    for (const spec of [fc1, fc2, linear]) {
      const p = planGemm(spec, DEFAULT_GEMM_TILE, rtx4090);
      const parsed = parseUri(p.uri);
      expect(parsed.kind).toBe('gemm');
      if (parsed.kind !== 'gemm') return;
      const { label: _label, ...rest } = spec;
      expect(parsed.spec).toEqual(rest);
      expect(parsed.tile).toEqual(DEFAULT_GEMM_TILE);
      expect(parsed.arch).toBe('sm_89');
    }
  });

  it('compiles the low-rank branch out at rank 0 and stores Y without qnext', () => {
    const spec: KernelSpec = { ...linear, lowRank: { rank: 0 } };
    const p = planGemm(spec, tile(), rtx4090);
    expect(p.epilogue.map((s) => s.op)).toEqual(['bias', 'store']);
    expect(p.includes).not.toContain('svdq/lowrank/up.h');
  });

  it('rejects what it cannot generate, naming the knob and the rule', () => {
    const nvfp4: KernelSpec = { ...linear, format: { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' } };
    expect(() => planGemm(nvfp4, tile(), rtx4090)).toThrow(PlanError);
    expect(() => planGemm(nvfp4, tile(), rtx4090)).toThrow(/spec\.format\.kind/);
    const u4NoBias: KernelSpec = { ...fc2, epilogue: [{ op: 'lowrank' }] };
    expect(() => planGemm(u4NoBias, tile(), rtx4090)).toThrow(/u4 activations .* need a bias op/);
    expect(() => planGemm(fc1, tile({ blockN: 64, warpsN: 2, warpsM: 4 }), rtx4090)).toThrow(/warp tile N = blockN\/warpsN = 32 must be a multiple of .* 64/);
    expect(() => planGemm(linear, tile({ blockM: 256, blockN: 256, warpsM: 1, warpsN: 1 }), rtx4090)).toThrow(/registers per thread/);
    expect(() => planGemm(linear, tile({ blockM: 256, blockN: 256, blockK: 256, warpsM: 4, warpsN: 2, stages: 4 }), rtx4090)).toThrow(/shared memory/);
    expect(() => planGemm(linear, tile({ blockK: 96 }), rtx4090)).toThrow(/blockK/);
    expect(() => planGemm(linear, tile(), resolveGpu('sm_75'))).toThrow(/sm_75/);
    expect(() => planGemm(linear, tile(), resolveGpu('sm_90'))).toThrow(/h100 \(sm_90\) has no 4-bit tensor cores.*alternatives: sm_80\/86\/89 \(INT4\), sm_120a\/121a \(NVFP4, MXFP4\)/);
    expect(() => planGemm(linear, tile(), resolveGpu('sm_100a'))).toThrow(/b200 \(sm_100a\) reaches FP4 only through tcgen05\.mma, not mma\.sync/);
    expect(() => planGemm(linear, tile(), resolveGpu('sm_120a'))).toThrow(/'int4' has no 4-bit MMA on rtx5090 \(sm_120a\).*allowed there: nvfp4, mxfp4/);
    expect(() => planGemm(linear, tile(), resolveGpu('sm_80'))).not.toThrow();
    expect(() => planGemm(linear, tile(), resolveGpu('sm_86'))).not.toThrow();
  });

  it('lists problems without throwing (the pruner) and plans every tile it accepts', () => {
    expect(gemmTileProblems(fc1, DEFAULT_GEMM_TILE, rtx4090)).toEqual([]);
    expect(gemmTileProblems(fc1, tile({ blockK: 96 }), rtx4090)[0]).toMatch(/blockK/);
    let accepted = 0;
    let rejected = 0;
    for (const spec of [fc1, fc2]) {
      for (const t of enumerateGemmTiles(defaultSearchSpace('sm_89'), spec)) {
        const problems = gemmTileProblems(spec, t, rtx4090);
        if (problems.length) {
          rejected++;
          expect(() => planGemm(spec, t, rtx4090)).toThrow(PlanError);
        } else {
          accepted++;
          const p = planGemm(spec, t, rtx4090);
          expect(p.smemBytes).toBeLessThanOrEqual(rtx4090.smemPerBlockKiB * 1024);
          expect(p.regEstimate).toBeLessThanOrEqual(255);
        }
      }
    }
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(0);
  });

  it('plans a whole layer (activation kernel + GEMM)', () => {
    const layer = planLayer(fc1, { gemm: DEFAULT_GEMM_TILE, act: { blockM: 64, blockK: 256, warps: 4 } }, rtx4090);
    expect(layer.gemm.kind).toBe('gemm');
    expect(layer.act.kind).toBe('act');
  });
});

describe('gemmTraffic', () => {
  const p = planGemm(linear, DEFAULT_GEMM_TILE, rtx4090);
  it('counts the compulsory floor, the stores and the MMAs of a shape', () => {
    const t = gemmTraffic(p, { m: 4096, n: 3072, k: 3072 });
    expect(t.blocks).toBe(32 * 24);
    expect(t.globalBytesStored).toBe(4096 * 3072 * 2);
    // Each 16×16×64 tile step is two m16n8k64 MMAs.
    expect(t.mmaCount).toBe((4096 / 16) * (3072 / 16) * (3072 / 64) * 2);
    expect(t.globalBytesLoaded).toBeGreaterThanOrEqual(t.compulsoryBytes - t.globalBytesStored);
    expect(t.mma16Count).toBe((4096 / 16) * (3072 / 16) * 2 * 2);
  });
  it('charges register staging for the warps that share tiles, shared-memory staging once per block', () => {
    const reg = planGemm(linear, tile({ staging: 'reg', stages: 2, blockK: 64 }), rtx4090);
    const smem = planGemm(linear, tile({ staging: 'smem', stages: 2, blockK: 64 }), rtx4090);
    const shape = { m: 1000, n: 3072, k: 3072 };
    expect(gemmTraffic(reg, shape).globalBytesLoaded).toBeGreaterThan(gemmTraffic(smem, shape).globalBytesLoaded);
  });
  it('moves nothing for tiles past M (predicated loads)', () => {
    const one = gemmTraffic(p, { m: 1, n: 128, k: 64 });
    const sixteen = gemmTraffic(p, { m: 16, n: 128, k: 64 });
    expect(one.globalBytesLoaded).toBe(sixteen.globalBytesLoaded);
    expect(one.globalBytesStored).toBe(128 * 2);
  });
});
