// The roofline cost model used when there is no GPU (or `--mode model`). Every number it returns is a
// prediction and is labelled so. Inputs are GPU facts from dsl/targets.ts, the tile, the kernel's
// occupancy (ptxas report, or the planner's estimate before compiling) and the global-memory bytes the
// kernel moves (the planner's traffic formulas, which the emulator's counters check).
// Formulas and their sources: docs/tuning.md "Cost model".
import { cacheFacts } from '../dsl/targets.js';
import type { GemmTile, Target } from '../dsl/types.js';
import type { Bound } from './records.js';

/** Kernel launch plus ramp-up/drain per kernel on the GPU, µs (assumed; docs/tuning.md). */
export const LAUNCH_US = 3;
/** Average DRAM latency a block's in-flight loads must cover, ns (assumed; Little's law). */
export const DRAM_LATENCY_NS = 600;
/** Resident warps per SM needed to keep the tensor pipes issuing (4 sub-partitions × 2, assumed). */
export const WARPS_TO_SATURATE = 8;
/** SM sub-partitions (warp schedulers), each issuing one instruction per clock (sm_75…sm_120; sass-inspection.md). */
export const SUB_PARTITIONS = 4;
/** Operations of one m16n8k64 4-bit MMA (2·16·8·64). */
export const OPS_PER_MMA = 16384;

export interface Problem {
  m: number;
  n: number;
  k: number;
}

export interface Occupancy {
  /** Resident blocks per SM (≥ 1; 0 means the kernel cannot launch). */
  blocksPerSm: number;
  warpsPerBlock: number;
}

export interface Traffic {
  /** Bytes the kernel's loads and stores move between L2 and the SMs (what the emulator counts). */
  bytes: number;
  /** Bytes that must cross DRAM at least once (every tensor read or written once). */
  uniqueBytes: number;
  /** Bytes one pipeline stage of one block has in flight (prefetch depth for latency hiding). */
  bytesPerStage: number;
  /** Bytes crossing L2→SM once L1 has absorbed a block's repeated requests (default: bytes). */
  l2Bytes?: number;
  /** Unique bytes that are read, i.e. can be re-read: write-only outputs excluded (default: uniqueBytes). */
  rereadFootprint?: number;
  /** Register staging: bytes the warps of all blocks request from L1 (served at L1 bandwidth). */
  l1Bytes?: number;
  /** DRAM bytes from the wave-by-wave footprint (estimate.ts waveDramBytes); default: the footprint rule below. */
  dramBytes?: number;
}

/** Per-MMA cycles on one sub-partition: the three limits of the main loop (docs/tuning.md). */
export interface MainLoopCycles {
  tensor: number;
  /** Instructions per MMA: one issue slot each. */
  issue: number;
  /** The busiest non-tensor pipe, and which. */
  pipe: number;
  pipeClass: string;
  /** Where the counts come from: 'sass', 'ptx', or 'static' (before compiling: tensor cycles / fragment reuse). */
  counts: 'sass' | 'ptx' | 'static';
  perMma: number;
}

/** One kernel, predicted. */
export interface KernelEstimate {
  name: string;
  label: 'predicted';
  timeUs: number;
  flops: number;
  bytes: number;
  /** Parts of the time (µs): 4-bit tensor work, 16-bit low-rank tensor work, memory, launch. */
  tensorUs: number;
  lowrankUs: number;
  memoryUs: number;
  launchUs: number;
  /** Main loop: issue-slot time and busiest-pipe time (0 for kernels without a modelled main loop). */
  issueUs: number;
  pipeUs: number;
  pipeClass?: string;
  bound: Bound;
  waves: number;
  mainLoop?: MainLoopCycles;
}

/** Peak 4-bit tensor rate in FLOP/s for a format kind on a target (0 when it has none). */
export function peak4BitFlops(target: Target, kind: 'int4' | 'nvfp4' | 'mxfp4'): number {
  const tflops = kind === 'int4' ? target.tensorTflops.int4 : target.tensorTflops.fp4;
  return (tflops ?? 0) * 1e12;
}

/** 16-bit (FP32-accumulate) tensor rate in FLOP/s for the layer dtype. */
export function peak16BitFlops(target: Target, dtype: 'fp16' | 'bf16'): number {
  const t = target.tensorTflops[dtype] || target.tensorTflops.fp16;
  return t * 1e12;
}

/** Blocks per SM from the per-SM limits (threads, blocks, registers, shared memory). */
export function blocksPerSm(target: Target, threads: number, registersPerThread: number, smemBytesPerBlock: number): number {
  // Registers are allocated per warp in units of 256 (CUDA occupancy calculator's granularity).
  const regsPerWarp = Math.ceil((Math.max(registersPerThread, 1) * 32) / 256) * 256;
  const warps = Math.ceil(threads / 32);
  const byRegs = Math.floor(target.regsPerSm / (regsPerWarp * warps));
  const byThreads = Math.floor(target.maxThreadsPerSm / threads);
  const bySmem = smemBytesPerBlock > 0 ? Math.floor((target.smemPerSmKiB * 1024) / smemBytesPerBlock) : Infinity;
  if (smemBytesPerBlock > target.smemPerBlockKiB * 1024 || registersPerThread > target.maxRegsPerThread) return 0;
  return Math.max(0, Math.min(target.maxBlocksPerSm, byThreads, byRegs, bySmem));
}

/**
 * Busy time of the slowest SM, in "block-units", for `blocks` equal blocks spread over the SMs with
 * `perSm` resident at a time: full waves keep every SM at `perSm` blocks, the last wave's remainder
 * spreads one block per SM first. Multiplying by one block's time at the SM's full rate gives the
 * time — this is the wave quantization step.
 */
export function slowestSmBlocks(blocks: number, smCount: number, perSm: number): { units: number; waves: number } {
  const slots = smCount * perSm;
  const waves = Math.ceil(blocks / slots);
  const rest = blocks - (waves - 1) * slots;
  return { units: (waves - 1) * perSm + Math.ceil(rest / smCount), waves };
}

/** Tensor cycles of one m16n8k64 on one sub-partition: 16384 ops / (4-bit ops per SM per clock / 4). */
export function tensorCyclesPerMma(target: Target, peak4Bit: number): number {
  const opsPerSmClk = peak4Bit / (target.smCount * target.boostClockMHz * 1e6);
  return opsPerSmClk > 0 ? OPS_PER_MMA / (opsPerSmClk / SUB_PARTITIONS) : Infinity;
}

/**
 * Main-loop cycles per MMA: from the compiled kernel (the inspector's issue model, codegen/inspect:
 * max of tensor, issue — every instruction one slot — and per-pipe cycles, a pipe of `rate` lanes per SM
 * per clock taking 32 / (rate/4) cycles per warp instruction), or, before compiling, the static rule:
 * tensor cycles over the warp tile's fragment reuse, no pipe term.
 */
export function mainLoopCycles(
  target: Target,
  peak4Bit: number,
  compiled: { counts: 'sass' | 'ptx'; perMma: number; cycles: { tensor: number; issue: number; pipe: number; pipeClass: string } } | undefined,
  warpTile: { warpM: number; warpN: number },
): MainLoopCycles {
  if (!compiled) {
    const tensor = tensorCyclesPerMma(target, peak4Bit);
    const reuse = fragmentReuseEfficiency(warpTile.warpM, warpTile.warpN);
    return { tensor, issue: tensor / reuse, pipe: 0, pipeClass: 'none', counts: 'static', perMma: 0 };
  }
  const c = compiled.cycles;
  return { tensor: c.tensor, issue: c.issue, pipe: c.pipe, pipeClass: c.pipeClass, counts: compiled.counts, perMma: compiled.perMma };
}

/** Fraction of the tensor pipe a warp tile can keep busy: MMAs per fragment load, capped at 1. */
export function fragmentReuseEfficiency(warpM: number, warpN: number): number {
  const aFrags = warpM / 16; // m16 A fragments per k-step
  const bFrags = warpN / 8; // n8 B fragments per k-step
  return Math.min(1, (aFrags * bFrags) / (aFrags + bFrags));
}

export interface GemmModelInput {
  target: Target;
  problem: Problem;
  tile: GemmTile;
  occupancy: Occupancy;
  traffic: Traffic;
  /** FLOP/s of the 4-bit MMA and of the 16-bit MMA used by the low-rank epilogue. */
  peak4Bit: number;
  peak16Bit: number;
  /** Low-rank up-projection rank in the epilogue (0 = none) and the fused next-layer down rank. */
  rankUp: number;
  rankNextDown: number;
  /** Main-loop cycles per MMA (mainLoopCycles); default: the static fragment-reuse estimate. */
  cycles?: MainLoopCycles;
  /** Global-memory 4-bit MMAs (m16n8k64) one block runs in its main loop. */
  mmasPerBlock?: number;
}

/** The GEMM kernel: main loop (tensor/issue/pipe) with wave quantization, low-rank epilogue, memory, launch. */
export function estimateGemm(x: GemmModelInput): KernelEstimate {
  const { target, problem: p, tile: t, occupancy: occ } = x;
  if (occ.blocksPerSm < 1) return unlaunchable('gemm', x.traffic.bytes);
  const blocksM = Math.ceil(p.m / t.blockM);
  const blocksN = Math.ceil(p.n / t.blockN);
  const kPadded = Math.ceil(p.k / t.blockK) * t.blockK;
  const { units, waves } = slowestSmBlocks(blocksM * blocksN, target.smCount, occ.blocksPerSm);
  const warpsPerSm = occ.blocksPerSm * occ.warpsPerBlock;
  // Too few resident warps cannot hide the MMA and load latencies (assumed; docs/tuning.md).
  const latency = Math.min(1, warpsPerSm / WARPS_TO_SATURATE);
  const cycles = x.cycles ?? mainLoopCycles(target, x.peak4Bit, undefined, { warpM: t.blockM / t.warpsM, warpN: t.blockN / t.warpsN });
  const clock = target.boostClockMHz * 1e6;
  const mmas = x.mmasPerBlock ?? (2 * t.blockM * t.blockN * kPadded) / OPS_PER_MMA;
  // One block's main loop on a whole SM: its MMAs spread over the 4 sub-partitions.
  const loopUs = (perMma: number) => ((units * mmas * perMma) / (SUB_PARTITIONS * clock * latency)) * 1e6;
  const tensorUs = Number.isFinite(cycles.tensor) ? loopUs(cycles.tensor) : Infinity;
  const issueUs = loopUs(cycles.issue);
  const pipeUs = loopUs(cycles.pipe);
  const perSm16 = x.peak16Bit / target.smCount;
  const blockFlops16 = 2 * t.blockM * t.blockN * (x.rankUp + x.rankNextDown);
  const lowrankUs = blockFlops16 > 0 ? ((units * blockFlops16) / (perSm16 * latency)) * 1e6 : 0;
  const memoryUs = memoryTimeUs(target, x.traffic, occ.blocksPerSm * Math.max(1, t.stages - 1));
  const flops = 2 * p.m * p.n * p.k + 2 * p.m * p.n * (x.rankUp + x.rankNextDown);
  const mainUs = Math.max(tensorUs, issueUs, pipeUs);
  // The main loop and the epilogue run one after the other inside a block. With ≥ 2 stages the next
  // stage's loads overlap the current stage's MMAs; with one stage they take turns.
  const busyUs = t.stages >= 2 ? Math.max(mainUs + lowrankUs, memoryUs) : mainUs + lowrankUs + memoryUs;
  // Bytes reported: what crosses L2→SM (after L1 reuse), the level the memory term prices.
  const est = finish('gemm', busyUs, { tensorUs, lowrankUs, memoryUs, issueUs, pipeUs }, flops, x.traffic.l2Bytes ?? x.traffic.bytes, waves);
  return { ...est, mainLoop: cycles, ...(pipeUs > 0 ? { pipeClass: cycles.pipeClass } : {}) };
}

export interface ActModelInput {
  target: Target;
  problem: { m: number; k: number };
  blockM: number;
  blockK: number;
  occupancy: Occupancy;
  traffic: Traffic;
  peak16Bit: number;
  /** Down-projection rank computed in this kernel (0 = quantize only). */
  rank: number;
}

/** The activation kernel: reads X once, writes codes, scales and X·L1; usually memory bound. */
export function estimateAct(x: ActModelInput): KernelEstimate {
  const { target, problem: p, occupancy: occ } = x;
  if (occ.blocksPerSm < 1) return unlaunchable('act', x.traffic.bytes);
  // A block owns whole rows: it walks all of K in blockK steps.
  const blocks = Math.ceil(p.m / x.blockM);
  const { units, waves } = slowestSmBlocks(blocks, target.smCount, occ.blocksPerSm);
  const issue = Math.min(1, (occ.blocksPerSm * occ.warpsPerBlock) / WARPS_TO_SATURATE);
  const blockFlops = 2 * x.blockM * p.k * x.rank;
  const lowrankUs = blockFlops > 0 ? ((units * blockFlops) / ((x.peak16Bit / target.smCount) * issue)) * 1e6 : 0;
  const memoryUs = memoryTimeUs(target, x.traffic, occ.blocksPerSm);
  return finish('act', Math.max(lowrankUs, memoryUs), { tensorUs: 0, lowrankUs, memoryUs, issueUs: 0, pipeUs: 0 }, 2 * p.m * p.k * x.rank, x.traffic.bytes, waves);
}

/** A plain 16-bit GEMM (the unfused low-rank branch): ideal roofline at the 16-bit rate. */
export function estimatePlain16(target: Target, name: string, flops: number, bytes: number, peak16Bit: number): KernelEstimate {
  const lowrankUs = (flops / peak16Bit) * 1e6;
  const memoryUs = (bytes / (target.dramGBps * 1e9)) * 1e6;
  return finish(name, Math.max(lowrankUs, memoryUs), { tensorUs: 0, lowrankUs, memoryUs, issueUs: 0, pipeUs: 0 }, flops, bytes, 1);
}

/**
 * Memory time: DRAM for the bytes that must cross it (plus the re-reads of the read footprint when it
 * exceeds L2; write-only outputs are not re-read), L2→SM at the GPU's L2 bandwidth for what L1 did not
 * absorb, L1 at its per-SM bandwidth for register-staged requests; DRAM slowed when the bytes in flight
 * per SM cannot cover DRAM latency (Little's law).
 */
export function memoryTimeUs(target: Target, traffic: Traffic, stagesInFlightPerSm: number): number {
  const dram = target.dramGBps * 1e9;
  const facts = cacheFacts(target);
  const l2Capacity = target.l2MiB * 1024 * 1024;
  const l2Bytes = traffic.l2Bytes ?? traffic.bytes;
  const footprint = traffic.rereadFootprint ?? traffic.uniqueBytes;
  // Re-reads beyond the unique bytes hit L2 when the re-read operands fit in it.
  const rereads = Math.max(0, l2Bytes - traffic.uniqueBytes);
  const dramBytes = traffic.dramBytes ?? traffic.uniqueBytes + (footprint > l2Capacity ? rereads * (1 - l2Capacity / footprint) : 0);
  const needInFlight = (dram / target.smCount) * DRAM_LATENCY_NS * 1e-9;
  const inFlight = traffic.bytesPerStage * stagesInFlightPerSm;
  const latencyEfficiency = inFlight > 0 ? Math.min(1, inFlight / needInFlight) : 1;
  const dramUs = (dramBytes / (dram * latencyEfficiency)) * 1e6;
  const l2Us = (l2Bytes / (facts.l2BandwidthGBs * 1e9)) * 1e6;
  const l1Us = traffic.l1Bytes ? (traffic.l1Bytes / (facts.l1BytesPerClkPerSm * target.smCount * target.boostClockMHz * 1e6)) * 1e6 : 0;
  return Math.max(dramUs, l2Us, l1Us);
}

type Parts = { tensorUs: number; lowrankUs: number; memoryUs: number; issueUs: number; pipeUs: number };

function finish(
  name: string,
  busyUs: number,
  parts: Parts,
  flops: number,
  bytes: number,
  waves: number,
): KernelEstimate {
  const timeUs = busyUs + LAUNCH_US;
  return { name, label: 'predicted', timeUs, flops, bytes, ...parts, launchUs: LAUNCH_US, bound: boundOf({ ...parts, launchUs: LAUNCH_US }), waves };
}

/** The bound is the largest part of the time (tensor = 'compute', issue slots = 'issue', a pipe = 'pipe'). */
export function boundOf(parts: { tensorUs: number; lowrankUs: number; memoryUs: number; launchUs: number; issueUs?: number; pipeUs?: number }): Bound {
  const ranked: [Bound, number][] = [
    ['compute', parts.tensorUs],
    ['issue', parts.issueUs ?? 0],
    ['pipe', parts.pipeUs ?? 0],
    ['lowrank', parts.lowrankUs],
    ['memory', parts.memoryUs],
    ['launch', parts.launchUs],
  ];
  return ranked.reduce((best, c) => (c[1] > best[1] ? c : best))[0];
}

function unlaunchable(name: string, bytes: number): KernelEstimate {
  return { name, label: 'predicted', timeUs: Infinity, flops: 0, bytes, tensorUs: Infinity, lowrankUs: 0, memoryUs: 0, launchUs: LAUNCH_US, issueUs: 0, pipeUs: 0, bound: 'compute', waves: 0 };
}

/** Sum of a layer's kernels: time, flops, bytes; the bound of the kernel that dominates. */
export interface LayerEstimate {
  label: 'predicted';
  timeUs: number;
  tflops: number;
  bytes: number;
  bound: Bound;
  percentOfPeak: number;
  kernels: KernelEstimate[];
}

export function combineKernels(kernels: KernelEstimate[], usefulFlops: number, peak4Bit: number): LayerEstimate {
  const timeUs = kernels.reduce((s, k) => s + k.timeUs, 0);
  const bytes = kernels.reduce((s, k) => s + k.bytes, 0);
  const sum = (f: (k: KernelEstimate) => number) => kernels.reduce((s, k) => s + f(k), 0);
  const bound = boundOf({
    tensorUs: sum((k) => (k.bound === 'compute' ? k.timeUs - k.launchUs : 0)),
    issueUs: sum((k) => (k.bound === 'issue' ? k.timeUs - k.launchUs : 0)),
    pipeUs: sum((k) => (k.bound === 'pipe' ? k.timeUs - k.launchUs : 0)),
    lowrankUs: sum((k) => (k.bound === 'lowrank' ? k.timeUs - k.launchUs : 0)),
    memoryUs: sum((k) => (k.bound === 'memory' ? k.timeUs - k.launchUs : 0)),
    launchUs: sum((k) => k.launchUs + (k.bound === 'launch' ? k.timeUs - k.launchUs : 0)),
  });
  const flopsPerS = usefulFlops / (timeUs * 1e-6);
  return {
    label: 'predicted',
    timeUs,
    tflops: flopsPerS / 1e12,
    bytes,
    bound,
    percentOfPeak: peak4Bit > 0 ? (100 * flopsPerS) / peak4Bit : 0,
    kernels,
  };
}
