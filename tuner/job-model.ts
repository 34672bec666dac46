// The cost model's view of one job inside a tune run: compiled candidates re-estimated with ptxas's
// resources, the inspector's main-loop counts and the qnext lora_act slices; and the record's cost-model
// fields (terms, counts, default tile, the reference engine's tile as baseline, the ratio).
import { parseUri } from '../codegen/uri.js';
import type { ActPlan } from '../codegen/plan/index.js';
import type { Target } from '../dsl/types.js';
import { baselineM, type BaselinePlan } from './baseline.js';
import type { ActCandidate, GemmCandidate } from './candidates.js';
import type { CompiledCounts } from './compiled-counts.js';
import { rejectReason, type CompiledKernel } from './compile-prune.js';
import type { KernelEstimate } from './cost-model.js';
import { estimateActPlan, estimateGemmPlan } from './estimate.js';
import type { TuneJob } from './jobs.js';
import type { KernelResources, TuneRecord } from './records.js';

/** What the estimates of a job need from the run. */
export interface ModelContext {
  target: Target;
  compiled: Map<string, CompiledKernel>;
  counts: Map<string, CompiledCounts>;
  /** Layer → chosen GEMM URI so far (producers are tuned before their qnext consumers). */
  chosenByLayer: Map<string, string>;
}

/** A job's fixed comparison points. */
export interface JobPlans {
  job: TuneJob;
  defaultGemm: GemmCandidate;
  baseline?: BaselinePlan;
}
export interface Scored<C> {
  cand: C;
  resources: KernelResources;
  estimate: KernelEstimate;
}

/** Compiled, usable candidates re-estimated with ptxas's registers and shared memory, best first. */
export function survivors<C extends GemmCandidate | ActCandidate>(list: C[], ctx: ModelContext, problem: TuneJob['problem'], slices = 1): Scored<C>[] {
  const out: Scored<C>[] = [];
  for (const cand of list) {
    const k = ctx.compiled.get(cand.plan.uri);
    if (!k || rejectReason(k) !== undefined) continue;
    const use = { registers: k.resources!.registers, smemBytes: k.resources!.smemBytes };
    const estimate =
      cand.plan.kind === 'gemm'
        ? estimateGemmPlan(cand.plan, problem, ctx.target, use, gemmExtras(ctx, cand.plan.uri, slices))
        : estimateActPlan(cand.plan as ActPlan, problem, ctx.target, use);
    out.push({ cand, resources: k.resources!, estimate });
  }
  return out.sort((a, b) => a.estimate.timeUs - b.estimate.timeUs || (a.cand.plan.uri < b.cand.plan.uri ? -1 : 1));
}

/** Counts and slices for a compiled GEMM's estimate. */
export function gemmExtras(ctx: ModelContext, uri: string, slices: number) {
  return { compiled: ctx.counts.get(uri) ?? null, slices };
}

/** lora_act slices a qnext consumer sums: one per N-block of its producer's chosen (else default) tile. */
export function slicesFor(job: TuneJob, ctx: ModelContext): number {
  if (!job.producer) return 1;
  const uri = ctx.chosenByLayer.get(job.producer.layer);
  const parsed = uri ? parseUri(uri) : undefined;
  const blockN = parsed && parsed.kind === 'gemm' ? parsed.tile.blockN : job.producer.defaultBlockN;
  return Math.ceil(job.producer.n / blockN);
}

export const perMmaOf = (ctx: ModelContext, uri: string): number | undefined => ctx.counts.get(uri)?.mainLoop?.perMma;

export function mainLoopField(ctx: ModelContext, uri: string): { counts: 'sass' | 'ptx'; instrPerMma: number } | null {
  const c = ctx.counts.get(uri);
  return c?.mainLoop ? { counts: c.counts, instrPerMma: c.mainLoop.perMma } : null;
}

/** The record's cost-model fields: terms, counts, default tile, baseline (predicted, padded M) and ratio. */
export function costModelFields(
  p: JobPlans,
  ctx: ModelContext,
  c: { chosenGemm: Scored<GemmCandidate>; chosenAct?: Scored<ActCandidate>; predictedUs: number; slices: number; whyMoreInstr?: string },
): Partial<TuneRecord> {
  const { job } = p;
  const e = c.chosenGemm.estimate;
  const terms = { tensorUs: fin(e.tensorUs), issueUs: e.issueUs, pipeUs: e.pipeUs, ...(e.pipeClass ? { pipe: e.pipeClass } : {}), lowrankUs: e.lowrankUs, memoryUs: e.memoryUs, launchUs: e.launchUs };
  const def = survivors([p.defaultGemm], ctx, job.problem, c.slices)[0];
  const out: Partial<TuneRecord> = {
    countPerForward: job.countPerForward,
    predictedTimeUs: c.predictedUs,
    predictedTerms: terms,
    mainLoop: mainLoopField(ctx, c.chosenGemm.cand.plan.uri),
    ...(def
      ? { defaultTile: { gemmUri: def.cand.plan.uri, timeUs: def.estimate.timeUs, mainLoop: mainLoopField(ctx, def.cand.plan.uri), ...(c.whyMoreInstr ? { why: c.whyMoreInstr } : {}) } }
      : {}),
  };
  // The baseline is a reference point, not a candidate: spills in our rendering are noted, not fatal.
  const b = p.baseline;
  const k = b && ctx.compiled.get(b.plan.uri);
  const why = rejectReason(k);
  if (b && k && (why === undefined || why === 'spills')) {
    // The reference engine pads M to 256 rows; its fc2 sums one lora_act slice per 128-column fc1 block.
    const m = baselineM(job.problem.m);
    const problem = { ...job.problem, m };
    const slices = job.producer ? Math.ceil(job.producer.n / b.plan.tile.blockN) : 1;
    const use = { registers: k.resources!.registers, smemBytes: k.resources!.smemBytes };
    const gemmEst = estimateGemmPlan(b.plan, problem, ctx.target, use, gemmExtras(ctx, b.plan.uri, slices));
    const actEst = c.chosenAct ? estimateActPlan(c.chosenAct.cand.plan, { m, k: job.problem.k }, ctx.target, c.chosenAct.resources) : undefined;
    const timeUs = gemmEst.timeUs + (actEst?.timeUs ?? 0);
    const notes = [
      ...(b.note ? [b.note] : []),
      ...(m !== job.problem.m ? [`M padded ${job.problem.m} → ${m}`] : []),
      ...(why === 'spills' ? [`ptxas spills ${k.resources!.spillBytes} bytes in our rendering (spill traffic not modelled)`] : []),
    ];
    out.baseline = { label: 'predicted', gemmUri: b.plan.uri, timeUs, paddedM: m, mainLoop: mainLoopField(ctx, b.plan.uri), ...(notes.length ? { note: notes.join('; ') } : {}) };
    out.vsBaseline = timeUs / c.predictedUs;
  }
  return out;
}

const fin = (x: number) => (Number.isFinite(x) ? x : 0);
