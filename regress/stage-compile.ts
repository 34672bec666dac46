// Stage 2, compile matrix: both kernels of every subject through nvcc for the subject's target (the
// build cache makes repeats free), the ptxas report reduced to the resources that matter and compared
// with the baseline. Any spill fails, whatever the baseline says (DESIGN.md §5.1: 0 spill bytes).
import { buildMany } from '../codegen/cache.js';
import { compileCuda, type PtxasReport } from '../codegen/nvcc.js';
import type { Resources } from './baseline.js';
import { renderLayer, type RenderedKernel } from './cases.js';
import { observedFor, type StageContext } from './context.js';
import { compareMetric, limitMetric } from './tolerances.js';
import type { CaseResult, MetricResult, RegressSubject } from './types.js';

/** One translation unit's resources: the entry kernels' worst case (a unit has one entry, but be safe). */
export function resourcesOf(reports: readonly PtxasReport[], dynamicSmemBytes: number): Resources {
  const entries = reports.filter((r) => r.entry);
  const list = entries.length > 0 ? entries : reports;
  const max = (f: (r: PtxasReport) => number) => list.reduce((m, r) => Math.max(m, f(r)), 0);
  return {
    registers: max((r) => r.registers),
    spillStoreBytes: max((r) => r.spillStoreBytes),
    spillLoadBytes: max((r) => r.spillLoadBytes),
    smemBytes: max((r) => r.smemBytes),
    dynamicSmemBytes,
    stackBytes: max((r) => r.stackBytes),
  };
}

/** The resource metrics of one kernel against its baseline (undefined: none recorded yet). */
export function compareResources(current: Resources, baseline: Resources | undefined): MetricResult[] {
  return [
    limitMetric('spill store bytes', current.spillStoreBytes, 0, 'B', baseline?.spillStoreBytes),
    limitMetric('spill load bytes', current.spillLoadBytes, 0, 'B', baseline?.spillLoadBytes),
    compareMetric('registers', current.registers, baseline?.registers, 'registers'),
    compareMetric('static smem bytes', current.smemBytes, baseline?.smemBytes, 'smemBytes'),
    compareMetric('dynamic smem bytes', current.dynamicSmemBytes, baseline?.dynamicSmemBytes, 'smemBytes'),
    compareMetric('stack bytes', current.stackBytes, baseline?.stackBytes, 'stackBytes'),
  ];
}

export function resourceCase(name: string, current: Resources, baseline: Resources | undefined, seconds: number): CaseResult {
  const metrics = compareResources(current, baseline);
  const bad = metrics.filter((m) => m.regressed);
  const summary = `${current.registers} regs, ${current.spillStoreBytes}/${current.spillLoadBytes} B spill st/ld, ${current.smemBytes}+${current.dynamicSmemBytes} B smem, ${current.stackBytes} B stack`;
  return {
    stage: 'compile',
    name,
    status: bad.length > 0 ? 'regressed' : baseline ? 'passed' : 'new',
    message: bad.length > 0 ? `${bad.map((m) => m.metric).join(', ')} beyond tolerance (${summary})` : summary,
    metrics,
    seconds,
  };
}

export async function compileStage(ctx: StageContext): Promise<CaseResult[]> {
  const jobs = ctx.subjects.flatMap((subject) => {
    const rendered = renderLayer(subject.spec, subject.tiles, subject, ctx.transform);
    return [rendered.act, rendered.gemm].map((kernel) => ({ subject, rendered, kernel }));
  });
  // subjects share activation kernels: compile each distinct source once (parallel duplicates would race)
  const pending = new Map<string, ReturnType<typeof compileCuda>>();
  const compile = (s: RegressSubject, k: RenderedKernel) => {
    const key = `${s.arch}\u0000${k.source}`;
    let p = pending.get(key);
    if (!p) {
      p = compileCuda({ source: k.source, arch: s.arch, kind: 'cubin', extraFlags: ctx.nvccFlags });
      pending.set(key, p);
    }
    return p;
  };
  const outcomes = await buildMany(
    jobs.map(({ subject, kernel }) => ({
      label: `${subject.arch}/${kernel.uri}`,
      run: async () => {
        const t0 = performance.now();
        const r = await compile(subject, kernel);
        ctx.log(`compiled ${subject.arch}/${kernel.uri}${r.cached ? ' (cached)' : ''}`);
        return { r, seconds: (performance.now() - t0) / 1000 };
      },
    })),
    { concurrency: ctx.concurrency },
  );
  const measured = new Map<string, Partial<Record<'act' | 'gemm', Resources>>>();
  const results = outcomes.map((out, i) => {
    const { subject, rendered, kernel } = jobs[i];
    const name = `${subject.id} ${kernel.kind} (${kernel.uri})`;
    if (!out.ok) {
      const msg = (out.error as Error).message.split('\n').slice(0, 4).join(' | ');
      return { stage: 'compile' as const, name, status: 'failed' as const, message: `nvcc failed: ${msg}`, metrics: [], seconds: 0 };
    }
    const current = resourcesOf(out.value.r.ptxas, kernel.dynamicSmemBytes);
    const both = measured.get(subject.id) ?? {};
    both[kernel.kind] = current;
    measured.set(subject.id, both);
    if (both.act && both.gemm) observedFor(ctx, subject, rendered).compile = { act: both.act, gemm: both.gemm };
    return resourceCase(name, current, ctx.baseline.subjects[subject.id]?.compile?.[kernel.kind], out.value.seconds);
  });
  return results;
}
