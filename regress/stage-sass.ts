// Stage "sass": the static main-loop view of both kernels of every subject (codegen/inspect), against the
// baseline. GEMM: instructions per m16n8k64 may not grow by more than 2 %, and MUFU, a CALL or a
// division in the main loop fails whatever the baseline says (issue budget: none of them in the loop).
// Activation kernel: instructions per 64 elements of X may not grow by more than 2 % (its loop may hold
// a per-group reciprocal — MUFU — by design, so only growth is checked). No disassembler → failed, loudly.
import type { SassBaseline } from './baseline.js';
import { inspectSource, actElementsPerIteration, type KernelInspection } from '../codegen/inspect/index.js';
import { renderLayer, type RenderedKernel } from './cases.js';
import { observedFor, type StageContext } from './context.js';
import { compareMetric, limitMetric } from './tolerances.js';
import type { CaseResult, MetricResult, RegressSubject } from './types.js';

/** The baseline record of one inspected kernel (undefined when no loop was found). */
export function sassRecord(k: KernelInspection): SassBaseline | undefined {
  const loop = k.mainLoop ?? k.act ?? undefined;
  if (!loop) return undefined;
  return {
    level: k.counts,
    instrPerStep: Math.round((k.mainLoop ? k.mainLoop.perMma : k.act!.per64) * 1000) / 1000,
    barriersPerIteration: loop.barriersPerIteration,
    hasMufu: loop.hasMufu,
    hasCall: loop.hasCall,
    hasDivision: loop.hasDivision,
    hasBssy: loop.hasBssy,
  };
}

/** The metrics of one kernel's loop against its baseline (a baseline of another level is not compared). */
export function compareSass(kind: 'act' | 'gemm', current: SassBaseline, baseline: SassBaseline | undefined): MetricResult[] {
  const base = baseline && baseline.level === current.level ? baseline : undefined;
  const unit = kind === 'gemm' ? 'MMA' : '64 elements';
  const metrics = [compareMetric(`instructions per ${unit} (${current.level})`, current.instrPerStep, base?.instrPerStep, 'instrPerStep')];
  if (kind === 'gemm') {
    const flag = (b: boolean): number => (b ? 1 : 0);
    metrics.push(
      limitMetric('MUFU in the main loop', flag(current.hasMufu), 0, '(none allowed)', base ? flag(base.hasMufu) : undefined),
      limitMetric('CALL in the main loop', flag(current.hasCall), 0, '(none allowed)', base ? flag(base.hasCall) : undefined),
      limitMetric('division in the main loop', flag(current.hasDivision), 0, '(none allowed)', base ? flag(base.hasDivision) : undefined),
    );
  }
  return metrics;
}

function inspectKernel(ctx: StageContext, subject: RegressSubject, k: RenderedKernel, plan: ReturnType<typeof renderLayer>['plan']): Promise<KernelInspection> {
  const common = { target: subject.target, threads: k.kind === 'act' ? plan.act.threads : plan.gemm.threads, dynamicSmemBytes: k.dynamicSmemBytes, extraFlags: ctx.nvccFlags };
  if (k.kind === 'gemm') return inspectSource(k.source, subject.arch, k.uri, { ...common, kind: 'gemm' });
  return inspectSource(k.source, subject.arch, k.uri, {
    ...common,
    kind: 'act',
    actElementsPerIteration: actElementsPerIteration(plan.act),
    actCodesByConversion: subject.spec.format.kind === 'int4',
  });
}

export async function sassStage(ctx: StageContext): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const done = new Map<string, Promise<KernelInspection>>(); // subjects share activation kernels
  for (const subject of ctx.subjects) {
    const rendered = renderLayer(subject.spec, subject.tiles, subject, ctx.transform);
    const records: Partial<Record<'act' | 'gemm', SassBaseline>> = {};
    for (const k of [rendered.act, rendered.gemm]) {
      const t0 = performance.now();
      const name = `${subject.id} ${k.kind} (${k.uri})`;
      const key = `${subject.arch}\u0000${k.source}`;
      let p = done.get(key);
      if (!p) {
        p = inspectKernel(ctx, subject, k, rendered.plan);
        done.set(key, p);
      }
      let inspection: KernelInspection;
      try {
        inspection = await p;
      } catch (e) {
        results.push({ stage: 'sass', name, status: 'failed', message: `inspect failed: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}`, metrics: [], seconds: (performance.now() - t0) / 1000 });
        continue;
      }
      const seconds = (performance.now() - t0) / 1000;
      const current = sassRecord(inspection);
      if (!current) {
        const what = k.kind === 'gemm' ? 'no loop holds a 4-bit MMA' : 'no quantization loop found';
        results.push({ stage: 'sass', name, status: 'failed', message: `${what} in the ${inspection.counts} listing of ${inspection.function}`, metrics: [], seconds });
        continue;
      }
      records[k.kind] = current;
      const baseline = ctx.baseline.subjects[subject.id]?.sass?.[k.kind];
      const metrics = compareSass(k.kind, current, baseline);
      const bad = metrics.filter((m) => m.regressed);
      const flags = [current.hasMufu ? 'MUFU' : '', current.hasCall ? 'CALL' : '', current.hasDivision ? 'division' : '', current.hasBssy ? 'BSSY' : ''].filter(Boolean);
      const summary = `${current.instrPerStep} instr/${k.kind === 'gemm' ? 'MMA' : '64 el'} (${current.level}), ${current.barriersPerIteration} BAR/iter${flags.length ? `, ${flags.join(' ')} in the loop` : ''}`;
      results.push({
        stage: 'sass',
        name,
        status: bad.length > 0 ? 'regressed' : baseline && baseline.level === current.level ? 'passed' : 'new',
        message: bad.length > 0 ? `${bad.map((m) => m.metric).join(', ')} (${summary})` : summary,
        metrics,
        seconds,
      });
      ctx.log(`inspected ${subject.arch}/${k.uri}: ${summary}`);
    }
    if (records.act && records.gemm) observedFor(ctx, subject, rendered).sass = { act: records.act, gemm: records.gemm };
  }
  return results;
}
