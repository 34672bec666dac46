// NVFP4 two-level activation scaling end to end on the emulator (issue 13 part 2): a small-magnitude
// layer input runs through the harness on sm_120a without and with input_scale (ts_a = amax ÷ 2688).
// Codes and scales are bit-identical to the reference both times (compareLayer checks them, and Y in
// the kernel's precision, with alpha = f32(ts_w × ts_a)); the error against the unquantized float64
// layer (X·Wᵀ in float64 with the original weight) drops with the per-tensor scale.
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultTiles } from '../../../codegen/default-tiles.js';
import { parseUri } from '../../../codegen/uri.js';
import { resolveGpu } from '../../../dsl/targets.js';
import { fromBits16, toBits16 } from '../../../numerics/float16.js';
import { divF32 } from '../../../numerics/rounding.js';
import type { BuiltHarness } from '../../../runtime/harness/harness.js';
import { compareLayer } from '../../../runtime/harness/compare.js';
import { buildLayerHarness, runLayer } from '../../../runtime/harness/run-layer.js';
import { randomInputs } from '../../../runtime/harness/verify.js';
import { NVFP4_TENSOR_DIVISOR } from '../../../runtime/reference/quantize.js';
import { syntheticLayer } from '../../../runtime/reference/random.js';

// Rank 0, no bias: Y is the 4-bit product alone, so its error against X·Wᵀ is the quantization error.
const URI = 'w4a4_nvfp4g16_bf16_r0_m128n128k64_w2x4_s2_smem_f32acc_sm120a_plain';
const target = resolveGpu('sm_120a');
const parsed = parseUri(URI);
if (parsed.kind !== 'gemm') throw new Error('unreachable');
const spec = parsed.spec;
const tiles = { gemm: parsed.tile, act: defaultTiles(spec, target).act };
const M = 77, N = 128, K = 512; // ragged M; small M splits K across blocks (fill = 170 SMs)

const SEED = 11;
const base = randomInputs(spec, M, N, K, SEED);
const weight = syntheticLayer({ M, N, K, seed: SEED }).weight; // [N, K], what randomInputs quantized
// Small activations: X × 2⁻⁹ (exact in bf16), so most ue4m3 block scales fall below the normal range.
const x = Uint16Array.from(base.x, (b) => toBits16(fromBits16(b, 'bf16') * 2 ** -9, 'bf16'));
let amax = 0;
for (const b of x) amax = Math.max(amax, Math.abs(fromBits16(b, 'bf16')));
const noScale = { ...base, x };
const withScale = { ...base, x, atensorScale: divF32(amax, NVFP4_TENSOR_DIVISOR) };

let built: BuiltHarness;
beforeAll(async () => {
  built = (await buildLayerHarness(spec, tiles, target, 'emu')).built;
});

describe('NVFP4 input_scale through the activation kernel and the GEMM alpha', () => {
  it('codes, scales and Y match the reference with and without it; the error drops with it', async () => {
    const errors: number[] = [];
    for (const inputs of [noScale, withScale]) {
      const run = await runLayer({ spec, tiles, target, backend: 'emu', inputs, built });
      expect(run.findings).toEqual([]);
      const cmp = compareLayer(run, inputs, spec);
      expect(cmp.checks.filter((c) => !c.passed), `input_scale ${inputs.atensorScale ?? 'absent'}`).toEqual([]);
      // ‖Y − X·Wᵀ‖ / ‖X·Wᵀ‖ (smoothing is folded into the packed layer: Y approximates X·Wᵀ).
      let num = 0;
      let den = 0;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let t = 0;
          for (let k = 0; k < K; k++) t += fromBits16(x[m * K + k], 'bf16') * weight[n * K + k];
          num += (fromBits16(run.y![m * N + n], 'bf16') - t) ** 2;
          den += t * t;
        }
      }
      errors.push(Math.sqrt(num / den));
    }
    if (process.env.SVDQ_PRINT) console.log(`NVFP4 layer, X·2^-9: relative error vs X·Wᵀ ${errors[0].toFixed(3)} without input_scale, ${errors[1].toFixed(3)} with`);
    expect(errors[1]).toBeLessThan(0.75 * errors[0]);
  });
});
