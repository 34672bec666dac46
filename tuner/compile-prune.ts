// Compiling the best-predicted candidates (never the whole space: a cold tune must finish in minutes on
// two cores) through the shared build cache, then pruning on what ptxas reports: spills, and occupancy
// recomputed from the real registers and shared memory. A job whose candidates all fail takes the next
// ones, up to a few rounds.
import { buildMany, type BuildOutcome } from '../codegen/cache.js';
import { compileCuda, type PtxasReport } from '../codegen/nvcc.js';
import type { ActPlan, GemmPlan } from '../codegen/plan/index.js';
import { renderKernel } from '../codegen/render.js';
import type { Target } from '../dsl/types.js';
import { blocksPerSm } from './cost-model.js';
import type { KernelResources } from './records.js';

export interface CompiledKernel {
  uri: string;
  ok: boolean;
  resources?: KernelResources;
  /** First lines of the compiler's diagnostics when `ok` is false. */
  error?: string;
  cached: boolean;
}

/** Compiles a kernel for one target; the compile itself is cached by content in codegen/cache.ts. */
export type KernelCompiler = (plan: GemmPlan | ActPlan, target: Target) => Promise<{ ptxas: PtxasReport[]; cached: boolean }>;

export const nvccCompiler: KernelCompiler = async (plan, target) => {
  const r = await compileCuda({ source: renderKernel(plan), arch: target.arch, kind: 'cubin' });
  return { ptxas: r.ptxas, cached: r.cached };
};

/** One kernel's resources from ptxas: worst entry point (a TU may instantiate several variants). */
export function resourcesFromPtxas(reports: readonly PtxasReport[], plan: GemmPlan | ActPlan, target: Target): KernelResources {
  const entries = reports.filter((r) => r.entry && (r.arch === target.arch || r.arch.replace(/a$/, '') === target.arch.replace(/a$/, '')));
  const use = entries.length ? entries : reports;
  const registers = Math.max(0, ...use.map((r) => r.registers));
  const spillBytes = Math.max(0, ...use.map((r) => r.spillStoreBytes + r.spillLoadBytes));
  // Static shared memory from ptxas plus the plan's dynamic shared memory.
  const smemBytes = Math.max(0, ...use.map((r) => r.smemBytes)) + plan.smemBytes;
  return { registers, spillBytes, smemBytes, blocksPerSm: blocksPerSm(target, plan.threads, registers, smemBytes) };
}

export interface CompileProgress {
  done: number;
  total: number;
  uri: string;
  ok: boolean;
  cached: boolean;
}

/** Compiles distinct plans (by URI) in parallel; failures are results, not exceptions. */
export async function compilePlans(
  plans: readonly (GemmPlan | ActPlan)[],
  target: Target,
  opts: { compiler?: KernelCompiler; concurrency?: number; onProgress?: (p: CompileProgress) => void } = {},
): Promise<Map<string, CompiledKernel>> {
  const compiler = opts.compiler ?? nvccCompiler;
  const unique = [...new Map(plans.map((p) => [p.uri, p])).values()].sort((a, b) => (a.uri < b.uri ? -1 : 1));
  const results = new Map<string, CompiledKernel>();
  const outcomes: BuildOutcome<CompiledKernel>[] = await buildMany(
    unique.map((plan) => ({
      label: plan.uri,
      run: async (): Promise<CompiledKernel> => {
        const r = await compiler(plan, target);
        return { uri: plan.uri, ok: true, resources: resourcesFromPtxas(r.ptxas, plan, target), cached: r.cached };
      },
    })),
    {
      concurrency: opts.concurrency,
      onProgress: (done, total, last) =>
        opts.onProgress?.({ done, total, uri: last.label, ok: last.ok, cached: last.ok ? (last.value as CompiledKernel).cached : false }),
    },
  );
  for (const o of outcomes) {
    results.set(o.label, o.ok ? o.value : { uri: o.label, ok: false, error: conciseError(o.error), cached: false });
  }
  return results;
}

function conciseError(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n').slice(0, 6).join('\n');
}

/** Why a compiled kernel is not usable (undefined = usable). */
export function rejectReason(k: CompiledKernel | undefined): 'compile-error' | 'spills' | 'occupancy' | undefined {
  if (!k || !k.ok || !k.resources) return 'compile-error';
  if (k.resources.spillBytes > 0) return 'spills';
  if (k.resources.blocksPerSm < 1) return 'occupancy';
  return undefined;
}
