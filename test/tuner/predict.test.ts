import { describe, expect, it } from 'vitest';
import { predictLayer } from '../../tuner/predict.js';
import { FLUX_DEV, QWEN_IMAGE, shapesFor } from '../../dsl/models/index.js';

const fluxShapes = [...new Map(shapesFor(FLUX_DEV).filter((s) => s.kind === 'w4a4').map((s) => [`${s.m}x${s.n}x${s.k}`, s])).values()];

describe('predict', () => {
  it('fused beats unfused, and dropping the branch is cheapest, for every FLUX.1-dev shape', () => {
    for (const s of fluxShapes) {
      const args = { gpu: 'sm_89', m: s.m, n: s.n, k: s.k, rank: 32 };
      const fused = predictLayer({ ...args, variant: 'fused' });
      const unfused = predictLayer({ ...args, variant: 'unfused' });
      const none = predictLayer({ ...args, variant: 'no-lowrank' });
      expect(fused.time_us, `${s.m}x${s.n}x${s.k}`).toBeLessThan(unfused.time_us);
      expect(none.time_us).toBeLessThanOrEqual(fused.time_us);
      expect(unfused.kernels.map((k) => k.name)).toEqual(['act', 'gemm', 'lowrank-down', 'lowrank-up']);
      // On the same GEMM tile the separate 16-bit kernels take longer than the fused branch. (Bytes are
      // requested bytes: the fused up projection's per-warp L1 reads of lora_act/lora_up count there.)
      const unfusedSameTile = predictLayer({ ...args, variant: 'unfused', config: fused.config.gemm });
      expect(unfusedSameTile.time_us).toBeGreaterThan(fused.time_us);
    }
  });

  it('labels its output predicted and reports consistent numbers', () => {
    const p = predictLayer({ gpu: 'sm_89', m: 4096, n: 3072, k: 3072, rank: 32 });
    expect(p.label).toBe('predicted');
    expect(p.tflops).toBeCloseTo((2 * 4096 * 3072 * 3072) / (p.time_us * 1e-6) / 1e12, 6);
    expect(p.time_us).toBeCloseTo(p.kernels.reduce((s, k) => s + k.time_us, 0), 6);
    expect(['compute', 'memory', 'lowrank', 'launch']).toContain(p.bound);
  });

  it('uses a given --config tile and checks it', () => {
    const uri = 'w4a4_int4g64_bf16_r32_m64n64k64_w2x2_s2_smem_f32acc_sm89_bias-lora';
    expect(predictLayer({ gpu: 'sm_89', m: 512, n: 3072, k: 3072, config: uri }).config.gemm).toBe(uri);
    expect(() => predictLayer({ gpu: 'sm_89', m: 512, n: 3072, k: 3072, config: uri.replace('sm89', 'sm80') })).toThrow(/built for sm_80/);
    expect(() => predictLayer({ gpu: 'sm_89', m: 512, n: 3072, k: 3072, rank: 64, config: uri })).toThrow(/--rank: 64 differs/);
  });

  it('rejects bad shapes naming the flag', () => {
    expect(() => predictLayer({ gpu: 'sm_89', m: 512, n: 3000, k: 3072 })).toThrow(/--n: 3000 is not valid/);
    expect(() => predictLayer({ gpu: 'sm_89', m: 0, n: 3072, k: 3072 })).toThrow(/--m: 0/);
    expect(() => predictLayer({ gpu: 'h100', m: 512, n: 3072, k: 3072 })).toThrow(/no 4-bit tensor-core path/);
  });

  it('covers Qwen-Image shapes too', () => {
    const s = shapesFor(QWEN_IMAGE).find((x) => x.kind === 'w4a4')!;
    expect(predictLayer({ gpu: 'sm_89', m: s.m, n: s.n, k: s.k }).time_us).toBeGreaterThan(0);
  });
});
