// `svdq-codegen regress`: the kernel regression suite. Selects the subjects (subjects.ts), runs the six
// stages in order (source replay, compile matrix, SASS main loop, correctness, traffic/performance, export smoke test),
// and returns one report; with `updateBaseline` it merges what it observed into the baseline file and
// lists what changed. `report.ok` is true only when nothing regressed or failed.
import path from 'node:path';
import { detectGpu, type GpuInfo } from '../runtime/harness/gpu.js';
import { REPO_ROOT } from '../codegen/cache.js';
import { nvccVersion } from '../codegen/nvcc.js';
import { DEFAULT_BASELINE_FILE, diffBaselines, readBaseline, writeBaseline, type Baseline } from './baseline.js';
import type { SourceTransform } from './cases.js';
import { defaultConcurrency, type StageContext } from './context.js';
import { compileStage } from './stage-compile.js';
import { correctnessStage } from './stage-correctness.js';
import { exportStage } from './stage-export.js';
import { sassStage } from './stage-sass.js';
import { sourceStage } from './stage-source.js';
import { trafficStage } from './stage-traffic.js';
import { resolveSelection, selectSubjects } from './subjects.js';
import { STAGES, type Budget, type CaseResult, type RegressReport, type RegressSubject, type StageName, type StageSummary } from './types.js';

export interface RegressOptions {
  /** --gpu: targets (arch or card id); default per budget (subjects.ts). */
  gpus?: readonly string[];
  /** --catalog: model catalog ids; default per budget. */
  catalogs?: readonly string[];
  budget?: Budget;
  /** Rewrite the baseline file with what this run observed. */
  updateBaseline?: boolean;
  baselineFile?: string;
  /** The committed generated/ tree (default <repo>/generated). */
  generatedDir?: string;
  /** Run only these stages (default all, in order). */
  stages?: readonly StageName[];
  /** Replace the selection (tests, tools). */
  subjects?: RegressSubject[];
  /** Rewrite kernel sources before every stage sees them (tests plant regressions with it). */
  transform?: SourceTransform;
  /** Extra nvcc flags for the compile matrix (e.g. -maxrregcount=32). */
  nvccFlags?: readonly string[];
  concurrency?: number;
  seed?: number;
  /** Override GPU detection (tests). */
  gpu?: GpuInfo;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

const RUNNERS: Record<StageName, (ctx: StageContext) => Promise<CaseResult[]>> = {
  source: sourceStage,
  compile: compileStage,
  sass: sassStage,
  correctness: correctnessStage,
  traffic: trafficStage,
  export: exportStage,
};

export function summarize(stage: StageName, cases: readonly CaseResult[], seconds: number): StageSummary {
  const n = (s: CaseResult['status']) => cases.filter((c) => c.status === s).length;
  return { stage, passed: n('passed'), regressed: n('regressed'), failed: n('failed'), new: n('new'), skipped: n('skipped'), seconds };
}

/** Merges the observed subjects into the baseline: observed fields replace, unobserved fields are kept. */
export function mergeBaseline(before: Baseline, observed: StageContext['observed'], nvcc: string | undefined): Baseline {
  const subjects = { ...before.subjects };
  for (const [id, o] of Object.entries(observed)) {
    const old = subjects[id];
    const sameKernels = old && old.uris.act === o.uris.act && old.uris.gemm === o.uris.gemm;
    subjects[id] = {
      ...(old ?? {}),
      ...o,
      ...(old?.traffic || o.traffic ? { traffic: { ...(old?.traffic ?? {}), ...(o.traffic ?? {}) } } : {}),
      ...(old?.predictedUs || o.predictedUs ? { predictedUs: { ...(old?.predictedUs ?? {}), ...(o.predictedUs ?? {}) } } : {}),
      // a GPU timing of other kernels is meaningless for these: dropped when the config changed
      ...(o.measuredUs || (sameKernels && old?.measuredUs) ? { measuredUs: { ...(sameKernels ? (old?.measuredUs ?? {}) : {}), ...(o.measuredUs ?? {}) } } : {}),
    };
    if (!o.measuredUs && !sameKernels) delete subjects[id].measuredUs;
  }
  return { ...before, toolchain: { nvcc: nvcc ?? before.toolchain.nvcc }, subjects };
}

export async function runRegress(o: RegressOptions = {}): Promise<RegressReport> {
  const t0 = performance.now();
  const budget = o.budget ?? 'quick';
  const baselineFile = path.resolve(o.baselineFile ?? DEFAULT_BASELINE_FILE);
  const subjects = o.subjects ?? selectSubjects({ gpus: o.gpus, catalogs: o.catalogs, budget });
  const selection = o.subjects ? undefined : resolveSelection({ gpus: o.gpus, catalogs: o.catalogs, budget });
  const baseline = await readBaseline(baselineFile);
  const nvcc = await nvccVersion().catch(() => undefined);
  const gpu = o.gpu ?? (await detectGpu());
  const ctx: StageContext = {
    subjects,
    budget,
    baseline,
    observed: {},
    generatedDir: path.resolve(o.generatedDir ?? path.join(REPO_ROOT, 'generated')),
    concurrency: Math.max(1, Math.floor(o.concurrency ?? defaultConcurrency())),
    nvccFlags: [...(o.nvccFlags ?? [])],
    transform: o.transform,
    gpu,
    seed: o.seed ?? 1,
    log: o.log ?? (() => undefined),
  };
  const stages: StageSummary[] = [];
  const cases: CaseResult[] = [];
  for (const stage of STAGES) {
    if (o.stages && !o.stages.includes(stage)) continue;
    const s0 = performance.now();
    ctx.log(`stage ${stage}…`);
    let got: CaseResult[];
    try {
      got = await RUNNERS[stage](ctx);
    } catch (e) {
      got = [{ stage, name: `${stage} stage`, status: 'failed', message: `the stage crashed: ${(e as Error).message.split('\n')[0]}`, metrics: [], seconds: 0 }];
    }
    cases.push(...got);
    stages.push(summarize(stage, got, (performance.now() - s0) / 1000));
  }
  const report: RegressReport = {
    ok: cases.every((c) => c.status !== 'regressed' && c.status !== 'failed'),
    budget,
    archs: [...new Set(subjects.map((s) => s.arch))],
    catalogs: selection ? selection.catalogs.map((c) => c.id) : [...new Set(subjects.flatMap((s) => s.catalogs.map((c) => c.id)))],
    subjects: subjects.map((s) => s.id),
    toolchain: { ...(nvcc ? { nvcc } : {}), ...(gpu.present ? { gpu: gpu.name } : {}) },
    stages,
    cases,
    seconds: 0,
    baselineFile,
  };
  if (o.updateBaseline) {
    const next = mergeBaseline(baseline, ctx.observed, nvcc);
    report.baselineChanges = diffBaselines(baseline, next);
    await writeBaseline(next, baselineFile);
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
