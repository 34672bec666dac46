// The GEMM planner: KernelSpec × GemmTile × Target → GemmPlan, every number the template and the
// launcher need made concrete (DESIGN.md §4.1: decisions here, templates only spell them out).
// Also the tuner's two cheap helpers: static tile problems (pruning) and the bytes a plan moves.
import { isSlowInt4Target } from '../../dsl/compat.js';
import { gemmUri } from '../uri.js';
import { validateGemmTile } from '../../dsl/tiles.js';
import type { Dtype16, EpilogueOp, GemmTile, KernelSpec, QuantFormat, SmArch, Target } from '../../dsl/types.js';
import { PlanError } from './index.js';
export { gemmTraffic, type GemmTraffic } from './gemm-traffic.js';

const CXX_HALF: Record<Dtype16, string> = { fp16: '__half', bf16: '__nv_bfloat16' };
/**
 * A Nunchaku-sized reference tile: 128×128 blocks of 8 warps (warp tile 32×64, so qnext with groups
 * ≤ 64 fits), two k64 steps per block, a 3-deep cp.async ring (52 KiB, opted in), fp32 accumulation;
 * 0 spills on sm_80/86/89. Tests and examples use it; the tiles `gen` ships per spec are chosen by
 * codegen/default-tiles.ts, the tuned ones by the tuner.
 */
export const DEFAULT_GEMM_TILE: GemmTile = { blockM: 128, blockN: 128, blockK: 128, warpsM: 4, warpsN: 2, stages: 3, staging: 'smem', accum: 'f32' };

export interface EpilogueStep {
  op: EpilogueOp['op'] | 'store';
  /** The device functor the kernel calls, `<type>::apply(ctx, y)` (runtime/include/svdq/epilogue/**). */
  functor: string;
}

export interface GemmPlan {
  kind: 'gemm';
  uri: string;
  /** Launcher symbol: `svdq_` + URI with non-identifier characters replaced by `_`. */
  symbol: string;
  kernelName: string;
  template: 'gemm.cu.hbs';
  arch: SmArch;
  spec: KernelSpec;
  tile: GemmTile;
  threads: number;
  /** Dynamic shared memory: max(cp.async ring, epilogue scratch). */
  smemBytes: number;
  ringBytes: number;
  epilogueSmemBytes: number;
  /** grid.x = ceil(N / gridNPerBlock), grid.y = ceil(M / gridMPerBlock). */
  grid: { x: 'N'; y: 'M'; nPerBlock: number; mPerBlock: number };
  // Template fields (strings are C++ tokens).
  halfType: string;
  scaleType: string;
  blockM: number;
  blockN: number;
  kSteps: number;
  warpsM: number;
  warpsN: number;
  stages: number;
  staging: 'Reg' | 'Smem';
  accum: 'F32' | 'F16';
  actU4: 'true' | 'false';
  /** The main loop's 4-bit MMA (svdq::gemm::Mma): m16n8k64 INT4, Turing's four m8n8k32, or block-scaled FP4. */
  mma: GemmMma;
  /** Set when planned through the --allow-slow-int4 override (sm_90: INT4 compiles, no 4-bit fast path). */
  slowPath?: true;
  group: number;
  rank: number;
  warpTileM: number;
  warpTileN: number;
  epilogue: EpilogueStep[];
  includes: string[];
  /** svdq::gemm::ArgRules initializer, in field order. */
  argRules: string;
  /** qnext facts (0 when absent). */
  next: { group: number; unit: number; rank: number; rankChunk: number; keepOutput: boolean } | null;
  /** Rough live 32-bit registers per thread (the pruner compares it with the target's limit). */
  regEstimate: number;
}

export const gemmSymbol = (uri: string): string => `svdq_${uri.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** svdq::gemm::Mma: which 4-bit instruction the main loop issues (runtime/include/svdq/gemm/config.h). */
export type GemmMma = 'Int4' | 'Int4Turing' | 'Nvf4' | 'Mxf4';

/** The main-loop MMA for a format on a target, or why there is none (the reason names the alternatives). */
export function gemmMmaFor(kind: QuantFormat['kind'], target: Target): { mma: GemmMma } | { problem: string } {
  const mma = nativeMma(kind, target);
  if (mma) return { mma };
  const where = `${target.id} (${target.arch})`;
  if (target.arch === 'sm_90') {
    return { problem: `target: ${where} has no 4-bit tensor cores (no INT4 or FP4 mma.sync rate on Hopper); alternatives: sm_80/86/89 (INT4), sm_120a/121a (NVFP4, MXFP4), or W8A8/FP8 on Hopper` };
  }
  if (target.arch === 'sm_100a') {
    return { problem: `target: ${where} reaches FP4 only through tcgen05.mma, not mma.sync, and has no INT4 rate; this generator has no tcgen05 kernels — alternatives: sm_120a/121a (NVFP4, MXFP4 through mma.sync), sm_80/86/89 (INT4)` };
  }
  const ok = (['int4', 'nvfp4', 'mxfp4'] as const).filter((k) => nativeMma(k, target));
  return { problem: `spec.format.kind: '${kind}' has no 4-bit MMA on ${where} (mma4bit: [${target.mma4bit.join(', ')}]); allowed there: ${ok.length ? ok.join(', ') : 'none'}` };
}

function nativeMma(kind: QuantFormat['kind'], target: Target): GemmMma | undefined {
  const has = (m: string) => (target.mma4bit as readonly string[]).includes(m);
  if (kind === 'int4' && has('int4.m16n8k64')) return 'Int4';
  if (kind === 'int4' && has('int4.m8n8k32')) return 'Int4Turing';
  if (kind === 'nvfp4' && has('fp4.mxf4nvf4.4x.ue4m3')) return 'Nvf4';
  if (kind === 'mxfp4' && has('fp4.mxf4.2x.ue8m0')) return 'Mxf4';
  return undefined;
}

/** FP4 scale bytes per row and 64-wide k slice (docs/layouts.md); 0 for INT4. */
const fp4ScaleBytes = (f: QuantFormat): number => (f.kind === 'nvfp4' ? 4 : f.kind === 'mxfp4' ? 2 : 0);

/** The C++ format of the qnext quantizer (runtime/include/svdq/quant/int4.h, fp4.h). */
function quantFormatCxx(q: Extract<EpilogueOp, { op: 'qnext' }>): string {
  if (q.format.kind === 'nvfp4') return 'svdq::quant::Nvfp4';
  if (q.format.kind === 'mxfp4') return 'svdq::quant::Mxfp4';
  return `svdq::quant::Int4<${q.activation.unsigned}, ${CXX_HALF[q.format.scaleDtype]}, ${q.format.group}>`;
}

function qnextOp(spec: KernelSpec): Extract<EpilogueOp, { op: 'qnext' }> | undefined {
  return spec.epilogue.find((o): o is Extract<EpilogueOp, { op: 'qnext' }> => o.op === 'qnext');
}

/** Largest divisor of n that is ≤ 4: 16-rank tiles the next-layer down projection accumulates at once. */
const rankChunk = (tiles16: number): number => [4, 3, 2, 1].find((c) => tiles16 % c === 0) ?? 1;

/** Structural rules of this kernel family beyond dsl/tiles.ts (each names its knob). */
/**
 * Whether arch/mma_fp.h's `mma_m16n8k16_f32<F16>` compiles for sm_75: it does, as two mma.m16n8k8 f16
 * (Turing has those), so the fused low-rank MMAs (lowrank/up.h, lowrank/down.h) are allowed at any rank.
 */
const TURING_16BIT_MMA = true;

function familyProblems(spec: KernelSpec, tile: GemmTile, target: Target): string[] {
  const out: string[] = [];
  const mma = gemmMmaFor(spec.format.kind, target);
  if ('problem' in mma) out.push(mma.problem);
  const fp4 = spec.format.kind !== 'int4';
  if (spec.activation.unsigned && !spec.epilogue.some((o) => o.op === 'bias')) {
    out.push('spec.epilogue: u4 activations (spec.activation.unsigned) need a bias op — the shift correction lives in the bias (docs/numerics.md)');
  }
  if (fp4 && spec.activation.unsigned) out.push(`spec.activation.unsigned: ${spec.format.kind} activations are signed e2m1 codes (allowed: false)`);
  if (fp4 && tile.accum !== 'f32') out.push(`tile.accum: '${tile.accum}' — the block-scaled FP4 MMA accumulates in fp32 (allowed: 'f32')`);
  if (target.arch === 'sm_75') {
    if (spec.dtype === 'bf16') out.push("spec.dtype: 'bf16' needs bf16 tensor cores (sm_80+); allowed on sm_75: 'fp16'");
    if (spec.format.kind === 'int4' && spec.format.scaleDtype === 'bf16') out.push("spec.format.scaleDtype: 'bf16' needs bf16 arithmetic (sm_80+); allowed on sm_75: 'fp16'");
    if (tile.staging === 'smem') out.push("tile.staging: 'smem' needs cp.async (sm_80+); allowed on sm_75: 'reg'");
    if (!TURING_16BIT_MMA) {
      const q = qnextOp(spec);
      if (spec.lowRank.rank > 0 && spec.epilogue.some((o) => o.op === 'lowrank')) {
        out.push(`spec.lowRank.rank: ${spec.lowRank.rank} — the fused low-rank up needs mma.m16n8k16 f16 (arch/mma_fp.h wraps it for sm_80+ only); on sm_75 only rank 0 is allowed`);
      }
      if (q && q.lowRankDown.rank > 0) {
        out.push(`spec.epilogue[qnext].lowRankDown.rank: ${q.lowRankDown.rank} — the fused next-layer down needs mma.m16n8k16 f16 (sm_80+ in arch/mma_fp.h); on sm_75 only rank 0 is allowed`);
      }
    }
  }
  const q = qnextOp(spec);
  if (q) {
    const nm = gemmMmaFor(q.format.kind, target);
    if ('problem' in nm) out.push(`spec.epilogue[qnext]: ${nm.problem}`);
    if (target.arch === 'sm_75' && q.format.kind === 'int4' && q.format.scaleDtype === 'bf16') out.push("spec.epilogue[qnext].format.scaleDtype: 'bf16' needs sm_80+; allowed on sm_75: 'fp16'");
    if (q.format.kind !== 'int4' && q.activation.unsigned) out.push(`spec.epilogue[qnext].activation.unsigned: ${q.format.kind} codes are signed e2m1 (allowed: false)`);
    const unit = Math.max(64, q.format.group);
    const warpN = tile.blockN / tile.warpsN;
    if (warpN % unit !== 0) {
      out.push(`tile.blockN: warp tile N = blockN/warpsN = ${warpN} must be a multiple of max(64, next group ${q.format.group}) = ${unit} for qnext`);
    }
    if (q.lowRankDown.rank % 16 !== 0) out.push(`spec.epilogue[qnext].lowRankDown.rank: ${q.lowRankDown.rank} must be a multiple of 16`);
  }
  if (spec.lowRank.rank % 16 !== 0) out.push(`spec.lowRank.rank: ${spec.lowRank.rank} must be a multiple of 16`);
  return out;
}

interface Derived {
  wtm: number;
  wtn: number;
  kSteps: number;
  sps: number;
  threads: number;
  ringBytes: number;
  epilogueSmemBytes: number;
  regEstimate: number;
  next: GemmPlan['next'];
}

function derive(spec: KernelSpec, tile: GemmTile): Derived {
  const wtm = tile.blockM / tile.warpsM / 16;
  const wtn = tile.blockN / tile.warpsN / 16;
  const kSteps = tile.blockK / 64;
  const group = spec.format.group;
  const fp4 = fp4ScaleBytes(spec.format);
  const sps = group === 32 && !fp4 ? 2 : 1;
  const threads = 32 * tile.warpsM * tile.warpsN;
  const stageBytes = kSteps * (tile.blockM / 16 + tile.blockN / 16) * (512 + (fp4 ? 16 * fp4 : 32 * sps));
  const ringBytes = tile.staging === 'smem' ? tile.stages * stageBytes : 0;
  const q = qnextOp(spec);
  let next: GemmPlan['next'] = null;
  let epilogueSmemBytes = 0;
  if (q) {
    const r16 = q.lowRankDown.rank / 16;
    next = { group: q.format.group, unit: Math.max(64, q.format.group), rank: q.lowRankDown.rank, rankChunk: rankChunk(Math.max(r16, 1)), keepOutput: q.keepOutput };
    if (next.rank > 0 && tile.warpsN > 1) epilogueSmemBytes = tile.warpsM * wtm * next.rankChunk * 1024;
  }
  // The low-rank up reads its fragments per warp (lowrank/up.h): no shared memory.
  // Registers: accumulators (+ the int32 group partial when G = 128), fragments in flight, epilogue temporaries.
  const accRegs = (tile.accum === 'f32' ? 8 : 4) * wtm * wtn + (group === 128 && !fp4 ? 8 * wtm * wtn : 0);
  const stepFrag = 4 * wtm + 4 * wtn + sps * (wtm + 2 * wtn);
  const fragRegs = tile.staging === 'reg' ? tile.stages * kSteps * stepFrag : stepFrag;
  const mainloop = accRegs + fragRegs + 24;
  const hasLowRank = spec.epilogue.some((o) => o.op === 'lowrank') && spec.lowRank.rank > 0;
  // Epilogue: the fp32 tile (+ low-rank A fragments); for qnext the tile shrinks to RN16 pairs, then
  // either the quantizer's unit values or the down accumulators are live on top of them.
  const epiTile = 8 * wtm * wtn + (hasLowRank ? 4 * wtm + 4 : 0);
  const epiNext = next ? 4 * wtm * wtn + Math.max(32 * (next.unit / 64) + 16, next.rank > 0 ? 8 * wtm * next.rankChunk + 8 : 0) : 0;
  const epi = Math.max(epiTile, epiNext) + 24;
  // ptxas keeps more live than this count (it schedules all MMAs of a step before their dequantization):
  // calibrated on sm_89 (nvcc 13.0) builds, actual ≈ 1.25 × count across warp tiles 16×32 … 64×64.
  const regEstimate = Math.ceil(1.25 * Math.max(mainloop, epi));
  return { wtm, wtn, kSteps, sps, threads, ringBytes, epilogueSmemBytes, regEstimate, next };
}

/**
 * Cheap static checks for the tuner's pruner: structural rules, threads, shared memory and a register
 * estimate against the target. Empty = plannable (compiling may still report spills).
 */
export function gemmTileProblems(spec: KernelSpec, tile: GemmTile, target: Target): string[] {
  const out: string[] = [];
  try {
    validateGemmTile(tile, spec);
  } catch (e) {
    out.push((e as Error).message);
    return out;
  }
  out.push(...familyProblems(spec, tile, target));
  const d = derive(spec, tile);
  if (d.threads > 1024) out.push(`tile.warpsM×warpsN: ${d.threads} threads per block exceed 1024`);
  const smem = Math.max(d.ringBytes, d.epilogueSmemBytes);
  if (smem > target.smemPerBlockKiB * 1024) {
    out.push(`tile.stages/blockK/staging: ${smem} B of shared memory per block exceed ${target.id}'s ${target.smemPerBlockKiB} KiB`);
  }
  if (d.regEstimate > target.maxRegsPerThread) {
    out.push(`tile.blockM/blockN/warps: about ${d.regEstimate} registers per thread (warp tile ${16 * d.wtm}×${16 * d.wtn}, ${tile.accum} accumulation, ${tile.staging} staging × ${tile.stages} stages) exceed ${target.maxRegsPerThread}`);
  }
  return out;
}

export function planGemm(spec: KernelSpec, tile: GemmTile, target: Target): GemmPlan {
  const fmt = spec.format;
  const problems = gemmTileProblems(spec, tile, target);
  if (problems.length) throw new PlanError(`cannot plan GEMM ${gemmUri(spec, tile, target.arch)} for ${target.id}: ${problems.join('; ')}`);
  const d = derive(spec, tile);
  const uri = gemmUri(spec, tile, target.arch);
  const symbol = gemmSymbol(uri);
  const hasLowRank = spec.lowRank.rank > 0 && spec.epilogue.some((o) => o.op === 'lowrank');
  const q = qnextOp(spec);
  const storesY = !q || q.keepOutput;
  const epilogue: EpilogueStep[] = [];
  const includes = new Set<string>(['svdq/gemm/block.h', 'svdq/gemm/launch.h']);
  for (const op of spec.epilogue) {
    if (op.op === 'cscale') {
      epilogue.push({ op: 'cscale', functor: 'svdq::epilogue::ChannelScale<Cfg>' });
      includes.add('svdq/epilogue/channel_scale.h');
    } else if (op.op === 'bias') {
      epilogue.push({ op: 'bias', functor: 'svdq::epilogue::Bias<Cfg>' });
      includes.add('svdq/epilogue/bias.h');
    } else if (op.op === 'lowrank') {
      if (!hasLowRank) continue; // rank 0 compiles the branch out
      epilogue.push({ op: 'lowrank', functor: 'svdq::lowrank::Up<Cfg>' });
      includes.add('svdq/lowrank/up.h');
    } else if (op.op === 'silu' || op.op === 'gelu') {
      epilogue.push({ op: op.op, functor: `svdq::epilogue::${op.op === 'silu' ? 'Silu' : 'Gelu'}<Cfg>` });
      includes.add('svdq/epilogue/activation.h');
    }
  }
  if (storesY) {
    epilogue.push({ op: 'store', functor: 'svdq::epilogue::Store<Cfg>' });
    includes.add('svdq/epilogue/store.h');
  }
  if (q && d.next) {
    const nf = quantFormatCxx(q);
    epilogue.push({ op: 'qnext', functor: `svdq::epilogue::QNext<Cfg, ${nf}, ${d.next.rank}, ${d.next.rankChunk}>` });
    includes.add('svdq/epilogue/qnext.h');
  }
  const rules = [
    fmt.group,
    spec.lowRank.rank,
    spec.epilogue.some((o) => o.op === 'bias'),
    hasLowRank,
    storesY,
    Boolean(q),
    d.next?.group ?? 0,
    d.next?.unit ?? 0,
    d.next?.rank ?? 0,
    tile.blockM,
    tile.blockN,
    fmt.kind === 'nvfp4',
  ];
  return {
    kind: 'gemm',
    ...(isSlowInt4Target(target) ? { slowPath: true as const } : {}),
    uri,
    symbol,
    kernelName: `${symbol}_kernel`,
    template: 'gemm.cu.hbs',
    arch: target.arch,
    spec,
    tile,
    threads: d.threads,
    smemBytes: Math.max(d.ringBytes, d.epilogueSmemBytes),
    ringBytes: d.ringBytes,
    epilogueSmemBytes: d.epilogueSmemBytes,
    grid: { x: 'N', y: 'M', nPerBlock: tile.blockN, mPerBlock: tile.blockM },
    halfType: CXX_HALF[spec.dtype],
    scaleType: CXX_HALF[fmt.kind === 'int4' ? fmt.scaleDtype : spec.dtype], // FP4: unused (byte scales)
    blockM: tile.blockM,
    blockN: tile.blockN,
    kSteps: d.kSteps,
    warpsM: tile.warpsM,
    warpsN: tile.warpsN,
    stages: tile.stages,
    staging: tile.staging === 'reg' ? 'Reg' : 'Smem',
    accum: tile.accum === 'f32' ? 'F32' : 'F16',
    actU4: spec.activation.unsigned ? 'true' : 'false',
    mma: (gemmMmaFor(fmt.kind, target) as { mma: GemmMma }).mma,
    group: fmt.group,
    rank: spec.lowRank.rank,
    warpTileM: 16 * d.wtm,
    warpTileN: 16 * d.wtn,
    epilogue,
    includes: [...includes],
    argRules: rules.map(String).join(', '),
    next: d.next,
    regEstimate: d.regEstimate,
  };
}

