// The reference engine's configuration, rendered in our DSL, so every job can say what tuning buys over
// it — predicted by the same model as the candidates. Nunchaku runs one tile everywhere
// (models-gpus-users.md §0, nunchaku-kernels.md §3.1–3.3): a 256×128 block of 8 warps stacked along M
// (warp tile 32×128), operands loaded from global straight into registers, 2 stages of register double
// buffering, INT4 cross-group accumulation in fp16/bf16 (USE_FP32_ACCUM=false; FP4 accumulates in fp32),
// and M padded to a multiple of 256.
import { gemmTileProblems, planGemm, type GemmPlan } from '../codegen/plan/gemm.js';
import type { GemmTile, KernelSpec, Target } from '../dsl/types.js';

/** Rows the reference engine pads M to (its BLOCK_M). */
export const BASELINE_BLOCK_M = 256;

export const baselineM = (m: number): number => Math.ceil(m / BASELINE_BLOCK_M) * BASELINE_BLOCK_M;

export function baselineTile(spec: KernelSpec): GemmTile {
  const accum = spec.format.kind === 'int4' ? 'f16' : 'f32';
  return { blockM: 256, blockN: 128, blockK: 64, warpsM: 8, warpsN: 1, stages: 2, staging: 'reg', accum };
}

export interface BaselinePlan {
  plan: GemmPlan;
  /** Where our rendering differs from the reference engine's kernel, and why. */
  note?: string;
}

/**
 * The baseline plan of a job: the reference tile or, where our planner cannot hold it (the f32
 * accumulators of the FP4 path exceed 255 registers in a 32×128 warp tile), the nearest rendering of the
 * same 256×128 block with 8 warps — shared-memory staging, then a 4×2 warp grid — said so in the note.
 */
export function baselinePlan(spec: KernelSpec, target: Target): BaselinePlan | undefined {
  const tile = baselineTile(spec);
  const problems = gemmTileProblems(spec, tile, target);
  if (!problems.length) return { plan: planGemm(spec, tile, target) };
  const fallbacks: [GemmTile, string][] = [
    [{ ...tile, staging: 'smem' }, 'shared-memory staging'],
    [{ ...tile, staging: 'smem', warpsM: 4, warpsN: 2 }, 'shared-memory staging and a 4×2 warp grid (warp tile 64×64)'],
  ];
  for (const [t, how] of fallbacks) {
    if (!gemmTileProblems(spec, t, target).length) return { plan: planGemm(spec, t, target), note: `${how}: the reference tile does not plan here (${problems[0]})` };
  }
  return undefined;
}
