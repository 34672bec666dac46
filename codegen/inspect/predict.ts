// Predicted cycles of one k64 step (one m16n8k64 MMA's share of the main loop) on one SM sub-partition:
// max(tensor, issue, per-pipe), from the static counts and the issue model of dsl/targets.ts. These are
// predictions from static counts (an upper bound on what issues), not measurements. Also blocks per SM.
import { ISSUE_MODELS, ISSUE_PIPES, tensorCyclesPerMma, type IssueModel, type IssuePipe } from '../../dsl/targets.js';
import type { SmArch, Target } from '../../dsl/types.js';
import type { InstrClass } from './classify.js';

export interface Prediction {
  /** What one step is: one m16n8k64 MMA of the GEMM main loop, or 64 elements of the activation loop. */
  unit: 'm16n8k64' | '64 elements';
  /** 0 for the activation loop (its low-rank MMAs are not modelled). */
  tensorCyclesPerK64: number;
  issueCyclesPerK64: number;
  pipeCyclesPerK64: Record<IssuePipe, number>;
  /** 'tensor', 'issue' or a pipe name: the largest of the above. */
  bound: string;
  /** max(all) / tensor (GEMM only): 1.0 = tensor-bound. */
  vsTensor: number | null;
  label: 'predicted';
}

const PIPE_CLASSES: Record<IssuePipe, InstrClass[]> = {
  fp32: ['fp32'],
  int: ['int'],
  conv: ['conv'],
  mufu: ['mufu'],
  lsu: ['ldg', 'ldgsts', 'lds', 'sts'],
  fp16x2: ['fp16x2'],
};

export function issueModelOf(arch: SmArch): IssueModel {
  const m = ISSUE_MODELS[arch];
  if (!m) throw new Error(`no issue model for ${arch} (dsl/targets.ts ISSUE_MODELS)`);
  return m;
}

/** `perStep`: instructions per step by class; `total`: all instructions per step. */
export function predict(target: Target, perStep: Record<InstrClass, number>, total: number, unit: Prediction['unit']): Prediction {
  const model = issueModelOf(target.arch);
  const tensor = unit === 'm16n8k64' ? tensorCyclesPerMma(target, model).cycles : 0;
  const issue = total / model.issuePerCycle;
  const pipes = {} as Record<IssuePipe, number>;
  for (const p of ISSUE_PIPES) {
    const n = PIPE_CLASSES[p].reduce((s, c) => s + (perStep[c] ?? 0), 0);
    pipes[p] = (n * 32) / (model.pipeRates[p] / model.subPartitions);
  }
  const all: Array<[string, number]> = [['tensor', tensor], ['issue', issue], ...ISSUE_PIPES.map((p): [string, number] => [p, pipes[p]])];
  const [bound, worst] = all.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { unit, tensorCyclesPerK64: tensor, issueCyclesPerK64: issue, pipeCyclesPerK64: pipes, bound, vsTensor: tensor > 0 ? worst / tensor : null, label: 'predicted' };
}

export interface Occupancy {
  blocksPerSm: number;
  /** What limits it: 'registers', 'shared memory', 'threads' or 'blocks'. */
  limiter: string;
}

/**
 * Resident blocks per SM from the target's limits: registers (per warp, rounded up to 256), shared
 * memory (static + dynamic + 1 KiB the runtime reserves per block on CC ≥ 8.0, CUDA occupancy
 * calculator), threads and the block limit.
 */
export function occupancy(target: Target, threads: number, registers: number, smemBytes: number): Occupancy {
  const warps = Math.ceil(threads / 32);
  const regsPerWarp = Math.ceil((Math.max(registers, 1) * 32) / 256) * 256;
  const byRegs = Math.floor(target.regsPerSm / (regsPerWarp * warps));
  const reserve = target.arch === 'sm_75' ? 0 : 1024;
  const smem = smemBytes + reserve;
  const bySmem = smemBytes > 0 || reserve > 0 ? Math.floor((target.smemPerSmKiB * 1024) / Math.ceil(smem / 128) / 128) : Infinity;
  const byThreads = Math.floor(target.maxThreadsPerSm / (warps * 32));
  const limits: Array<[string, number]> = [['registers', byRegs], ['shared memory', bySmem], ['threads', byThreads], ['blocks', target.maxBlocksPerSm]];
  const [limiter, blocksPerSm] = limits.reduce((a, b) => (b[1] < a[1] ? b : a));
  return { blocksPerSm, limiter };
}
