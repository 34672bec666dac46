import { describe, expect, it } from 'vitest';
import { fromBits16, toBits16 } from '../../../numerics/float16.js';
import { denseLayer, referenceLayer } from '../../../runtime/reference/layer.js';
import { dequantize } from '../../../runtime/reference/quantize.js';
import { syntheticLayer } from '../../../runtime/reference/random.js';
import { smoothingFactors, svdquantLayer } from '../../../runtime/reference/svdquant.js';
import { decodeAll, FORMATS, relFrobenius, S4, spec, U4 } from './helpers.js';

describe('smoothing factors', () => {
  it('λ_k = max|X_k|^α / max|W_k|^(1−α); all-zero channels get 1', () => {
    // K = 3, M = 2, N = 2
    const x = [4, 0, 1, -2, 0, -9];
    const w = [1, 5, 0.25, -0.5, 3, 4];
    const l = smoothingFactors(x, 2, w, 2, 3, 0.5);
    expect(l[0]).toBeCloseTo(2, 12); // sqrt(4) / sqrt(1)
    expect(l[1]).toBe(1); // X channel is zero
    expect(l[2]).toBeCloseTo(3 / 2, 12); // sqrt(9) / sqrt(4)
    expect(smoothingFactors(x, 2, w, 2, 3, 1)[0]).toBe(4);
    expect(() => smoothingFactors(x, 2, w, 2, 3, 1.5)).toThrow(/alpha/);
  });
});

describe('the SVDQuant decomposition', () => {
  const M = 64, N = 128, K = 256, R = 32;
  const syn = syntheticLayer({ M, N, K, seed: 1 });
  const dtype = 'bf16';
  const x = Uint16Array.from(syn.x, (v) => toBits16(v, dtype));
  const dense = denseLayer(decodeAll(x, dtype), syn.weight, M, N, K, syn.bias);

  function outputError(fmt: string, alpha: number | null, rank: number): number {
    const format = FORMATS[fmt];
    const layer = svdquantLayer({ x: syn.x, M }, syn.weight, N, K, syn.bias, { format, dtype, rank, alpha });
    const epi = rank ? [{ op: 'bias' as const }, { op: 'lowrank' as const }] : [{ op: 'bias' as const }];
    return relFrobenius(referenceLayer({ layer, M, x }, spec(format, dtype, rank, epi)), dense);
  }

  for (const [fmt, naiveOverSmooth] of [['int4bf16', 1.5], ['nvfp4', 1.5], ['mxfp4', 1.1]] as const) {
    it(`${fmt}: output error naive W4A4 > smoothing only > SVDQuant (channel outliers)`, () => {
      const naive = outputError(fmt, null, 0);
      const smooth = outputError(fmt, 0.5, 0);
      const svdq = outputError(fmt, 0.5, R);
      expect(naive).toBeGreaterThan(naiveOverSmooth * smooth);
      expect(smooth).toBeGreaterThan(2 * svdq);
      expect(svdq).toBeLessThan(0.05);
    });
  }

  it('low-rank branch + dequantized residual reconstruct W; lora_down has Λ⁻¹ folded in', () => {
    const format = FORMATS.int4bf16;
    const layer = svdquantLayer({ x: syn.x, M }, syn.weight, N, K, undefined, { format, dtype, rank: R });
    const lam = decodeAll(layer.smooth!, dtype);
    const deq = dequantize({ rows: N, K, format, unsigned: false, codes: layer.qweight, scales: layer.wscales, tensorScale: 1 });
    const up = decodeAll(layer.loraUp!, dtype);
    const down = decodeAll(layer.loraDown!, dtype);
    const recon = new Float64Array(N * K);
    const lowOnly = new Float64Array(N * K);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
      let s = 0;
      for (let r = 0; r < R; r++) s += up[n * R + r] * down[r * K + k];
      lowOnly[n * K + k] = s;
      recon[n * K + k] = s + deq[n * K + k] / lam[k];
    }
    expect(relFrobenius(recon, syn.weight)).toBeLessThan(0.1);
    // the low-rank part alone carries most of the (rank-4-dominated) weight
    expect(relFrobenius(lowOnly, syn.weight)).toBeLessThan(0.6);
    expect(layer.loraScales).toEqual(Float32Array.of(1, 1));
  });

  it('u4 activations: the shift is folded into the bias (bias − shift·Σ_k deq(R)_nk/λ_k)', () => {
    // post-GELU-like inputs without outliers: non-negative with a small negative tail
    const xg = syntheticLayer({ M, N, K, seed: 5, outlierScale: 1 }).x.map((v) => Math.max(v, -0.17));
    const xb = Uint16Array.from(xg, (v) => toBits16(v, dtype));
    const ref = denseLayer(decodeAll(xb, dtype), syn.weight, M, N, K, syn.bias);
    const format = FORMATS.int4bf16;
    const epi = [{ op: 'bias' as const }, { op: 'lowrank' as const }];
    const corrected = svdquantLayer({ x: xg, M }, syn.weight, N, K, syn.bias, { format, dtype, rank: R, alpha: null, activation: U4 });
    const uncorrected = svdquantLayer({ x: xg, M }, syn.weight, N, K, syn.bias, { format, dtype, rank: R, alpha: null, activation: S4 });
    const eC = relFrobenius(referenceLayer({ layer: corrected, M, x: xb }, spec(format, dtype, R, epi, U4)), ref);
    const eU = relFrobenius(referenceLayer({ layer: uncorrected, M, x: xb }, spec(format, dtype, R, epi, U4)), ref);
    expect(eC).toBeLessThan(0.08);
    expect(eU).toBeGreaterThan(2 * eC);
    expect(corrected.bias![0]).not.toBe(uncorrected.bias![0]);
    expect(Math.abs(fromBits16(uncorrected.bias![0], dtype) - syn.bias[0])).toBeLessThan(0.01);
  });

  it('rejects a rank that is not a multiple of 16 or exceeds min(N, K)', () => {
    const o = { format: FORMATS.int4bf16, dtype: 'bf16' as const };
    expect(() => svdquantLayer({ x: syn.x, M }, syn.weight, N, K, undefined, { ...o, rank: 24 })).toThrow('rank: 24 must be a non-negative multiple of 16');
    expect(() => svdquantLayer({ x: syn.x, M }, syn.weight, N, K, undefined, { ...o, rank: 144 })).toThrow(/min\(N, K\)/);
  });
});
