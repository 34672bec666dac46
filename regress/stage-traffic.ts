// Stage 4, traffic and performance: the emulator's global bytes and 32-byte sectors (and shared-memory
// bank conflicts) of every edge-shape case against the baseline; the cost model's predicted time of
// the catalog layers each subject serves; on a GPU of the subject's arch, the measured time with a
// noise-aware threshold (measure.ts). Predicted numbers are labelled predicted; nothing claims a GPU time
// it did not measure.
import type { EmuCounters } from '../runtime/emu/build.js';
import { buildHarness } from '../runtime/harness/harness.js';
import { runLayer } from '../runtime/harness/run-layer.js';
import { randomInputs } from '../runtime/harness/verify.js';
import { shapesFor } from '../dsl/models/index.js';
import { estimateActPlan, estimateGemmPlan } from '../tuner/estimate.js';
import type { Traffic } from './baseline.js';
import { renderLayer } from './cases.js';
import { emuRuns, observedFor, type StageContext } from './context.js';
import { judgeTiming } from './measure.js';
import { compareMetric } from './tolerances.js';
import type { CaseResult, MetricResult, RegressSubject } from './types.js';

export function trafficOf(c: EmuCounters): Traffic {
  return {
    globalLoadBytes: c.global.load.bytes,
    globalStoreBytes: c.global.store.bytes,
    globalLoadSectors: c.global.load.sectors ?? 0,
    globalStoreSectors: c.global.store.sectors ?? 0,
    sharedBankConflicts: (c.shared.load.bankConflicts ?? 0) + (c.shared.store.bankConflicts ?? 0),
  };
}

export function compareTraffic(kernel: string, current: Traffic, baseline: Traffic | undefined): MetricResult[] {
  return [
    compareMetric(`${kernel} global load bytes`, current.globalLoadBytes, baseline?.globalLoadBytes, 'trafficBytes'),
    compareMetric(`${kernel} global store bytes`, current.globalStoreBytes, baseline?.globalStoreBytes, 'trafficBytes'),
    compareMetric(`${kernel} global load sectors`, current.globalLoadSectors, baseline?.globalLoadSectors, 'trafficSectors'),
    compareMetric(`${kernel} global store sectors`, current.globalStoreSectors, baseline?.globalStoreSectors, 'trafficSectors'),
    compareMetric(`${kernel} shared bank conflicts`, current.sharedBankConflicts, baseline?.sharedBankConflicts, 'bankConflicts'),
  ];
}

export function metricsCase(name: string, metrics: MetricResult[], hasBaseline: boolean, summary: string, seconds: number): CaseResult {
  const bad = metrics.filter((m) => m.regressed);
  return {
    stage: 'traffic',
    name,
    status: bad.length > 0 ? 'regressed' : hasBaseline ? 'passed' : 'new',
    message: bad.length > 0 ? `${bad.map((m) => m.metric).join(', ')} above the baseline beyond tolerance` : summary,
    metrics,
    seconds,
  };
}

/** Predicted µs of each catalog's layers the subject serves (each layer × its count per forward pass). */
export function predictedUs(subject: RegressSubject, use?: { act: { registers: number; smemBytes: number }; gemm: { registers: number; smemBytes: number } }): Record<string, number> {
  const plan = renderLayer(subject.spec, subject.tiles, subject).plan;
  const out: Record<string, number> = {};
  for (const catalog of subject.catalogs) {
    let total = 0;
    for (const row of shapesFor(catalog)) {
      if (!subject.layers.includes(`${catalog.id}/${row.layer}`)) continue;
      const gemm = estimateGemmPlan(plan.gemm, { m: row.m, n: row.n, k: row.kPadded }, subject.target, use?.gemm);
      const act = estimateActPlan(plan.act, { m: row.m, k: row.kPadded }, subject.target, use?.act);
      total += (gemm.timeUs + act.timeUs) * row.count;
    }
    out[catalog.id] = Math.round(total * 1000) / 1000;
  }
  return out;
}

/** The GPU timing problem: big enough to fill the GPU, small enough for the reference's SVD. */
export const TIMING_SHAPE = { M: 4096, N: 512, K: 1024 };

export async function trafficStage(ctx: StageContext): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const run of await emuRuns(ctx)) {
    const name = `${run.subject.id} ${run.edge.name}`;
    if (!run.counters?.act || !run.counters.gemm || !run.rendered) {
      results.push({ stage: 'traffic', name, status: 'failed', message: `no emulator counters: ${run.error ?? 'the run produced none'}`, metrics: [], seconds: 0 });
      continue;
    }
    const current = { act: trafficOf(run.counters.act), gemm: trafficOf(run.counters.gemm) };
    const base = ctx.baseline.subjects[run.subject.id]?.traffic?.[run.edge.name];
    const observed = observedFor(ctx, run.subject, renderLayer(run.subject.spec, run.subject.tiles, run.subject));
    (observed.traffic ??= {})[run.edge.name] = current;
    const metrics = [...compareTraffic('act', current.act, base?.act), ...compareTraffic('gemm', current.gemm, base?.gemm)];
    const kb = (t: Traffic) => ((t.globalLoadBytes + t.globalStoreBytes) / 1024).toFixed(1);
    results.push(metricsCase(name, metrics, Boolean(base), `act ${kb(current.act)} KiB, gemm ${kb(current.gemm)} KiB global traffic`, 0));
  }
  for (const subject of ctx.subjects) {
    const t0 = performance.now();
    const rendered = renderLayer(subject.spec, subject.tiles, subject);
    const observed = observedFor(ctx, subject, rendered);
    const use = observed.compile
      ? {
          act: { registers: observed.compile.act.registers, smemBytes: observed.compile.act.smemBytes + observed.compile.act.dynamicSmemBytes },
          gemm: { registers: observed.compile.gemm.registers, smemBytes: observed.compile.gemm.smemBytes + observed.compile.gemm.dynamicSmemBytes },
        }
      : undefined;
    const us = predictedUs(subject, use);
    observed.predictedUs = us;
    const base = ctx.baseline.subjects[subject.id]?.predictedUs;
    const metrics = Object.entries(us).map(([catalog, v]) => compareMetric(`predicted time of ${catalog} layers (µs, cost model)`, v, base?.[catalog], 'predictedUs'));
    const hasBase = Object.keys(us).every((c) => base?.[c] !== undefined);
    const text = Object.entries(us).map(([c, v]) => `${c} ${v.toFixed(1)} µs`).join(', ');
    results.push(metricsCase(`${subject.id} predicted`, metrics, hasBase, `predicted ${text} on ${subject.target.id}${use ? ' (ptxas registers)' : ''}`, (performance.now() - t0) / 1000));
  }
  results.push(...(await gpuTiming(ctx)));
  return results;
}

async function gpuTiming(ctx: StageContext): Promise<CaseResult[]> {
  if (!ctx.gpu.present) {
    return [{ stage: 'traffic', name: 'GPU timing', status: 'skipped', message: `no CUDA GPU here (${ctx.gpu.reason}); no measured time is claimed`, metrics: [], seconds: 0 }];
  }
  const gpuName = ctx.gpu.name;
  const results: CaseResult[] = [];
  for (const subject of ctx.subjects.filter((s) => s.arch === (ctx.gpu.present ? ctx.gpu.arch : undefined))) {
    const t0 = performance.now();
    const name = `${subject.id} measured on ${gpuName}`;
    try {
      const rendered = renderLayer(subject.spec, subject.tiles, subject, ctx.transform);
      const built = await buildHarness('gpu', subject.arch, {
        act: { name: `${rendered.act.uri}.cu`, source: rendered.act.source, symbol: rendered.act.symbol },
        gemm: { name: `${rendered.gemm.uri}.cu`, source: rendered.gemm.source, symbol: rendered.gemm.symbol },
      });
      const inputs = randomInputs(subject.spec, TIMING_SHAPE.M, TIMING_SHAPE.N, TIMING_SHAPE.K, ctx.seed);
      const measure = async () => {
        const run = await runLayer({ spec: subject.spec, tiles: subject.tiles, target: subject.target, backend: 'gpu', inputs, built, time: { l2Bytes: subject.target.l2MiB * 1024 * 1024 } });
        const t = run.timing!.total;
        return { medianUs: 1000 * t.median_ms, spreadUs: 1000 * (t.p90_ms - t.p10_ms) };
      };
      const base = ctx.baseline.subjects[subject.id]?.measuredUs?.[gpuName];
      const verdict = await judgeTiming(measure, base);
      (observedFor(ctx, subject, rendered).measuredUs ??= {})[gpuName] = Math.round(verdict.bestUs * 1000) / 1000;
      results.push(metricsCase(name, [verdict.metric], base !== undefined, `${verdict.bestUs.toFixed(2)} µs median (${verdict.attempts} attempt(s))`, (performance.now() - t0) / 1000));
    } catch (e) {
      results.push({ stage: 'traffic', name, status: 'failed', message: `GPU timing failed: ${(e as Error).message.split('\n')[0]}`, metrics: [], seconds: (performance.now() - t0) / 1000 });
    }
  }
  return results;
}
