// Shared pieces of the main-loop budget tests (gemm-budget.test.ts, gemm-budget.long.test.ts): the
// catalogs' distinct GEMM specs (fp16 on Turing, which has no bf16), the tiles the search space can
// produce and the planner accepts, a seeded sample of them, and the check itself (codegen/inspect:
// compile, disassemble, find the loop holding the 4-bit MMAs, budgetViolations).
import { defaultTiles } from '../../../codegen/default-tiles.js';
import { budgetViolations } from '../../../codegen/inspect/budget.js';
import { inspectSource, type KernelInspection } from '../../../codegen/inspect/index.js';
import { gemmTileProblems, planGemm } from '../../../codegen/plan/gemm.js';
import { renderKernel } from '../../../codegen/render.js';
import { CATALOGS, specsFor } from '../../../dsl/models/index.js';
import { defaultSearchSpace, enumerateGemmTiles } from '../../../dsl/space.js';
import { resolveGpu } from '../../../dsl/targets.js';
import type { GemmTile, KernelSpec, SmArch } from '../../../dsl/types.js';

export const BUDGET_ARCHS: readonly SmArch[] = ['sm_75', 'sm_80', 'sm_86', 'sm_89'];

/** Turing runs fp16 layers with fp16 scales only (the planner's rule); the same spec otherwise. */
function forArch(spec: KernelSpec, arch: SmArch): KernelSpec {
  if (arch !== 'sm_75' || spec.format.kind !== 'int4') return spec;
  const epilogue = spec.epilogue.map((o) => (o.op === 'qnext' && o.format.kind === 'int4' ? { ...o, format: { ...o.format, scaleDtype: 'fp16' as const } } : o));
  return { ...spec, dtype: 'fp16', format: { ...spec.format, scaleDtype: 'fp16' }, epilogue };
}

/** Every catalog's distinct GEMM specs (labels dropped). */
export function catalogSpecs(arch: SmArch): KernelSpec[] {
  const distinct = new Map<string, KernelSpec>();
  for (const c of CATALOGS)
    for (const { spec } of specsFor(c)) {
      const { label: _label, ...key } = forArch(spec, arch);
      distinct.set(JSON.stringify(key), key as KernelSpec);
    }
  return [...distinct.values()];
}

export const defaultTile = (spec: KernelSpec, arch: SmArch): GemmTile => defaultTiles(spec, resolveGpu(arch)).gemm;

/** The tiles of the arch's search space the planner accepts for `spec`. */
export function plannableTiles(spec: KernelSpec, arch: SmArch): GemmTile[] {
  const target = resolveGpu(arch);
  return [...enumerateGemmTiles(defaultSearchSpace(arch), spec)].filter((t) => gemmTileProblems(spec, t, target).length === 0);
}

/** `n` distinct tiles drawn (seeded LCG) from the plannable tiles for `spec` (all of them when fewer). */
export function sampleTiles(spec: KernelSpec, arch: SmArch, n: number, seed: number): GemmTile[] {
  const tiles = plannableTiles(spec, arch);
  let x = seed >>> 0;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const out: GemmTile[] = [];
  const taken = new Set<number>();
  while (out.length < Math.min(n, tiles.length)) {
    const i = Math.floor(next() * tiles.length);
    if (taken.has(i)) continue;
    taken.add(i);
    out.push(tiles[i]);
  }
  return out;
}

export interface BudgetResult {
  uri: string;
  inspection: KernelInspection;
  /** Budget breaches (empty = within budget); a kernel that spills is one the tuner prunes, reported apart. */
  violations: string[];
  spills: number;
}

export async function checkBudget(spec: KernelSpec, tile: GemmTile, arch: SmArch): Promise<BudgetResult> {
  const plan = planGemm(spec, tile, resolveGpu(arch));
  const inspection = await inspectSource(renderKernel(plan), arch, plan.uri, { kind: 'gemm', threads: plan.threads, dynamicSmemBytes: plan.smemBytes });
  return { uri: plan.uri, inspection, violations: budgetViolations(inspection, tile), spills: inspection.spillBytes };
}
