// The compiled kernel's main-loop counts, as the cost model reads them: the adapter between the tuner and
// the kernel inspector (codegen/inspect, docs/inspect.md). The inspector disassembles the cached cubin
// (SASS on sm_75…sm_90) or reads the PTX where no disassembler knows the arch (sm_120a: counts 'ptx',
// which the record repeats), finds the main loop and predicts its cycles per m16n8k64 on one
// sub-partition from dsl/targets.ts's issue model. The tuner keeps only what its model uses.
import pLimit from 'p-limit';
import { inspectUri, type KernelInspection } from '../codegen/inspect/index.js';
import type { ActPlan, GemmPlan } from '../codegen/plan/index.js';
import type { Target } from '../dsl/types.js';

/** Per-MMA cycles on one sub-partition from the inspector's issue model (labelled predicted there). */
export interface LoopCycles {
  tensor: number;
  issue: number;
  /** The busiest non-tensor pipe and its cycles. */
  pipe: number;
  pipeClass: string;
}

export interface MainLoopCounts {
  /** Every instruction of the loop body per m16n8k64 (not-taken alternatives included: a stable upper bound). */
  perMma: number;
  /** Instructions per MMA by the inspector's classes. */
  byClass: Record<string, number>;
  hasMufu: boolean;
  hasDivision: boolean;
}

export interface CompiledCounts {
  uri: string;
  /** 'sass' = disassembled machine code; 'ptx' = PTX-level counts (no disassembler for this arch). */
  counts: 'sass' | 'ptx';
  mainLoop: MainLoopCounts | null;
  cycles: LoopCycles | null;
}

/** The inspector's report reduced to what the cost model reads. */
export function toCompiledCounts(i: Pick<KernelInspection, 'uri' | 'counts' | 'mainLoop' | 'predicted'>): CompiledCounts {
  const p = i.predicted;
  let cycles: LoopCycles | null = null;
  if (i.mainLoop && p && p.unit === 'm16n8k64') {
    const [pipeClass, pipe] = Object.entries(p.pipeCyclesPerK64).reduce<[string, number]>((a, b) => (b[1] > a[1] ? b : a), ['none', 0]);
    cycles = { tensor: p.tensorCyclesPerK64, issue: p.issueCyclesPerK64, pipe, pipeClass };
  }
  const m = i.mainLoop;
  return {
    uri: i.uri,
    counts: i.counts,
    mainLoop: m ? { perMma: m.perMma, byClass: { ...m.byClass }, hasMufu: m.hasMufu, hasDivision: m.hasDivision } : null,
    cycles,
  };
}

/** Counts many kernels (the signature `tune` takes, so tests can substitute their own). */
export type KernelInspector = (plans: readonly (GemmPlan | ActPlan)[], target: Target, concurrency?: number) => Promise<Map<string, CompiledCounts>>;

/** The inspector on each distinct plan (compiles hit the build cache the tuner has just filled). */
export const inspectAll: KernelInspector = async (plans, target, concurrency) => {
  const unique = [...new Map(plans.filter((p) => p.kind === 'gemm').map((p) => [p.uri, p])).values()];
  const limit = pLimit(Math.max(1, concurrency ?? 2));
  const out = await Promise.all(unique.map((p) => limit(async () => toCompiledCounts(await inspectUri(p.uri, { target, ptxWithoutDisassembler: true })))));
  return new Map(out.map((c) => [c.uri, c]));
};
