// Planner → cost model: the predicted time of a planned GEMM or activation kernel for one problem.
// GEMM bytes come from the planner's gemmTraffic (the formulas the emulator's counters check); the
// activation kernel's bytes from the canonical layouts (docs/layouts.md), counted here because the
// planner has no traffic function for it yet.
import type { ActPlan, GemmPlan } from '../codegen/plan/index.js';
import { gemmTraffic } from '../codegen/plan/gemm.js';
import type { Target } from '../dsl/types.js';
import {
  blocksPerSm,
  estimateAct,
  estimateGemm,
  peak16BitFlops,
  peak4BitFlops,
  type KernelEstimate,
  type Problem,
  type Traffic,
} from './cost-model.js';

/** Registers and shared memory per block: ptxas's numbers after compiling, the planner's before. */
export interface KernelResourceUse {
  registers: number;
  smemBytes: number;
}

export const plannedResources = (plan: GemmPlan | ActPlan): KernelResourceUse => ({ registers: plan.regEstimate, smemBytes: plan.smemBytes });

export function gemmTrafficForModel(plan: GemmPlan, problem: Problem): Traffic & { flops: number } {
  const t = gemmTraffic(plan, problem);
  const sps = plan.group === 32 ? 2 : 1;
  return {
    bytes: t.globalBytesLoaded + t.globalBytesStored,
    uniqueBytes: t.compulsoryBytes,
    bytesPerStage: plan.kSteps * (plan.blockM / 16 + plan.blockN / 16) * (512 + 32 * sps),
    flops: 2 * problem.m * problem.n * problem.k,
  };
}

export function estimateGemmPlan(plan: GemmPlan, problem: Problem, target: Target, use: KernelResourceUse = plannedResources(plan)): KernelEstimate {
  const lowrank = plan.epilogue.some((s) => s.op === 'lowrank');
  return estimateGemm({
    target,
    problem,
    tile: plan.tile,
    occupancy: { blocksPerSm: blocksPerSm(target, plan.threads, use.registers, use.smemBytes), warpsPerBlock: plan.threads / 32 },
    traffic: gemmTrafficForModel(plan, problem),
    peak4Bit: peak4BitFlops(target, plan.spec.format.kind),
    peak16Bit: peak16BitFlops(target, plan.spec.dtype),
    rankUp: lowrank ? plan.rank : 0,
    rankNextDown: plan.next?.rank ?? 0,
  });
}

/** Bytes of the activation kernel (docs/layouts.md sizes; X re-read once per rank pass). */
export function actTrafficForModel(plan: ActPlan, problem: { m: number; k: number }): Traffic {
  const { m, k } = problem;
  const mp = Math.ceil(m / 16) * 16;
  const blocksM = Math.ceil(m / plan.blockM);
  const x = m * k * 2 * plan.passes;
  const smooth = blocksM * k * 2;
  const codes = (mp * k) / 2;
  const scales = (mp * k) / plan.group * 2;
  const down = plan.rank > 0 ? blocksM * k * plan.rank * 2 : 0;
  const loraAct = mp * plan.rank * 4;
  const bytes = x + smooth + codes + scales + down + loraAct;
  const uniqueBytes = m * k * 2 + k * 2 + codes + scales + k * plan.rank * 2 + loraAct;
  return { bytes, uniqueBytes, bytesPerStage: plan.blockM * plan.blockK * 2 };
}

export function estimateActPlan(plan: ActPlan, problem: { m: number; k: number }, target: Target, use: KernelResourceUse = plannedResources(plan)): KernelEstimate {
  return estimateAct({
    target,
    problem,
    blockM: plan.blockM,
    blockK: plan.blockK,
    occupancy: { blocksPerSm: blocksPerSm(target, plan.threads, use.registers, use.smemBytes), warpsPerBlock: plan.threads / 32 },
    traffic: actTrafficForModel(plan, problem),
    peak16Bit: peak16BitFlops(target, plan.spec.dtype),
    rank: plan.rank,
  });
}
