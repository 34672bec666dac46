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

export function gemmCandidates(spec: KernelSpec, problem: Problem, target: Target, space: SearchSpace = tuningSpace(target)): Pruned<GemmCandidate> {
  const ranked: GemmCandidate[] = [];
  const dropped: Record<string, number> = {};
  let enumerated = 0;
  for (const tile of enumerateGemmTiles(space, spec)) {
    enumerated++;
    try {
      checkTileOnTarget(tile, target);
    } catch (e) {
      bump(dropped, (e as Error).message);
      continue;
    }
    const problems = gemmTileProblems(spec, tile, target);
    if (problems.length) {
      bump(dropped, problems[0]);
      continue;
    }
    const plan = planGemm(spec, tile, target);
    const estimate = estimateGemmPlan(plan, problem, target);
    if (!Number.isFinite(estimate.timeUs)) {
      bump(dropped, 'occupancy: no block fits on an SM');
      continue;
    }
    ranked.push({ tile, plan, estimate });
  }
  ranked.sort(byTime);
  return { ranked, enumerated, dropped };
}

export function actCandidates(spec: KernelSpec, problem: { m: number; k: number }, target: Target, space: SearchSpace = tuningSpace(target)): Pruned<ActCandidate> {
  const ranked: ActCandidate[] = [];
  const dropped: Record<string, number> = {};
  let enumerated = 0;
  for (const tile of enumerateActTiles(space, spec)) {
    enumerated++;
    const problems = actTileProblems(spec, tile, target);
    if (problems.length) {
      bump(dropped, problems[0]);
      continue;
    }
    const plan = planAct(spec, tile, target);
    const estimate = estimateActPlan(plan, problem, target);
    if (!Number.isFinite(estimate.timeUs)) {
      bump(dropped, 'occupancy: no block fits on an SM');
      continue;
    }
    ranked.push({ tile, plan, estimate });
  }
  ranked.sort(byTime);
  return { ranked, enumerated, dropped };
}
