// Planner → cost model: the predicted time of a planned GEMM or activation kernel for one problem.
// GEMM bytes come from the planner's gemmTraffic (the formulas the emulator's counters check); the
// activation kernel's bytes from the canonical layouts (docs/layouts.md), counted here because the
// planner has no traffic function for it yet.
import type { ActPlan, GemmPlan } from '../codegen/plan/index.js';
import { gemmTraffic } from '../codegen/plan/gemm.js';
import { cacheFacts } from '../dsl/targets.js';
import type { Target } from '../dsl/types.js';
import type { CompiledCounts } from './compiled-counts.js';
import {
  blocksPerSm,
  estimateAct,
  estimateGemm,
  mainLoopCycles,
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

/** What the estimate knows beyond the plan: the compiled main loop's counts and the qnext lora_act slices. */
export interface GemmEstimateExtras {
  /** The inspector's view of the compiled kernel (null/undefined: static estimate). */
  compiled?: CompiledCounts | null;
  /** lora_act slices the low-rank epilogue sums: ⌈N_producer / blockN_producer⌉ after a qnext producer. */
  slices?: number;
}

/**
 * Bytes at each level. `bytes`: every lane's request (what the emulator counts). Register staging
 * requests each fragment once per warp that needs it; the warps of one block share it through L1, so
 * L2 sees the block's unique bytes per k-step (the shared-memory formula) as long as a stage of every
 * resident block fits in the L1 left over by shared memory; the requests themselves cost L1 bandwidth.
 */
export function gemmTrafficForModel(plan: GemmPlan, problem: Problem, opts: { slices?: number; blocksPerSm?: number; target?: Target } = {}): Traffic & { flops: number } {
  const shape = { ...problem, slices: opts.slices ?? 1 };
  const t = gemmTraffic(plan, shape);
  const sps = plan.group === 32 ? 2 : 1;
  const bytesPerStage = plan.kSteps * (plan.blockM / 16 + plan.blockN / 16) * (512 + 32 * sps);
  const stored = t.globalBytesStored;
  const base = {
    bytes: t.globalBytesLoaded + stored,
    uniqueBytes: t.compulsoryBytes,
    rereadFootprint: t.compulsoryBytes - stored,
    bytesPerStage,
    flops: 2 * problem.m * problem.n * problem.k,
  };
  // The low-rank up projection reads lora_act per warp along N and lora_up per warp along M
  // (lowrank/up.h, no shared memory): the warps of one block read the same tiles together, so L2 sees
  // each once per block and L1 serves the repeats (assumed: the tiles of one rank step fit in L1).
  const lr = lowRankWarpReads(plan, problem, shape.slices);
  if (plan.tile.staging !== 'reg') return lr.repeats > 0 ? { ...base, l2Bytes: base.bytes - lr.repeats, l1Bytes: lr.requested } : base;
  const perBlock = gemmTraffic({ ...plan, tile: { ...plan.tile, staging: 'smem' } }, shape);
  const resident = Math.max(1, opts.blocksPerSm ?? 1);
  const l1Free = opts.target ? Math.max(0, cacheFacts(opts.target).l1SmemKiBPerSm * 1024 - resident * plan.smemBytes) : Infinity;
  const hit = Math.min(1, l1Free / (resident * Math.max(1, plan.tile.stages) * bytesPerStage));
  const repeated = t.globalBytesLoaded - perBlock.globalBytesLoaded;
  return { ...base, l2Bytes: perBlock.globalBytesLoaded - lr.repeats + repeated * (1 - hit) + stored, l1Bytes: t.globalBytesLoaded };
}

/**
 * The low-rank epilogue's per-warp reads (codegen/plan/gemm-traffic.ts counts every warp's request):
 * `requested` in all, `repeats` = what the second and later warps of a block re-read.
 */
export function lowRankWarpReads(plan: GemmPlan, problem: Problem, slices: number): { requested: number; repeats: number } {
  if (!plan.epilogue.some((e) => e.op === 'lowrank') || plan.rank <= 0) return { requested: 0, repeats: 0 };
  const r16 = plan.rank / 16;
  const gridM = Math.ceil(problem.m / plan.blockM);
  const gridN = Math.ceil(problem.n / plan.blockN);
  const mtiles = Math.ceil(problem.m / 16);
  const ntiles = problem.n / 16;
  const { warpsM, warpsN } = plan.tile;
  const actPerBlockRow = slices * r16 * mtiles * gridN * 1024; // one read per block
  const upPerBlockCol = r16 * ntiles * gridM * 512;
  return {
    requested: actPerBlockRow * warpsN + upPerBlockCol * warpsM,
    repeats: actPerBlockRow * (warpsN - 1) + upPerBlockCol * (warpsM - 1),
  };
}

/**
 * DRAM bytes when the read footprint exceeds L2: blocks run in waves of `SM × blocks/SM` in blockIdx
 * order (x = N-blocks fastest, codegen/plan/gemm.ts grid), and the blocks of one wave share their A
 * rows and B columns through L2. Each wave reads its distinct M-blocks' bytes (A, its scales, lora_act)
 * and N-blocks' bytes (W, scales, lora_up, bias); the N side is read once in all when it fits in L2
 * next to one wave's M side (assumed LRU keeps the operand every wave reuses). Outputs are written once.
 */
export function waveDramBytes(plan: GemmPlan, problem: Problem, target: Target, blocksPerSmCount: number, slices = 1): number {
  const t = gemmTraffic(plan, { ...problem, slices });
  const stored = t.globalBytesStored;
  const footprint = t.compulsoryBytes - stored;
  const l2 = target.l2MiB * 1024 * 1024;
  if (footprint <= l2) return t.compulsoryBytes;
  const gridM = Math.ceil(problem.m / plan.blockM);
  const gridN = Math.ceil(problem.n / plan.blockN);
  const mtiles = Math.ceil(problem.m / 16);
  const ntiles = problem.n / 16;
  const k64 = problem.k / 64;
  const r16 = plan.epilogue.some((e) => e.op === 'lowrank') ? plan.rank / 16 : 0;
  // Split the compulsory read bytes between the M side and the N side in proportion to their operands.
  const aSide = mtiles * k64 * 512 * (1 + 1 / 16) + slices * mtiles * r16 * 1024;
  const bSide = ntiles * k64 * 512 * (1 + 1 / 16) + ntiles * r16 * 512;
  const perM = (footprint * aSide) / (aSide + bSide) / gridM;
  const perN = (footprint * bSide) / (aSide + bSide) / gridN;
  const slots = Math.max(1, target.smCount * Math.max(1, blocksPerSmCount));
  const blocks = gridM * gridN;
  let mBytes = 0;
  let nBytes = 0;
  for (let first = 0; first < blocks; first += slots) {
    const last = Math.min(blocks, first + slots) - 1;
    const rows = Math.floor(last / gridN) - Math.floor(first / gridN) + 1;
    const cols = rows > 1 ? Math.min(gridN, last - first + 1) : last - first + 1;
    mBytes += rows * perM;
    nBytes += cols * perN;
  }
  const nTotal = perN * gridN;
  const nOnce = nTotal + perM * Math.ceil(slots / gridN) <= l2;
  return stored + mBytes + (nOnce ? nTotal : nBytes);
}

export function estimateGemmPlan(
  plan: GemmPlan,
  problem: Problem,
  target: Target,
  use: KernelResourceUse = plannedResources(plan),
  extras: GemmEstimateExtras = {},
): KernelEstimate {
  const lowrank = plan.epilogue.some((s) => s.op === 'lowrank');
  const occupancy = { blocksPerSm: blocksPerSm(target, plan.threads, use.registers, use.smemBytes), warpsPerBlock: plan.threads / 32 };
  const peak4Bit = peak4BitFlops(target, plan.spec.format.kind);
  const t = gemmTraffic(plan, { ...problem, slices: extras.slices });
  const c = extras.compiled;
  const compiled = c?.mainLoop && c.cycles ? { counts: c.counts, perMma: c.mainLoop.perMma, cycles: c.cycles } : undefined;
  const cycles = mainLoopCycles(target, peak4Bit, compiled, { warpM: plan.warpTileM, warpN: plan.warpTileN });
  return estimateGemm({
    target,
    problem,
    tile: plan.tile,
    occupancy,
    traffic: {
      ...gemmTrafficForModel(plan, problem, { slices: extras.slices, blocksPerSm: occupancy.blocksPerSm, target }),
      dramBytes: waveDramBytes(plan, problem, target, occupancy.blocksPerSm, extras.slices),
    },
    peak4Bit,
    peak16Bit: peak16BitFlops(target, plan.spec.dtype),
    rankUp: lowrank ? plan.rank : 0,
    rankNextDown: plan.next?.rank ?? 0,
    cycles,
    mmasPerBlock: t.blocks > 0 ? t.mmaCount / t.blocks : undefined,
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
