// `svdq-codegen predict`: the cost model's estimate for one layer, with the low-rank branch fused into
// the two kernels (what this project generates), run as separate 16-bit kernels ("unfused": the down
// projection re-reads X, the up projection re-reads and re-writes Y), or dropped ("no-lowrank").
// Every number is predicted; nothing here runs a kernel.
import { parseUri } from '../codegen/uri.js';
import { UserError } from '../dsl/errors.js';
import { formatByKind } from '../dsl/formats.js';
import { layer } from '../dsl/spec.js';
import { defaultFormatKind, resolveGpu, supportsBf16 } from '../dsl/targets.js';
import type { GemmTile, KernelSpec, Target } from '../dsl/types.js';
import { gemmTileProblems, planGemm } from '../codegen/plan/gemm.js';
import { actCandidates, gemmCandidates, tuningSpace } from './candidates.js';
import { combineKernels, estimatePlain16, peak16BitFlops, peak4BitFlops, type KernelEstimate } from './cost-model.js';
import { estimateGemmPlan } from './estimate.js';
import type { Bound } from './records.js';

export type Variant = 'fused' | 'unfused' | 'no-lowrank';
export const VARIANTS: readonly Variant[] = ['fused', 'unfused', 'no-lowrank'];

export interface PredictOptions {
  gpu: string;
  m: number;
  n: number;
  k: number;
  rank?: number;
  variant?: Variant;
  /** A GEMM kernel URI whose tile (and spec) to use instead of the model's best tile. */
  config?: string;
}

export interface Prediction {
  label: 'predicted';
  target: string;
  variant: Variant;
  shape: { m: number; n: number; k: number; rank: number };
  time_us: number;
  tflops: number;
  bytes: number;
  bound: Bound;
  percent_of_peak: number;
  config: { gemm: string; act: string };
  kernels: { name: string; time_us: number; bytes: number; flops: number; bound: Bound }[];
}

function checkShape(o: PredictOptions): void {
  const bad = (f: string, v: unknown, allowed: string) => new UserError(`--${f}: ${JSON.stringify(v)} is not valid; expected ${allowed}`);
  if (!Number.isInteger(o.m) || o.m < 1) throw bad('m', o.m, 'a positive integer');
  if (!Number.isInteger(o.n) || o.n < 16 || o.n % 16 !== 0) throw bad('n', o.n, 'a positive multiple of 16 (docs/layouts.md)');
  if (!Number.isInteger(o.k) || o.k < 64 || o.k % 64 !== 0) throw bad('k', o.k, 'a positive multiple of 64 (the 4-bit MMA K)');
  if (o.rank !== undefined && (!Number.isInteger(o.rank) || o.rank < 0 || o.rank % 16 !== 0 || o.rank > 1024)) {
    throw bad('rank', o.rank, 'a multiple of 16 in [0, 1024]');
  }
  if (o.variant !== undefined && !VARIANTS.includes(o.variant)) throw bad('variant', o.variant, VARIANTS.join(', '));
}

function baseSpec(target: Target, rank: number, withLowRank: boolean): KernelSpec {
  const kind = defaultFormatKind(target);
  if (!kind) throw new UserError(`--gpu: ${target.name} (${target.arch}) has no 4-bit tensor-core path this generator can use. ${target.notes ?? ''}`.trim());
  const dtype = supportsBf16(target) ? 'bf16' : 'fp16';
  return layer({ format: formatByKind(kind, dtype), dtype, lowRank: withLowRank ? rank : 0, epilogue: withLowRank ? ['bias', 'lowrank'] : ['bias'] });
}

export function predictLayer(o: PredictOptions): Prediction {
  checkShape(o);
  const target = resolveGpu(o.gpu);
  const variant = o.variant ?? 'fused';
  let rank = o.rank ?? 32;
  let configTile: GemmTile | undefined;
  let configSpec: KernelSpec | undefined;
  if (o.config) {
    const parsed = parseUri(o.config);
    if (parsed.kind !== 'gemm') throw new UserError(`--config: ${o.config} is an activation-kernel URI; expected a GEMM URI (w4a4_…)`);
    if (parsed.arch !== target.arch) throw new UserError(`--config: ${o.config} is built for ${parsed.arch}, not --gpu ${target.arch}`);
    if (o.rank !== undefined && o.rank !== parsed.spec.lowRank.rank) throw new UserError(`--rank: ${o.rank} differs from the rank ${parsed.spec.lowRank.rank} of --config`);
    rank = parsed.spec.lowRank.rank;
    configTile = parsed.tile;
    configSpec = parsed.spec;
  }
  const fused = variant === 'fused' && rank > 0;
  const spec = configSpec && fused ? configSpec : baseSpec(target, rank, fused);
  const problem = { m: o.m, n: o.n, k: o.k };

  let gemm: { uri: string; estimate: KernelEstimate };
  if (configTile) {
    const problems = gemmTileProblems(spec, configTile, target);
    if (problems.length) throw new UserError(`--config: ${o.config} cannot run this variant on ${target.id}: ${problems.join('; ')}`);
    const plan = planGemm(spec, configTile, target);
    gemm = { uri: plan.uri, estimate: estimateGemmPlan(plan, problem, target) };
  } else {
    const best = gemmCandidates(spec, problem, target, tuningSpace(target)).ranked[0];
    if (!best) throw new UserError(`no GEMM tile of the space fits ${target.id} for ${o.m}×${o.n}×${o.k}`);
    gemm = { uri: best.plan.uri, estimate: best.estimate };
  }
  const act = actCandidates(spec, problem, target, tuningSpace(target)).ranked[0];
  if (!act) throw new UserError(`no activation-kernel tile fits ${target.id} for K = ${o.k}`);
  const kernels: KernelEstimate[] = [act.estimate, gemm.estimate];
  if (variant === 'unfused' && rank > 0) {
    // Separate 16-bit kernels: X·L1 re-reads X; (X·L1)·L2 re-reads and re-writes Y to add into it.
    const p16 = peak16BitFlops(target, spec.dtype);
    const { m, n, k } = problem;
    kernels.push(estimatePlain16(target, 'lowrank-down', 2 * m * k * rank, 2 * (m * k + k * rank + m * rank), p16));
    kernels.push(estimatePlain16(target, 'lowrank-up', 2 * m * n * rank, 2 * (m * rank + n * rank + 2 * m * n), p16));
  }
  const peak = peak4BitFlops(target, spec.format.kind);
  const layerEst = combineKernels(kernels, 2 * o.m * o.n * o.k, peak);
  return {
    label: 'predicted',
    target: target.id,
    variant,
    shape: { ...problem, rank: variant === 'no-lowrank' ? 0 : rank },
    time_us: layerEst.timeUs,
    tflops: layerEst.tflops,
    bytes: layerEst.bytes,
    bound: layerEst.bound,
    percent_of_peak: layerEst.percentOfPeak,
    config: { gemm: gemm.uri, act: act.plan.uri },
    kernels: kernels.map((k) => ({ name: k.name, time_us: k.timeUs, bytes: k.bytes, flops: k.flops, bound: k.bound })),
  };
}
