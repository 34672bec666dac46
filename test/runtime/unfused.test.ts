// The unfused low-rank kernels (runtime/include/svdq/unfused) on the emulator: lora_down against the
// reference's fp32 X·L1, lora_up's read-modify-write against the up branch in float64, the checker clean,
// the per-launch byte counters equal to the kernels' exact traffic, and, on a FLUX-shaped layer, what
// fusion removes (the second write of Y and the re-read of X) measured against the fused layer, whose
// kernels read each low-rank tensor once per block — so it moves fewer bytes in total (docs/fusion.md).
import { beforeAll, describe, expect, it } from 'vitest';
import { layer } from '../../dsl/spec.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { Dtype16 } from '../../dsl/types.js';
import { randomInputs } from '../../runtime/harness/verify.js';
import { buildUnfused, runUnfusedLowRank, type UnfusedInputs, type UnfusedRunResult } from '../../runtime/harness/unfused/run-unfused.js';
import { buildFusion, fusionSpecs, measureFusion, type FusionMeasurement } from '../../runtime/harness/unfused/fusion.js';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { actFillBlocks, actGrid, actSplitTrafficBytes } from '../../codegen/plan/act.js';
import { planLayer } from '../../codegen/plan/index.js';
import { fromBits16, rn16 } from '../../numerics/float16.js';
import { kernelPrecisionLayer } from '../../runtime/reference/layer.js';
import { createRng, randomBits16 } from '../../runtime/reference/random.js';

interface Case {
  dtype: Dtype16;
  rank: number;
  M: number;
  N: number;
  K: number;
}
// A partial 64-row block, a partial 512-column block, several K chunks per warp (the combine runs).
const CASES: Case[] = [
  { dtype: 'bf16', rank: 32, M: 70, N: 96, K: 256 },
  { dtype: 'fp16', rank: 64, M: 37, N: 544, K: 192 },
];

interface Ran {
  c: Case;
  inp: UnfusedInputs;
  refAct: Float32Array;
  /** |x|·|L1| per output: the scale of the fp32 summation-order error. */
  absAct: Float64Array;
  run: UnfusedRunResult;
}
const ran: Ran[] = [];
let flux: FusionMeasurement;
const FLUX = { M: 64, N: 3072, K: 3072 };

/** The fused act kernel's K split at the FLUX shape on sm_89 (codegen/plan/act.ts actGrid). */
function fluxSplit(): { splits: number; partialsWritten: number; partialsRead: number; counterBytes: number } {
  const target = resolveGpu('sm_89');
  const spec = fusionSpecs('bf16', 32).fused;
  const act = planLayer(spec, defaultTiles(spec, target), target).act;
  const fill = actFillBlocks(target);
  const { x, y } = actGrid(act, FLUX.M, FLUX.K, fill);
  const traffic = actSplitTrafficBytes(act, FLUX.M, FLUX.K, fill);
  // each split block bumps its row block's counter once; the last resets it
  return { splits: y, partialsWritten: traffic / 2, partialsRead: traffic / 2, counterBytes: 4 * x * (y + 1) };
}

beforeAll(async () => {
  await Promise.all(CASES.map((c) => buildUnfused(c.rank, c.dtype)));
  for (const c of CASES) {
    const spec = layer({ format: 'int4', dtype: c.dtype, lowRank: c.rank, epilogue: ['bias', 'lowrank'] });
    const inputs = randomInputs(spec, c.M, c.N, c.K, 11);
    const l = inputs.layer;
    l.loraScales = Float32Array.from({ length: c.rank / 16 }, (_, i) => [1, 0.5, 2, 0.75][i % 4]);
    const refAct = kernelPrecisionLayer(inputs, spec).loraAct;
    const x = Float64Array.from(inputs.x, (b) => fromBits16(b, c.dtype));
    const down = Float64Array.from(l.loraDown!, (b) => fromBits16(b, c.dtype));
    const absAct = new Float64Array(c.M * c.rank);
    for (let m = 0; m < c.M; m++)
      for (let r = 0; r < c.rank; r++) {
        let s = 0;
        for (let k = 0; k < c.K; k++) s += Math.abs(x[m * c.K + k] * down[r * c.K + k]);
        absAct[m * c.rank + r] = s;
      }
    const inp: UnfusedInputs = {
      M: c.M, N: c.N, K: c.K, rank: c.rank, dtype: c.dtype,
      x: inputs.x, loraDown: l.loraDown!, loraUp: l.loraUp!, loraScales: l.loraScales,
      y: randomBits16(createRng(5), c.M * c.N, c.dtype),
    };
    ran.push({ c, inp, refAct, absAct, run: await runUnfusedLowRank(inp) });
  }
  const b = await buildFusion(resolveGpu('sm_89'), 'bf16', 32);
  flux = await measureFusion(b, FLUX);
}, 120_000);

/** ulp of a 16-bit value of magnitude |v|. */
function ulp16(v: number, dtype: Dtype16): number {
  const mant = dtype === 'bf16' ? 7 : 10;
  const e = Math.max(Math.floor(Math.log2(Math.abs(v) || 2 ** -14)), dtype === 'bf16' ? -126 : -14);
  return 2 ** (e - mant);
}

describe('unfused lora_down', () => {
  it('matches the reference X·L1 in fp32 (up to the summation order) with the checker clean', () => {
    for (const { c, refAct, absAct, run } of ran) {
      expect(run.findings).toEqual([]);
      expect(run.loraAct).toHaveLength(c.M * c.rank);
      let worst = 0;
      for (let i = 0; i < refAct.length; i++) worst = Math.max(worst, Math.abs(run.loraAct[i] - refAct[i]) / (absAct[i] + 1e-30));
      expect(worst, `${c.dtype} r${c.rank}`).toBeLessThan(2e-6);
      expect(run.loraAct.some((v) => v !== 0)).toBe(true);
    }
  });
});

describe('unfused lora_up', () => {
  it('adds (RN16(lora_act·scale))·L2 to y within one 16-bit ulp, mostly bit-exact', () => {
    for (const { c, inp, run } of ran) {
      const up = Float64Array.from(inp.loraUp, (b) => fromBits16(b, c.dtype));
      let exact = 0;
      for (let m = 0; m < c.M; m++) {
        const a = Array.from({ length: c.rank }, (_, r) => rn16(Math.fround(run.loraAct[m * c.rank + r] * inp.loraScales![r >> 4]), c.dtype));
        for (let n = 0; n < c.N; n++) {
          let v = fromBits16(inp.y[m * c.N + n], c.dtype);
          for (let r = 0; r < c.rank; r++) v += a[r] * up[n * c.rank + r];
          const got = fromBits16(run.y[m * c.N + n], c.dtype);
          expect(Math.abs(got - v), `${c.dtype} y[${m},${n}]`).toBeLessThanOrEqual(ulp16(v, c.dtype));
          if (got === rn16(v, c.dtype)) exact++;
        }
      }
      expect(exact / (c.M * c.N)).toBeGreaterThan(0.97);
    }
  });
});

describe('unfused kernels traffic (emulator counters)', () => {
  it('equals the exact bytes of the two kernels, with every stored sector full', () => {
    for (const { c, run } of ran) {
      const { M, N, K, rank: R } = c;
      const rowBlocks = Math.ceil(M / 64);
      const colBlocks = Math.ceil(N / 512);
      const down = run.launches.down.counters.global;
      const up = run.launches.up.counters.global;
      // X once, lora_down once per 64-row block, lora_act written once.
      expect(down.load.bytes).toBe(2 * M * K + rowBlocks * 2 * R * K);
      expect(down.store.bytes).toBe(4 * M * R);
      // lora_act once per 512-column block, scales per lane, lora_up once per row block, y read + written.
      expect(up.load.bytes).toBe(colBlocks * 4 * M * R + colBlocks * rowBlocks * 128 * (R / 32) * 4 + rowBlocks * 2 * N * R + 2 * M * N);
      expect(up.store.bytes).toBe(2 * M * N);
      expect(32 * down.store.sectors!).toBe(down.store.bytes);
      expect(32 * up.store.sectors!).toBe(up.store.bytes);
      expect(32 * down.load.sectors!).toBe(down.load.bytes); // X and lora_down: whole sectors
    }
  });
});

describe('fusion on a FLUX-shaped layer (N = K = 3072, M = 64, rank 32)', () => {
  it('runs all three variants with the checker clean', () => {
    expect(flux.findings).toBe(0);
    expect(flux.fused.kernels).toHaveLength(2);
    expect(flux.unfused.kernels).toHaveLength(4);
  });

  it('the unfused chain writes y twice and re-reads x and y; the fused layer does neither', () => {
    const { M, N, K } = FLUX;
    // Same rank-0 kernels + lora_act written once in both: the store difference is the second y, less
    // what the fused act kernel's K split writes (fp32 X·L1 partials and its integer split counters).
    const split = fluxSplit();
    const diff = flux.unfused.storeBytes - flux.fused.storeBytes;
    expect(diff).toBeLessThanOrEqual(2 * M * N - split.partialsWritten);
    expect(diff).toBeGreaterThanOrEqual(2 * M * N - split.partialsWritten - split.counterBytes);
    const [, , down, up] = flux.unfused.kernels;
    expect(down.loadBytes).toBeGreaterThanOrEqual(2 * M * K);
    expect(up.loadBytes).toBeGreaterThanOrEqual(2 * M * N);
    // Whatever the low-rank branch costs, it costs something in both variants.
    expect(flux.fused.bytes).toBeGreaterThan(flux.rank0.bytes);
    expect(flux.unfused.bytes).toBeGreaterThan(flux.rank0.bytes + 2 * M * K + 4 * M * N);
  });

  it('the fused act kernel reads lora_down once per 64-row block (staged for its warps) and writes lora_act once', () => {
    const { M, K } = FLUX;
    const R = 32;
    const [fusedAct] = flux.fused.kernels;
    const [rank0Act] = flux.rank0.kernels;
    // Same X, smooth, codes and scales traffic as the rank-0 act kernel (default tile: 64 rows, 4 warps on
    // rows), plus the K split's fp32 partials (written by every split, read back by the last to arrive)
    // and its integer counters.
    const split = fluxSplit();
    expect(split.splits).toBeGreaterThan(1); // M = 64 is one row block: the split fills the GPU
    const loads = fusedAct.loadBytes - rank0Act.loadBytes - Math.ceil(M / 64) * 2 * R * K - split.partialsRead;
    const stores = fusedAct.storeBytes - rank0Act.storeBytes - 4 * Math.ceil(M / 16) * 16 * R - split.partialsWritten;
    expect(loads).toBeGreaterThanOrEqual(0);
    expect(loads).toBeLessThanOrEqual(split.counterBytes);
    expect(stores).toBeGreaterThanOrEqual(0);
    expect(stores).toBeLessThanOrEqual(split.counterBytes);
  });

  it('moves fewer global bytes fused than rank 0 + the separate lora_down and lora_up kernels', () => {
    // Not counted against fusion: the act kernel's K-split partials (fp32 X·L1, written once and read
    // once), the price of filling every SM at M = 64 rather than of fusing; the unfused lora_down kernel
    // has its own grid. Everything else — lora_down, lora_act, the per-warp lora_up reads — counts.
    const split = fluxSplit();
    expect(flux.fused.bytes - split.partialsWritten - split.partialsRead).toBeLessThan(flux.unfused.bytes);
  });
});
