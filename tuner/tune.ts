// The orchestrator behind `svdq-codegen tune`: jobs (one per kernel family × shape × M bucket) →
// statically pruned candidates ranked by the cost model → the best few compiled (parallel, cached) and
// pruned on ptxas spills and occupancy → ranked (measured on a GPU, else predicted) → one record per job,
// written as soon as the job finishes (a killed run resumes where it stopped) → dispatch table and
// report. Resumable (finished keys are skipped), shardable (`--shard i/n`), safe with concurrent runs.
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../dsl/errors.js';
import { withSlowInt4 } from '../dsl/compat.js';
import { resolveGpu } from '../dsl/targets.js';
import type { KernelSpec, Target } from '../dsl/types.js';
import { nvccVersion } from '../codegen/nvcc.js';
import type { ActPlan, GemmPlan } from '../codegen/plan/index.js';
import { detectGpu } from '../runtime/harness/gpu.js';
import type { Backend } from '../runtime/harness/harness.js';
import { defaultTiles } from '../codegen/default-tiles.js';
import { planGemm } from '../codegen/plan/gemm.js';
import { baselinePlan, type BaselinePlan } from './baseline.js';
import { actCandidates, compileOrder, gemmCandidates, tuningSpace, type ActCandidate, type GemmCandidate } from './candidates.js';
import { inspectAll, type CompiledCounts, type KernelInspector } from './compiled-counts.js';
import { chooseGemm, modelTotals, type ModelTotals } from './choose.js';
import { costModelFields, gemmExtras, perMmaOf, slicesFor, survivors, type ModelContext, type Scored } from './job-model.js';
import { compilePlans, rejectReason, type CompiledKernel, type CompileProgress, type KernelCompiler } from './compile-prune.js';
import { combineKernels, peak4BitFlops, type KernelEstimate } from './cost-model.js';
import { readDb, upsertRecords } from './db.js';
import { writeDispatchHeader } from './dispatch.js';
import { estimateGemmPlan, gemmTrafficForModel } from './estimate.js';
import { buildJobs, type TuneJob } from './jobs.js';
import { gateCandidate, harnessRunner, timeCandidates, type Correctness, type LayerRunner } from './measure.js';
import { recordKey, type CandidateSummary, type TuneMode, type TuneRecord } from './records.js';
import { reportPathFor, writeHtmlReport } from './report.js';
import { parseShard, selectShard, type Shard } from './shard.js';
import { generatorSourceHash } from './source-hash.js';

export interface TuneOptions {
  gpu: string;
  model?: string;
  resolution?: number;
  batch?: number;
  /** "MxNxK" problems instead of a catalog (with `specs`: also "LABEL=MxNxK"). */
  shapes?: string[];
  /** A user's own DSL specs (tune --spec), tuned at `shapes` (tuner/spec-jobs.ts). */
  specs?: { file: string; specs: readonly KernelSpec[] };
  rank?: number;
  mode?: 'auto' | TuneMode;
  /** Default `.svdq/tune-<target id>.json` under the working directory. */
  db?: string;
  shard?: Shard | string;
  /** Re-tune jobs that already have a record. */
  force?: boolean;
  /** GEMM / activation candidates compiled per job per round (best predicted first). */
  topK?: number;
  actTopK?: number;
  /** Also search f16 cross-group accumulation (faster, less accurate; opt-in). */
  allowF16Accum?: boolean;
  /** sm_90: tune the INT4 m16n8k64 path anyway (dsl/compat.ts withSlowInt4; no 4-bit fast path there). */
  allowSlowInt4?: boolean;
  /** Where measure mode runs: 'gpu' (default) or 'emu' (tests: wall-clock times, labelled so). */
  backend?: Backend;
  /** Model mode: also gate each chosen config on the emulator against the reference. */
  verify?: boolean;
  /** Parallel compiles (default: the machine's cores). */
  concurrency?: number;
  /** Dispatch header path; default `<db dir>/dispatch/<target id>.h`; false = none. */
  dispatch?: string | false;
  /** Write the HTML report next to the database (default true). */
  report?: boolean;
  compiler?: KernelCompiler;
  /** Main-loop counts of compiled kernels (default: SASS/PTX of the real build; with a custom `compiler`
   * and no inspector the model runs on static estimates, recorded as mainLoop null). */
  inspector?: KernelInspector;
  runner?: LayerRunner;
  onProgress?: (e: TuneProgress) => void;
}

export type TuneProgress =
  | { phase: 'plan'; jobs: number; resumed: number; toTune: number; mode: TuneMode; reason: string }
  | ({ phase: 'compile' } & CompileProgress)
  | { phase: 'measure'; done: number; total: number; id: string }
  | { phase: 'record'; done: number; total: number; layers: string[] };

export interface TuneFailure {
  layers: string[];
  shape: { m: number; n: number; k: number };
  reason: string;
}

export interface TuneResult {
  target: Target;
  mode: TuneMode;
  /** Why this mode (e.g. "no GPU: nvidia-smi not found"). */
  modeReason: string;
  dbPath: string;
  reportPath?: string;
  dispatchPath?: string;
  shard?: Shard;
  jobs: number;
  tuned: number;
  resumed: number;
  /** Records of this run's jobs (resumed ones included), sorted by key. */
  records: TuneRecord[];
  failures: TuneFailure[];
  /** Predicted linear-layer time of one transformer forward (Σ records × calls per forward), chosen and
   * baseline; null when a record lacks the fields (written before them). */
  totals: ModelTotals | null;
}

const MAX_ROUNDS = 3;
/** Predicted-only candidates kept per record for the report's roofline. */
const ROOFLINE_POINTS = 24;

export const defaultDbPath = (target: Target): string => path.join('.svdq', `tune-${target.id}.json`);

async function chooseMode(requested: TuneOptions['mode'], target: Target, backend: Backend): Promise<{ mode: TuneMode; reason: string }> {
  if (requested === 'model') return { mode: 'model', reason: 'asked for (--mode model)' };
  if (backend === 'emu') {
    if (requested !== 'measure') throw new UserError("--backend emu: only with --mode measure (the emulator's times are wall clock)");
    return { mode: 'measure', reason: 'on the emulator (wall-clock times, not GPU times)' };
  }
  const gpu = await detectGpu();
  if (!gpu.present) {
    if (requested === 'measure') throw new UserError(`--mode measure: no CUDA GPU found (${gpu.reason}); use --mode model for predicted times`);
    return { mode: 'model', reason: `no GPU (${gpu.reason})` };
  }
  if (gpu.arch !== target.arch) {
    const why = `this machine's GPU is ${gpu.name} (${gpu.arch ?? `compute capability ${gpu.computeCapability}`}), not ${target.arch}`;
    if (requested === 'measure') throw new UserError(`--mode measure: ${why}; pass --gpu ${gpu.arch ?? gpu.name} or use --mode model`);
    return { mode: 'model', reason: why };
  }
  return { mode: 'measure', reason: `GPU present: ${gpu.name}` };
}

interface Prepared {
  job: TuneJob;
  key: string;
  gemm: GemmCandidate[];
  act: ActCandidate[];
  /** How many of the best candidates this job has had compiled (its rounds so far). */
  gemmConsidered: number;
  actConsidered: number;
  /** The job's default tile (always compiled: the chosen tile's instr/MMA is checked against it). */
  defaultGemm: GemmCandidate;
  baseline?: BaselinePlan;
}


export async function tune(options: TuneOptions): Promise<TuneResult> {
  const target = options.allowSlowInt4 ? withSlowInt4(resolveGpu(options.gpu)) : resolveGpu(options.gpu);
  const backend: Backend = options.backend ?? 'gpu';
  const { mode, reason } = await chooseMode(options.mode ?? 'auto', target, backend);
  const shard = typeof options.shard === 'string' ? parseShard(options.shard) : options.shard;
  const dbPath = options.db ?? defaultDbPath(target);
  const toolchain = `nvcc-${await nvccVersion()}`;
  const sourceHash = await generatorSourceHash();
  const space = tuningSpace(target, { allowF16Accum: options.allowF16Accum });

  let jobs = buildJobs(target, options);
  const keyOf = (job: TuneJob) =>
    recordKey({ family: job.family, n: job.problem.n, k: job.problem.k, bucket: job.bucket, targetId: target.id, toolchain, mode, sourceHash, withAct: job.needsAct });
  if (shard) jobs = selectShard(jobs, keyOf, shard);

  const existing = new Map((await readDb(dbPath)).records.map((r) => [r.key, r]));
  const done = options.force ? [] : jobs.filter((j) => existing.has(keyOf(j)));
  const todo = jobs.filter((j) => options.force || !existing.has(keyOf(j)));
  options.onProgress?.({ phase: 'plan', jobs: jobs.length, resumed: done.length, toTune: todo.length, mode, reason });

  // Static pruning and cost-model ranking (cheap: no compiler involved).
  // Producers (qnext) first: a consumer's lora_act slice count comes from its producer's chosen tile.
  const prepared: Prepared[] = todo
    .map((job) => {
      const gemm = compileOrder(gemmCandidates(job.spec, job.problem, target, space).ranked);
      const act = job.needsAct ? actCandidates(job.spec, job.problem, target, space).ranked : [];
      const tile = defaultTiles(job.spec, target).gemm;
      const plan = planGemm(job.spec, tile, target);
      const defaultGemm = gemm.find((c) => c.plan.uri === plan.uri) ?? { tile, plan, estimate: estimateGemmPlan(plan, job.problem, target) };
      return { job, key: keyOf(job), gemm, act, gemmConsidered: 0, actConsidered: 0, defaultGemm, baseline: baselinePlan(job.spec, target) };
    })
    .sort((a, b) => Number(Boolean(a.job.producer)) - Number(Boolean(b.job.producer)));

  // Per-job records (issue 15; the record-writing part, owned here): the jobs go through in chunks
  // small enough that a chunk's compiles just fill the compile slots, and each chunk's records are
  // written before the next chunk starts, so a kill mid-run keeps every finished job. A job only ever
  // looks at its own candidates (below), so chunking changes no record, only when it is written.
  const compiled = new Map<string, CompiledKernel>();
  const topK = options.topK ?? 3;
  const actTopK = options.actTopK ?? 2;
  const slots = options.concurrency ?? os.cpus().length;
  const chunkSize = Math.max(1, Math.ceil(slots / (topK + actTopK)));
  // Main-loop counts of every usable compiled GEMM (the final ranking uses them), gathered per chunk.
  const inspector = options.inspector ?? (options.compiler ? undefined : inspectAll);
  const inspectable = (uri: string) => ['spills', undefined].includes(rejectReason(compiled.get(uri)));
  const counts = new Map<string, CompiledCounts>();
  const records: TuneRecord[] = [...done.map((j) => existing.get(keyOf(j))!)];
  const failures: TuneFailure[] = [];
  // Layer → chosen GEMM URI, for the lora_act slices of qnext consumers.
  const chosenByLayer = new Map<string, string>();
  for (const r of records) for (const l of r.layers) chosenByLayer.set(l, r.gemmUri);
  let finished = 0;
  let compiledBefore = 0;
  for (let c = 0; c < prepared.length; c += chunkSize) {
    const chunk = prepared.slice(c, c + chunkSize);
    compiledBefore += await compileRounds(chunk, compiled, { target, topK, actTopK, options, offset: compiledBefore });
    if (inspector) {
      const gemmPlans = chunk.flatMap((p) => [...p.gemm.slice(0, p.gemmConsidered).map((g) => g.plan), p.defaultGemm.plan, ...(p.baseline ? [p.baseline.plan] : [])]);
      const fresh = gemmPlans.filter((pl) => inspectable(pl.uri) && !counts.has(pl.uri));
      for (const [uri, n] of await inspector(fresh, target, options.concurrency)) counts.set(uri, n);
    }
    for (const p of chunk) {
      try {
        const record = await tuneJob(p, { target, mode, backend, toolchain, sourceHash, compiled, counts, chosenByLayer, options });
        await upsertRecords(dbPath, [record]);
        records.push(record);
        for (const l of record.layers) chosenByLayer.set(l, record.gemmUri);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        failures.push({ layers: p.job.layers, shape: p.job.problem, reason: e.message });
      }
      options.onProgress?.({ phase: 'record', done: ++finished, total: prepared.length, layers: p.job.layers });
    }
  }
  records.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const all = (await readDb(dbPath)).records;
  let dispatchPath: string | undefined;
  if (options.dispatch !== false && all.length) {
    dispatchPath = await writeDispatchHeader(all, target.id, options.dispatch ?? path.join(path.dirname(dbPath), 'dispatch', `${target.id}.h`));
  }
  let reportPath: string | undefined;
  if (options.report !== false && all.length) {
    reportPath = reportPathFor(dbPath);
    await writeHtmlReport(reportPath, all.filter((r) => r.target.id === target.id), target);
  }
  return { target, mode, modeReason: reason, dbPath, reportPath, dispatchPath, shard, jobs: jobs.length, tuned: records.length - done.length, resumed: done.length, records, failures, totals: modelTotals(records) };
}

/**
 * Compile rounds for some jobs: the best few of each job at once (one progress bar), then the next few
 * for jobs whose candidates all failed. Returns how many kernels it compiled (for the progress offset).
 */
async function compileRounds(
  prepared: Prepared[],
  compiled: Map<string, CompiledKernel>,
  ctx: { target: Target; topK: number; actTopK: number; options: TuneOptions; offset: number },
): Promise<number> {
  const { target, topK, actTopK, options } = ctx;
  let count = 0;
  const usable = (uri: string) => rejectReason(compiled.get(uri)) === undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const plans: (GemmPlan | ActPlan)[] = [];
    // The default and baseline tiles are always compiled: the choice is checked against them.
    if (round === 0) for (const p of prepared) plans.push(p.defaultGemm.plan, ...(p.baseline ? [p.baseline.plan] : []));
    for (const p of prepared) {
      if (!p.gemm.slice(0, p.gemmConsidered).some((c) => usable(c.plan.uri)) && p.gemmConsidered < p.gemm.length) {
        plans.push(...p.gemm.slice(p.gemmConsidered, p.gemmConsidered + topK).map((c) => c.plan));
        p.gemmConsidered += topK;
      }
      if (p.job.needsAct && !p.act.slice(0, p.actConsidered).some((c) => usable(c.plan.uri)) && p.actConsidered < p.act.length) {
        plans.push(...p.act.slice(p.actConsidered, p.actConsidered + actTopK).map((c) => c.plan));
        p.actConsidered += actTopK;
      }
    }
    const fresh = [...new Map(plans.filter((pl) => !compiled.has(pl.uri)).map((pl) => [pl.uri, pl])).values()];
    if (!plans.length) break;
    if (!fresh.length) continue;
    const base = ctx.offset + count;
    const results = await compilePlans(fresh, target, {
      compiler: options.compiler,
      concurrency: options.concurrency,
      // one growing bar across chunks: done and total count every kernel compiled so far
      onProgress: (e) => options.onProgress?.({ phase: 'compile', ...e, done: base + e.done, total: base + e.total }),
    });
    for (const [uri, r] of results) compiled.set(uri, r);
    count += fresh.length;
  }
  return count;
}

interface JobContext extends ModelContext {
  mode: TuneMode;
  backend: Backend;
  toolchain: string;
  sourceHash: string;
  options: TuneOptions;
}

function candidateSummaries(p: Prepared, ctx: JobContext, chosenUri: string, measured: Map<string, number>, incorrect: Set<string>): CandidateSummary[] {
  const out: CandidateSummary[] = [];
  const seen = new Set<string>();
  const push = (c: GemmCandidate, status: CandidateSummary['status'], estimate: KernelEstimate, note?: string) => {
    if (seen.has(c.plan.uri)) return;
    seen.add(c.plan.uri);
    const m = measured.get(c.plan.uri);
    const timeUs = m ?? estimate.timeUs;
    const flops = 2 * p.job.problem.m * p.job.problem.n * p.job.problem.k;
    const bytes = gemmTrafficForModel(c.plan, p.job.problem).bytes;
    out.push({ gemmUri: c.plan.uri, status, timeUs, label: m !== undefined ? 'measured' : 'predicted', tflops: flops / timeUs / 1e6, flopsPerByte: flops / bytes, ...(note ? { note } : {}) });
  };
  for (const c of p.gemm.slice(0, p.gemmConsidered)) {
    const k = ctx.compiled.get(c.plan.uri);
    if (!k) continue;
    const why = rejectReason(k);
    const status: CandidateSummary['status'] = c.plan.uri === chosenUri ? 'chosen' : incorrect.has(c.plan.uri) ? 'incorrect' : (why ?? 'ok');
    const use = k.resources ? { registers: k.resources.registers, smemBytes: k.resources.smemBytes } : undefined;
    push(c, status, use ? estimateGemmPlan(c.plan, p.job.problem, ctx.target, use, gemmExtras(ctx, c.plan.uri, slicesFor(p.job, ctx))) : c.estimate, k.error?.split('\n')[0]);
  }
  for (const c of p.gemm.slice(0, ROOFLINE_POINTS)) push(c, 'not-compiled', c.estimate);
  return out;
}

async function tuneJob(p: Prepared, ctx: JobContext): Promise<TuneRecord> {
  const { job } = p;
  const shape = `${job.problem.m}×${job.problem.n}×${job.problem.k}`;
  if (!p.gemm.length) throw new UserError(`${job.layers.join(', ')} (${shape}): no GEMM tile of the space fits ${ctx.target.id} for ${job.family}`);
  const slices = slicesFor(job, ctx);
  const gemm = survivors(p.gemm.slice(0, p.gemmConsidered), ctx, job.problem, slices);
  const act = job.needsAct ? survivors(p.act.slice(0, p.actConsidered), ctx, job.problem) : [];
  if (!gemm.length) {
    const firstError = p.gemm.slice(0, p.gemmConsidered).map((c) => ctx.compiled.get(c.plan.uri)).find((k) => k && !k.ok)?.error;
    throw new UserError(
      `${job.layers.join(', ')} (${shape}): none of the ${p.gemmConsidered} best GEMM candidates compiled without spills${firstError ? `; first compiler error:\n${firstError}` : ''}`,
    );
  }
  if (job.needsAct && !act.length) throw new UserError(`${job.layers.join(', ')} (${shape}): no activation-kernel candidate compiled without spills`);

  const measuredGemm = new Map<string, number>();
  const incorrect = new Set<string>();
  let correctness: (Correctness & { backend: 'emu' | 'gpu' }) | undefined;
  let chosenGemm = gemm[0];
  let chosenAct: Scored<ActCandidate> | undefined = act[0];
  let timing: TuneRecord['timing'];
  let whyMoreInstr: string | undefined;
  const runner = ctx.options.runner ?? harnessRunner;
  const peak = peak4BitFlops(ctx.target, job.spec.format.kind);
  const flops = 2 * job.problem.m * job.problem.n * job.problem.k;

  if (ctx.mode === 'measure') {
    // Correctness gate first, every candidate; only those that pass are timed.
    const actTile = (i: number) => (act.length ? act[i % act.length].cand.tile : defaultActTile(job));
    const cands = gemm.map((g, i) => ({ id: g.cand.plan.uri, tiles: { gemm: g.cand.tile, act: actTile(i) } }));
    const passed: typeof cands = [];
    const gate = new Map<string, Correctness>();
    for (const c of cands) {
      const r = await gateCandidate(runner, job.spec, c, job.problem, ctx.target, ctx.backend);
      gate.set(c.id, r);
      if (r.passed) passed.push(c);
      else incorrect.add(c.id);
    }
    if (!passed.length) throw new UserError(`${job.layers.join(', ')} (${shape}): every compiled candidate failed the correctness gate; first: ${[...gate.values()][0]?.detail}`);
    const times = await timeCandidates(runner, job.spec, passed, job.problem, ctx.target, {
      backend: ctx.backend,
      onProgress: (done, total, id) => ctx.options.onProgress?.({ phase: 'measure', done, total, id }),
    });
    const best = [...times.entries()].sort((a, b) => a[1].gemmMedianUs - b[1].gemmMedianUs || (a[0] < b[0] ? -1 : 1))[0];
    for (const [id, t] of times) measuredGemm.set(id, t.gemmMedianUs);
    chosenGemm = gemm.find((g) => g.cand.plan.uri === best[0])!;
    const bestActIdx = [...times.entries()].sort((a, b) => a[1].actMedianUs - b[1].actMedianUs)[0][0];
    chosenAct = act.length ? act[cands.findIndex((c) => c.id === bestActIdx) % act.length] : undefined;
    const t = best[1];
    const timeUs = t.gemmMedianUs + (job.needsAct ? Math.min(...[...times.values()].map((x) => x.actMedianUs)) : 0);
    const g = gate.get(best[0])!;
    correctness = { ...g, backend: ctx.backend };
    timing = {
      label: 'measured',
      clock: t.clock,
      timeUs,
      tflops: flops / timeUs / 1e6,
      bytes: chosenGemm.estimate.bytes + (chosenAct?.estimate.bytes ?? 0),
      bound: combineKernels([chosenGemm.estimate, ...(chosenAct ? [chosenAct.estimate] : [])], flops, peak).bound,
      percentOfPeak: peak > 0 ? (100 * flops) / (timeUs * 1e-6) / peak : 0,
      spreadUs: t.spreadUs,
      repetitions: t.repetitions,
    };
  } else {
    // The final ranking: compiled counts; the default tile takes part and bounds instr/MMA (choose.ts).
    const defaultUri = p.defaultGemm.plan.uri;
    const pool = gemm.some((g) => g.cand.plan.uri === defaultUri) ? gemm : [...gemm, ...survivors([p.defaultGemm], ctx, job.problem, slices)];
    const choice = chooseGemm(pool.map((g) => ({ uri: g.cand.plan.uri, timeUs: g.estimate.timeUs, bound: g.estimate.bound, perMma: perMmaOf(ctx, g.cand.plan.uri), g })), defaultUri);
    chosenGemm = choice.chosen.g;
    whyMoreInstr = choice.why;
    const layer = combineKernels([...(chosenAct ? [chosenAct.estimate] : []), chosenGemm.estimate], flops, peak);
    timing = { label: 'predicted', timeUs: layer.timeUs, tflops: layer.tflops, bytes: layer.bytes, bound: layer.bound, percentOfPeak: layer.percentOfPeak };
    if (ctx.options.verify) {
      const tiles = { gemm: chosenGemm.cand.tile, act: chosenAct ? chosenAct.cand.tile : defaultActTile(job) };
      const r = await gateCandidate(runner, job.spec, { id: chosenGemm.cand.plan.uri, tiles }, job.problem, ctx.target, 'emu');
      correctness = { ...r, backend: 'emu' };
      if (!r.passed) throw new UserError(`${job.layers.join(', ')} (${shape}): the chosen ${chosenGemm.cand.plan.uri} failed the emulator's correctness check: ${r.detail}`);
    }
  }
  const predicted = combineKernels([...(chosenAct ? [chosenAct.estimate] : []), chosenGemm.estimate], flops, peak);
  const extra = costModelFields(p, ctx, { chosenGemm, chosenAct, predictedUs: predicted.timeUs, slices, whyMoreInstr });
  return {
    ...extra,
    key: p.key,
    family: job.family,
    sourceHash: ctx.sourceHash,
    layers: job.layers,
    shape: job.problem,
    bucket: job.bucket,
    target: { id: ctx.target.id, arch: ctx.target.arch, name: ctx.target.name },
    toolchain: ctx.toolchain,
    mode: ctx.mode,
    gemmUri: chosenGemm.cand.plan.uri,
    actUri: chosenAct ? chosenAct.cand.plan.uri : null,
    timing,
    resources: { gemm: chosenGemm.resources, act: chosenAct ? chosenAct.resources : null },
    ...(correctness ? { correctness: { backend: correctness.backend, passed: correctness.passed, maxAbsError: Number.isFinite(correctness.maxAbsError) ? correctness.maxAbsError : 0, detail: correctness.detail } } : {}),
    candidates: candidateSummaries(p, ctx, chosenGemm.cand.plan.uri, measuredGemm, incorrect),
    createdAt: new Date().toISOString(),
  };
}

/** The harness always runs an activation kernel; for fc2-style jobs any plannable tile serves. */
function defaultActTile(job: TuneJob) {
  void job;
  return { blockM: 64, blockK: 128, warps: 4 };
}
