// The activation-kernel planner: KernelSpec × ActTile × arch → ActPlan, every number the template
// (templates/act.cu.hbs) and the device code (runtime/include/svdq/act/kernel.h) need made concrete.
// Also `actTileProblems`, the pruner's list of reasons a tile cannot be planned (each names its knob).
//
// Decisions made here (the kernel only spells them out):
//   * warp grid: warpsM = gcd(blockM/16, warps) warps split the block's row tiles, the other
//     warpsK = warps/warpsM split each K step's quantization units (unit = max(64, G) channels);
//   * rowTilesIter: row tiles a warp carries through K at once (the rest are walked one after another),
//     and unitsPerBatch: units whose loads are in flight together — both sized to register budgets;
//   * rankChunk: ranks accumulated per pass over X (fp32 accumulators in registers); larger ranks take
//     several passes (X re-read from L2, codes written in the first pass only);
//   * smemBytes: the deterministic cross-warp combine (only when warpsK > 1) and, when warpsM > 1 and
//     it fits the 48 KiB, one K step's lora_down tiles shared by the block's warps, plus one K step's
//     fp32 smoothing reciprocals (always).
import type { ActTile, Dtype16, KernelSpec, SmArch, Target } from '../../dsl/types.js';
import { actUri } from '../uri.js';
import { PlanError } from './index.js';

const CXX_HALF: Record<Dtype16, string> = { fp16: '__half', bf16: '__nv_bfloat16' };
/** Dynamic shared memory a kernel may use without opting in (every CUDA arch). */
export const ACT_SMEM_LIMIT_BYTES = 48 * 1024;
export const ACT_MAX_WARPS = 8;
export const ACT_MAX_BLOCK_M = 256;
export const ACT_MAX_BLOCK_K = 1024;
export const ACT_MAX_RANK = 1024;
/** 32-bit registers per thread for X in flight (units × row tiles × slices × 16). */
export const ACT_X_REG_BUDGET = 32;
/** X registers plus accumulators per thread (beyond it, one unit in flight at a time). */
export const ACT_X_AND_ACC_BUDGET = 80;
/** fp32 low-rank accumulators per thread (row tiles × rank chunk / 2), halved for two-slice units. */
export const ACT_ACC_REG_BUDGET = 64;

export interface ActPlan {
  kind: 'act';
  uri: string;
  /** Launcher symbol: `svdq_` + URI with non-identifier characters replaced by `_`. */
  symbol: string;
  template: 'act.cu.hbs';
  arch: SmArch;
  spec: Omit<KernelSpec, 'epilogue'> & { epilogue?: KernelSpec['epilogue'] };
  tile: ActTile;
  threads: number;
  /** Dynamic shared memory of the launch (the cross-warp low-rank combine). */
  smemBytes: number;
  /** grid.x = ceil(M / rowsPerBlock). */
  rowsPerBlock: number;
  // Template fields (strings are C++ tokens).
  halfType: string;
  /** The quantization format, e.g. `svdq::quant::Int4<false, __half, 64>`. */
  formatType: string;
  group: number;
  unitK: number;
  rank: number;
  rankChunk: number;
  passes: number;
  blockM: number;
  blockK: number;
  warpsM: number;
  warpsK: number;
  rowTilesIter: number;
  unitsPerBatch: number;
  /** Rough live 32-bit registers per thread (X in flight + accumulators + quantizer values + addressing). */
  regEstimate: number;
}

export const actSymbol = (uri: string): string => `svdq_${uri.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** The device quantization format (runtime/include/svdq/quant/int4.h, fp4.h). */
function formatType(spec: Pick<KernelSpec, 'format' | 'activation'>): string {
  const f = spec.format;
  if (f.kind === 'nvfp4') return 'svdq::quant::Nvfp4';
  if (f.kind === 'mxfp4') return 'svdq::quant::Mxfp4';
  return `svdq::quant::Int4<${spec.activation.unsigned ? 'true' : 'false'}, ${CXX_HALF[f.scaleDtype]}, ${f.group}>`;
}

/** The planner needs only the arch (the 48 KiB no-opt-in shared memory limit holds on every target). */
const archOf = (a: SmArch | Target): SmArch => (typeof a === 'string' ? a : a.arch);
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
/** Largest divisor d of n with d ≤ limit (≥ 1). */
const largestDivisorAtMost = (n: number, limit: number): number => {
  for (let d = Math.max(1, Math.min(n, Math.floor(limit))); d > 1; d--) if (n % d === 0) return d;
  return 1;
};

interface Derived {
  unitK: number;
  slices: number;
  warpsM: number;
  warpsK: number;
  rowTilesWarp: number;
  rowTilesIter: number;
  unitsPerWarp: number;
  unitsPerBatch: number;
  rankChunk: number;
  smemBytes: number;
  regEstimate: number;
}

function derive(spec: Pick<KernelSpec, 'format' | 'lowRank'>, tile: ActTile): Derived {
  const unitK = Math.max(64, spec.format.group);
  const slices = unitK / 64;
  const rowTiles = tile.blockM / 16;
  const warpsM = gcd(rowTiles, tile.warps);
  const warpsK = tile.warps / warpsM;
  const rowTilesWarp = rowTiles / warpsM;
  const rank = spec.lowRank.rank;
  // Two-slice units (G = 128) hold twice the quantizer values: half the accumulator budget.
  const accBudget = ACT_ACC_REG_BUDGET / slices;
  // Row tiles carried through K together: as many as the accumulator budget allows for the rank and the
  // X budget allows for one unit (≤ 2; more only adds registers, the loads are already 16-byte runs).
  const rtiMax = Math.min(2, Math.floor(ACT_X_REG_BUDGET / (16 * slices)));
  const rti =
    rank > 0
      ? largestDivisorAtMost(rowTilesWarp, Math.min(rtiMax, Math.floor((2 * accBudget) / Math.min(rank, 128))))
      : largestDivisorAtMost(rowTilesWarp, rtiMax);
  // Rank chunk: the largest multiple of 16 dividing the rank with rti·chunk/2 ≤ the accumulator budget.
  let rankChunk = 0;
  if (rank > 0) {
    const tiles = rank / 16;
    rankChunk = 16 * largestDivisorAtMost(tiles, Math.floor((2 * accBudget) / (rti * 16)));
  }
  const rankTiles = rank > 0 ? rankChunk / 16 : 0;
  // Units in flight: X registers within budget, less when the accumulators are large (ptxas calibrated:
  // a full 64-register accumulator leaves room for one unit).
  const unitsPerWarp = Math.floor(tile.blockK / unitK / warpsK);
  const xBudget = Math.min(ACT_X_REG_BUDGET, ACT_X_AND_ACC_BUDGET - rti * rankTiles * 8);
  const unitsPerBatch = largestDivisorAtMost(Math.max(1, unitsPerWarp), xBudget / (rti * slices * 16));
  // The cross-warp combine, plus (when several warps cover different rows and it fits) one K step's
  // lora_down tiles staged once for the whole block (act/kernel.h ActConfig::kStageDown).
  const combineBytes = rank > 0 && warpsK > 1 ? warpsM * rti * rankTiles * 1024 : 0;
  const downStageBytes = (tile.blockK / 16) * rankTiles * 512;
  // + one K step's fp32 smoothing reciprocals, computed once per block and step (act/kernel.h stage_step).
  const smoothStageBytes = tile.blockK * 4;
  const stageDown = rank > 0 && warpsM > 1 && combineBytes + downStageBytes + smoothStageBytes <= ACT_SMEM_LIMIT_BYTES;
  const smemBytes = combineBytes + (stageDown ? downStageBytes : 0) + smoothStageBytes;
  const xRegs = unitsPerBatch * rti * slices * 16;
  const accRegs = rti * rankTiles * 8;
  // + hoisted lora_down tiles, the quantizer's fp32 values, A fragments, addressing (calibrated on ptxas).
  const regEstimate = xRegs + accRegs + 4 * rankTiles + 32 * slices + (rank > 0 ? 16 * rti : 0) + 56;
  return { unitK, slices, warpsM, warpsK, rowTilesWarp, rowTilesIter: rti, unitsPerWarp, unitsPerBatch, rankChunk, smemBytes, regEstimate };
}

/**
 * Every reason `tile` cannot be generated for `spec` on `arch` (empty = plannable). Each reason names
 * the knob, its value and what is allowed.
 */
export function actTileProblems(spec: Pick<KernelSpec, 'format' | 'lowRank' | 'activation'>, tile: ActTile, archOrTarget: SmArch | Target): string[] {
  const arch = archOf(archOrTarget);
  const p: string[] = [];
  if (spec.activation.unsigned && spec.format.kind !== 'int4') {
    p.push(`spec.activation.unsigned: true is only allowed for int4 (u4 codes), not ${spec.format.kind}`);
  }
  const rank = spec.lowRank.rank;
  if (!Number.isInteger(rank) || rank < 0 || rank % 16 !== 0 || rank > ACT_MAX_RANK) {
    p.push(`spec.lowRank.rank: ${rank} must be a multiple of 16 in [0, ${ACT_MAX_RANK}]`);
  }
  if (!isPosInt(tile.warps) || tile.warps > ACT_MAX_WARPS) p.push(`tile.warps: ${tile.warps} must be an integer in [1, ${ACT_MAX_WARPS}]`);
  if (!isPosInt(tile.blockM) || tile.blockM % 16 !== 0 || tile.blockM > ACT_MAX_BLOCK_M) {
    p.push(`tile.blockM: ${tile.blockM} must be a multiple of 16 in [16, ${ACT_MAX_BLOCK_M}] (whole 16-row tiles)`);
  }
  const unitK = Math.max(64, spec.format.group);
  if (!isPosInt(tile.blockK) || tile.blockK % unitK !== 0 || tile.blockK > ACT_MAX_BLOCK_K) {
    p.push(`tile.blockK: ${tile.blockK} must be a multiple of 64 and of the group ${spec.format.group} (i.e. of ${unitK}) in [${unitK}, ${ACT_MAX_BLOCK_K}]`);
  }
  // sm_75 runs the fused down projection as two mma.m16n8k8 f16 (arch/mma_fp.h); Turing has no bf16 tensor cores.
  if (arch === 'sm_75' && (spec as Partial<KernelSpec>).dtype === 'bf16') {
    p.push("spec.dtype: 'bf16' needs bf16 tensor cores and arithmetic (sm_80+); allowed on sm_75: 'fp16'");
  }
  if (p.length) return p;
  const d = derive(spec, tile);
  const unitsPerStep = tile.blockK / unitK;
  if (unitsPerStep % d.warpsK !== 0) {
    p.push(
      `tile.blockK: ${tile.blockK} gives ${unitsPerStep} quantization unit(s) of ${unitK} channels per step, not a multiple of the ${d.warpsK} warps that split K ` +
        `(warps ${tile.warps} / gcd(blockM/16 = ${tile.blockM / 16}, warps) = ${d.warpsK}); allowed: blockK a multiple of ${unitK * d.warpsK}`,
    );
  }
  if (d.smemBytes > ACT_SMEM_LIMIT_BYTES) {
    p.push(`tile.warps: ${tile.warps} needs ${d.smemBytes} bytes of shared memory for the low-rank combine and the smoothing reciprocals (limit ${ACT_SMEM_LIMIT_BYTES})`);
  }
  return p;
}

/** Plans the activation kernel; throws PlanError listing every problem (see actTileProblems). */
export function planAct(
  spec: Pick<KernelSpec, 'format' | 'lowRank' | 'activation' | 'dtype'> & Partial<KernelSpec>,
  tile: ActTile,
  archOrTarget: SmArch | Target,
): ActPlan {
  const arch = archOf(archOrTarget);
  const problems = actTileProblems(spec, tile, arch);
  const uri = actUri(spec as KernelSpec, tile, arch);
  if (problems.length) throw new PlanError(`cannot plan activation kernel ${uri}: ${problems.join('; ')}`);
  const d = derive(spec, tile);
  const rank = spec.lowRank.rank;
  const halfType = CXX_HALF[spec.dtype];
  return {
    kind: 'act',
    uri,
    symbol: actSymbol(uri),
    template: 'act.cu.hbs',
    arch,
    spec: { format: spec.format, activation: spec.activation, dtype: spec.dtype, lowRank: spec.lowRank, ...(spec.epilogue ? { epilogue: spec.epilogue } : {}) },
    tile: { ...tile },
    threads: 32 * tile.warps,
    smemBytes: d.smemBytes,
    rowsPerBlock: tile.blockM,
    halfType,
    formatType: formatType(spec),
    group: spec.format.group,
    unitK: d.unitK,
    rank,
    rankChunk: d.rankChunk,
    passes: rank > 0 ? rank / d.rankChunk : 1,
    blockM: tile.blockM,
    blockK: tile.blockK,
    warpsM: d.warpsM,
    warpsK: d.warpsK,
    rowTilesIter: d.rowTilesIter,
    unitsPerBatch: d.unitsPerBatch,
    regEstimate: d.regEstimate,
  };
}

// ---- K split across blocks (act/kernel.h act_splits; layer_args.h svdq_act_partials_bytes) ----

/** The most K splits one launch uses (SVDQ_ACT_MAX_SPLITS). */
export const ACT_MAX_SPLITS = 64;

/**
 * Blocks the activation grid should reach on a target: one per SM (a full wave whatever the occupancy;
 * DESIGN.md §6 wave quantization). Hosts pass it as svdq_act_args_t.fill_blocks.
 */
export const actFillBlocks = (target: Pick<Target, 'smCount'>): number => target.smCount;


/** lora_partials bytes the launcher can use for M rows (0: no split or rank 0); mirrors svdq_act_partials_bytes. */
export function actPartialsBytes(plan: Pick<ActPlan, 'rank' | 'blockM'>, m: number, fillBlocks: number): number {
  const mBlocks = Math.ceil(m / plan.blockM);
  if (plan.rank <= 0 || fillBlocks <= mBlocks) return 0;
  const s = Math.min(ACT_MAX_SPLITS, Math.ceil(fillBlocks / mBlocks));
  return s * Math.ceil(m / 16) * 16 * plan.rank * 4;
}

/**
 * The launch grid for M × K (act/kernel.h act_splits): x = row blocks, y = K splits (split y takes
 * quantization units [y·U/S, (y+1)·U/S), U = K / unitK). `partialsBytes` defaults to what
 * actPartialsBytes provides (the harness and the export allocate that much).
 */
export function actGrid(
  plan: Pick<ActPlan, 'rank' | 'blockM' | 'blockK' | 'unitK'>,
  m: number,
  k: number,
  fillBlocks: number,
  partialsBytes = actPartialsBytes(plan, m, fillBlocks),
): { x: number; y: number; blocks: number } {
  const x = Math.ceil(m / plan.blockM);
  let y = 1;
  if (fillBlocks > x) {
    y = Math.min(Math.ceil(fillBlocks / x), Math.floor(k / plan.unitK), ACT_MAX_SPLITS); // ≥ 1 unit per split
    if (plan.rank > 0 && y > 1) y = Math.min(y, Math.floor(partialsBytes / (Math.ceil(m / 16) * 16 * plan.rank * 4)));
    y = Math.max(1, y);
  }
  return { x, y, blocks: x * y };
}

/** Bytes the K split adds (partials written once and read once by the reducing block); 0 without a split. */
export function actSplitTrafficBytes(plan: Pick<ActPlan, 'rank' | 'blockM' | 'blockK' | 'unitK'>, m: number, k: number, fillBlocks: number): number {
  const { y } = actGrid(plan, m, k, fillBlocks);
  return plan.rank > 0 && y > 1 ? 2 * y * Math.ceil(m / 16) * 16 * plan.rank * 4 : 0;
}
