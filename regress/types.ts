// The vocabulary of `svdq-codegen regress`: what is checked (subjects: one layer spec's two kernels on
// one target), the outcome of every check (cases grouped by stage) and the report the three writers
// (console, JSON, JUnit XML) render. Plain data, so reports serialize as they are.
import type { ActTile, GemmTile, KernelSpec, ModelCatalog, SmArch, Target } from '../dsl/types.js';

export type StageName = 'source' | 'compile' | 'sass' | 'correctness' | 'traffic' | 'export';
export const STAGES: readonly StageName[] = ['source', 'compile', 'sass', 'correctness', 'traffic', 'export'];

export type Budget = 'quick' | 'full';

/** One layer spec (activation kernel + GEMM) on one target, with the catalog layers it serves. */
export interface RegressSubject {
  /** Stable baseline key: `<arch>/<spec key>` (the GEMM URI without its tile tokens), e.g. `sm_89/w4a4_int4g64_bf16_r32_sm89_bias-lora`. */
  id: string;
  arch: SmArch;
  target: Target;
  spec: KernelSpec;
  tiles: { gemm: GemmTile; act: ActTile };
  /** `<catalog>/<layer>` served, sorted. */
  layers: string[];
  /** The catalogs these layers come from (for the cost model's shapes). */
  catalogs: ModelCatalog[];
}

/**
 * passed: within tolerance. regressed: worse than the baseline beyond tolerance (or wrong).
 * failed: the check could not run (compile error, crash, tool missing) — also fails the run.
 * new: no baseline entry yet (recorded by --update-baseline; does not fail the run).
 * skipped: not applicable here (no GPU, not in the committed catalog); the reason says why.
 */
export type CaseStatus = 'passed' | 'regressed' | 'failed' | 'new' | 'skipped';

/** One number compared with its baseline. */
export interface MetricResult {
  metric: string;
  current: number;
  baseline?: number;
  /** current − baseline (absent without a baseline). */
  delta?: number;
  /** The tolerance as a person reads it, e.g. '+0 B', '+2 %'. */
  tolerance: string;
  /** Beyond tolerance (or an absolute rule such as "no spills" broken). */
  regressed: boolean;
  /** Better than the baseline (smaller), shown so improvements can be recorded. */
  improved: boolean;
}

export interface CaseResult {
  stage: StageName;
  /** e.g. `sm_89/w4a4_…_bias-lora gemm` or `… M=1`. */
  name: string;
  status: CaseStatus;
  /** One line: why it regressed / failed / was skipped, or what was checked. */
  message: string;
  metrics: MetricResult[];
  seconds: number;
}

export interface StageSummary {
  stage: StageName;
  passed: number;
  regressed: number;
  failed: number;
  new: number;
  skipped: number;
  seconds: number;
}

export interface RegressReport {
  /** True only when no case regressed or failed. */
  ok: boolean;
  budget: Budget;
  archs: SmArch[];
  catalogs: string[];
  subjects: string[];
  toolchain: { nvcc?: string; gpu?: string };
  stages: StageSummary[];
  cases: CaseResult[];
  seconds: number;
  baselineFile: string;
  /** Set by --update-baseline: the lines that changed in the baseline file. */
  baselineChanges?: string[];
}
