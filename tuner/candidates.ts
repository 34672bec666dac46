// The search space of one job, statically pruned and ranked by the cost model before anything is
// compiled: structural validity (dsl/tiles.ts), the target's arch rules, the planner's problems
// (family rules, shared memory and register budgets from dsl/targets.ts), occupancy ≥ 1 block per SM.
import { actTileProblems, planAct, type ActPlan } from '../codegen/plan/act.js';
import { gemmTileProblems, planGemm, type GemmPlan } from '../codegen/plan/gemm.js';
import { defaultSearchSpace, enumerateActTiles, enumerateGemmTiles } from '../dsl/space.js';
import { checkTileOnTarget } from '../dsl/tiles.js';
import type { ActTile, GemmTile, KernelSpec, SearchSpace, Target } from '../dsl/types.js';
import type { KernelEstimate, Problem } from './cost-model.js';
import { estimateActPlan, estimateGemmPlan } from './estimate.js';

export interface Candidate<P, T> {
  tile: T;
  plan: P;
  /** Predicted with the planner's resource estimates (re-estimated with ptxas's after compiling). */
  estimate: KernelEstimate;
}
export type GemmCandidate = Candidate<GemmPlan, GemmTile>;
export type ActCandidate = Candidate<ActPlan, ActTile>;

export interface Pruned<C> {
  /** Survivors, fastest predicted first (ties broken by URI, so the order is deterministic). */
  ranked: C[];
  /** Tiles enumerated (structurally valid for the spec). */
  enumerated: number;
  /** Why the others were dropped: reason prefix → count. */
  dropped: Record<string, number>;
}

function bump(dropped: Record<string, number>, reason: string): void {
  const key = reason.split(':')[0];
  dropped[key] = (dropped[key] ?? 0) + 1;
}

/** Fastest predicted first; among equal predictions the cheaper kernel (registers, shared memory), then by URI. */
const byTime = <C extends { estimate: KernelEstimate; plan: { uri: string; regEstimate: number; smemBytes: number } }>(a: C, b: C) =>
  a.estimate.timeUs - b.estimate.timeUs ||
  a.plan.regEstimate - b.plan.regEstimate ||
  a.plan.smemBytes - b.plan.smemBytes ||
  (a.plan.uri < b.plan.uri ? -1 : a.plan.uri > b.plan.uri ? 1 : 0);

/**
 * The space the tuner searches by default: the DSL's space for the arch without f16 cross-group
 * accumulation, which trades accuracy for speed and is opt-in (DESIGN.md §6, dsl/types.ts GemmTile).
 */
export function tuningSpace(target: Target, opts: { allowF16Accum?: boolean } = {}): SearchSpace {
  const space = defaultSearchSpace(target.arch);
  return opts.allowF16Accum ? space : { ...space, gemm: { ...space.gemm, accum: space.gemm.accum.filter((a) => a === 'f32') } };
}

/** Drops the tiles with a problem (first reason counted), plans and estimates the rest, fastest first. */
function rankTiles<T, P extends { uri: string; regEstimate: number; smemBytes: number }>(
  tiles: Iterable<T>,
  problemOf: (tile: T) => string | undefined,
  plan: (tile: T) => P,
  estimate: (plan: P) => KernelEstimate,
): Pruned<Candidate<P, T>> {
  const ranked: Candidate<P, T>[] = [];
  const dropped: Record<string, number> = {};
  let enumerated = 0;
  for (const tile of tiles) {
    enumerated++;
    const problem = problemOf(tile);
    if (problem !== undefined) {
      bump(dropped, problem);
      continue;
    }
    const p = plan(tile);
    const e = estimate(p);
    if (!Number.isFinite(e.timeUs)) {
      bump(dropped, 'occupancy: no block fits on an SM');
      continue;
    }
    ranked.push({ tile, plan: p, estimate: e });
  }
  ranked.sort(byTime);
  return { ranked, enumerated, dropped };
}

export function gemmCandidates(spec: KernelSpec, problem: Problem, target: Target, space: SearchSpace = tuningSpace(target)): Pruned<GemmCandidate> {
  return rankTiles(
    enumerateGemmTiles(space, spec),
    (tile) => {
      try {
        checkTileOnTarget(tile, target);
      } catch (e) {
        return (e as Error).message;
      }
      return gemmTileProblems(spec, tile, target)[0];
    },
    (tile) => planGemm(spec, tile, target),
    (plan) => estimateGemmPlan(plan, problem, target),
  );
}

export function actCandidates(spec: KernelSpec, problem: { m: number; k: number }, target: Target, space: SearchSpace = tuningSpace(target)): Pruned<ActCandidate> {
  return rankTiles(
    enumerateActTiles(space, spec),
    (tile) => actTileProblems(spec, tile, target)[0],
    (tile) => planAct(spec, tile, target),
    (plan) => estimateActPlan(plan, problem, target),
  );
}

/**
 * The compile order: the best-predicted candidate of each block shape (blockM × blockN × warps) first,
 * then the rest in rank order. Stage count and K step barely move the static estimate, so without this
 * the top-k would be one tile three times; the compiled counts are what tell such variants apart.
 */
export function compileOrder(ranked: GemmCandidate[]): GemmCandidate[] {
  const seen = new Set<string>();
  const first: GemmCandidate[] = [];
  const rest: GemmCandidate[] = [];
  for (const c of ranked) {
    const t = c.tile;
    const shape = `${t.blockM}x${t.blockN}w${t.warpsM}x${t.warpsN}`;
    (seen.has(shape) ? rest : first).push(c);
    seen.add(shape);
  }
  return [...first, ...rest];
}
