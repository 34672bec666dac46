// What the suite renders and runs for a subject: its two kernel sources (through an optional source
// transform, which is how the tests plant a broken kernel) and the edge-shape cases of the emulated
// correctness run. Shapes are fixed, independent of the tile, so traffic stays comparable when a
// default tile changes: M = 1 (one row, every tile partial), M = 145 (odd, a partial tile after full
// ones for every blockM ≤ 128), N = 256 (two or more N blocks), K = 512 (several K steps of both kernels).
// The largest-rank case widens N and K to the rank (the reference's SVD needs rank ≤ min(N, K)).
import { RANK_BUCKETS } from '../dsl/lowrank.js';
import { toBits16 } from '../numerics/float16.js';
import type { LayerInputs } from '../runtime/reference/layer.js';
import { createRng, randomBits16 } from '../runtime/reference/random.js';
import { randomInputs } from '../runtime/harness/verify.js';
import { layer } from '../dsl/spec.js';
import type { KernelSpec } from '../dsl/types.js';
import { defaultTiles } from '../codegen/default-tiles.js';
import { planLayer, type LayerPlan } from '../codegen/plan/index.js';
import { renderKernel } from '../codegen/render.js';
import type { Budget, RegressSubject } from './types.js';

/** Rewrites a kernel's source before it is compared, compiled or emulated (tests plant regressions with it). */
export type SourceTransform = (uri: string, source: string) => string;

export interface RenderedKernel {
  kind: 'act' | 'gemm';
  uri: string;
  symbol: string;
  source: string;
  /** The plan's dynamic shared memory. */
  dynamicSmemBytes: number;
}

export interface RenderedLayer {
  plan: LayerPlan;
  act: RenderedKernel;
  gemm: RenderedKernel;
}

export function renderLayer(spec: KernelSpec, tiles: RegressSubject['tiles'], subject: RegressSubject, transform?: SourceTransform): RenderedLayer {
  const plan = planLayer(spec, tiles, subject.target);
  const one = (p: LayerPlan['act'] | LayerPlan['gemm']): RenderedKernel => {
    const text = renderKernel(p);
    return { kind: p.kind, uri: p.uri, symbol: p.symbol, source: transform ? transform(p.uri, text) : text, dynamicSmemBytes: p.smemBytes };
  };
  return { plan, act: one(plan.act), gemm: one(plan.gemm) };
}

export interface EdgeCase {
  /** Stable name (baseline key of its traffic), e.g. `M=1 N=256 K=512` or `rank=1024 M=145 N=256 K=512`. */
  name: string;
  spec: KernelSpec;
  tiles: RegressSubject['tiles'];
  M: number;
  N: number;
  K: number;
}

export const EDGE_N = 256;
export const EDGE_K = 512;
export const EDGE_MS: readonly number[] = [1, 145];
/** The odd M the largest-rank case runs with. */
export const LARGEST_RANK_M = 145;

/** The spec with its low-rank branch (and a qnext's fused down projection) at `rank`. */
export function withRank(spec: KernelSpec, rank: number): KernelSpec {
  const epilogue = spec.epilogue.map((e) => (e.op === 'qnext' && e.lowRankDown.rank > 0 ? { ...e, lowRankDown: { rank } } : e));
  const { label: _label, ...rest } = spec;
  return layer({ ...rest, lowRank: rank, epilogue } as Parameters<typeof layer>[0]);
}

/** The largest rank bucket whose default tiles the planner accepts for this spec (undefined for rank-0 specs). */
export function largestRank(subject: RegressSubject): { rank: number; spec: KernelSpec; tiles: RegressSubject['tiles'] } | undefined {
  if (subject.spec.lowRank.rank === 0) return undefined;
  for (const rank of [...RANK_BUCKETS].sort((a, b) => b - a)) {
    if (rank <= subject.spec.lowRank.rank) return undefined;
    try {
      const spec = withRank(subject.spec, rank);
      const tiles = defaultTiles(spec, subject.target);
      planLayer(spec, tiles, subject.target);
      return { rank, spec, tiles };
    } catch {
      // not plannable at this rank: try the next smaller bucket
    }
  }
  return undefined;
}

/**
 * The cases of a subject. quick: M = 1 and odd M at the catalog rank. full: also the largest rank
 * bucket the planner accepts (a second pair of kernels per subject).
 */
export function edgeCases(subject: RegressSubject, budget: Budget): EdgeCase[] {
  const cases: EdgeCase[] = EDGE_MS.map((M) => ({ name: `M=${M} N=${EDGE_N} K=${EDGE_K}`, spec: subject.spec, tiles: subject.tiles, M, N: EDGE_N, K: EDGE_K }));
  if (budget === 'full') {
    const big = largestRank(subject);
    // the SVD behind the reference needs rank ≤ min(N, K)
    const N = Math.max(EDGE_N, big?.rank ?? 0);
    const K = Math.max(EDGE_K, big?.rank ?? 0);
    if (big) cases.push({ name: `rank=${big.rank} M=${LARGEST_RANK_M} N=${N} K=${K}`, spec: big.spec, tiles: big.tiles, M: LARGEST_RANK_M, N, K });
  }
  return cases;
}

/**
 * Inputs of a case. The catalog-rank cases use the SVDQuant-decomposed random layer `verify` uses. The
 * largest-rank case would need an SVD of an N×K ≥ 1024×1024 matrix in TypeScript (minutes), so its
 * layer is built directly: the rank-0 layer (random weights, smoothing, bias) plus random 16-bit
 * low-rank factors of the full rank. The kernels' arithmetic does not care whether L1·L2 came from an
 * SVD; the reference computes the same layer either way.
 */
export function edgeInputs(edge: EdgeCase, seed: number): LayerInputs {
  const rank = edge.spec.lowRank.rank;
  if (rank <= Math.min(EDGE_N, EDGE_K, 256)) return randomInputs(edge.spec, edge.M, edge.N, edge.K, seed);
  const base = randomInputs({ ...edge.spec, lowRank: { rank: 0 }, epilogue: edge.spec.epilogue.filter((e) => e.op !== 'qnext') }, edge.M, edge.N, edge.K, seed);
  const rng = createRng(seed + 7);
  const dtype = edge.spec.dtype;
  const inputs: LayerInputs = {
    ...base,
    layer: {
      ...base.layer,
      rank,
      loraDown: randomBits16(rng, rank * edge.K, dtype, 0.05),
      loraUp: randomBits16(rng, edge.N * rank, dtype, 0.05),
      loraScales: new Float32Array(rank / 16).fill(1),
    },
  };
  const q = edge.spec.epilogue.find((e) => e.op === 'qnext');
  if (q && q.op === 'qnext') {
    inputs.next = {
      smooth: Uint16Array.from({ length: edge.N }, () => toBits16(0.5 + rng.next(), dtype)),
      ...(q.lowRankDown.rank > 0 ? { loraDown: randomBits16(rng, q.lowRankDown.rank * edge.N, dtype, 0.05) } : {}),
    };
  }
  return inputs;
}
