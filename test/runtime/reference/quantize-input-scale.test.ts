// NVFP4 two-level activation scaling (docs/numerics.md): a per-tensor activation scale ts_a (ModelOpt's
// input_scale, amax ÷ (6·448)) keeps small activations' ue4m3 block scales out of the subnormal range.
import { describe, expect, it } from 'vitest';
import type { QuantFormat } from '../../../dsl/types.js';
import { encodeE2m1 } from '../../../numerics/fp4.js';
import { decodeUe4m3 } from '../../../numerics/fp8.js';
import { divF32, mulF32 } from '../../../numerics/rounding.js';
import { dequantize, NVFP4_TENSOR_DIVISOR, quantizeActivations } from '../../../runtime/reference/quantize.js';
import { createRng } from '../../../runtime/reference/random.js';

const NVFP4: QuantFormat = { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' };
const S = { unsigned: false, shift: 0 };

/** ‖deq(Q(x)) − x‖ / ‖x‖. */
function relError(x: Float64Array, rows: number, K: number, ts: number): number {
  const d = dequantize(quantizeActivations(x, rows, K, NVFP4, S, undefined, ts));
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (d[i] - x[i]) ** 2;
    den += x[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe('NVFP4 activation input_scale', () => {
  const rows = 8;
  const K = 1024;
  const rng = createRng(0x1a5ca1e);
  // Small activations (σ = 2⁻⁸, fp32-exact values): most block amax ÷ 6 fall below ue4m3's 2⁻⁶ normal range.
  const x = Float64Array.from({ length: rows * K }, () => Math.fround(rng.normal() * 2 ** -8));
  let amax = 0;
  for (const v of x) amax = Math.max(amax, Math.abs(v));
  const ts = divF32(amax, NVFP4_TENSOR_DIVISOR);

  it('lowers the relative error of small activations to the two-level recipe level', () => {
    const one = relError(x, rows, K, 1);
    const two = relError(x, rows, K, ts);
    if (process.env.SVDQ_PRINT) console.log(`NVFP4 σ=2^-8: relative error ${one.toFixed(3)} without input_scale, ${two.toFixed(3)} with`);
    expect(two).toBeLessThan(0.12); // e2m1 with in-range scales: ≈ 0.1 on Gaussian data
    expect(one).toBeGreaterThan(1.5 * two);
  });

  it('block scales are ue4m3(amax ÷ 6 ÷ ts), codes multiply by RN(1 ÷ (f32(micro) × ts)); ts = 1 is the one-level recipe', () => {
    const q = quantizeActivations(x, rows, K, NVFP4, S, undefined, ts);
    const q1 = quantizeActivations(x, rows, K, NVFP4, S);
    const qExplicit1 = quantizeActivations(x, rows, K, NVFP4, S, undefined, 1);
    expect(qExplicit1.codes).toEqual(q1.codes);
    expect(qExplicit1.scales).toEqual(q1.scales);
    expect(q.tensorScale).toBe(ts);
    // Every block's micro-scale is a normal ue4m3 (≥ 2⁻⁶) or the block's amax is tiny.
    let normal = 0;
    for (let gi = 0; gi < q.scales.length; gi++) if (decodeUe4m3(q.scales[gi]) >= 2 ** -6) normal++;
    expect(normal / q.scales.length).toBeGreaterThan(0.99);
    // Codes use the group's reciprocal of the fp32 product f32(micro) × ts (one group, element by element).
    const gi = 5;
    const rs = divF32(1, mulF32(decodeUe4m3(q.scales[gi]), ts));
    for (let i = 0; i < 16; i++) expect(q.codes[gi * 16 + i]).toBe(encodeE2m1(mulF32(x[gi * 16 + i], rs)));
  });
});
