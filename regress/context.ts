// What every stage of a run shares: the subjects, the baseline read at the start, the baseline being
// observed (what --update-baseline writes), options, and the emulator runs that the correctness and
// traffic stages both read (run once, memoized).
import os from 'node:os';
import { buildMany } from '../codegen/cache.js';
import { buildHarness, type BuiltHarness } from '../runtime/harness/harness.js';
import { runLayer } from '../runtime/harness/run-layer.js';
import { compareLayer, type Comparison } from '../runtime/harness/compare.js';
import type { EmuCounters } from '../runtime/emu/build.js';
import type { GpuInfo } from '../runtime/harness/gpu.js';
import type { Baseline, SubjectBaseline } from './baseline.js';
import { edgeCases, edgeInputs, renderLayer, type EdgeCase, type RenderedLayer, type SourceTransform } from './cases.js';
import type { Budget, RegressSubject } from './types.js';

export interface StageContext {
  subjects: RegressSubject[];
  budget: Budget;
  baseline: Baseline;
  /** Filled by the stages: what this run measured, per subject id. */
  observed: Record<string, SubjectBaseline>;
  /** The committed generated/ tree that source replay compares with. */
  generatedDir: string;
  concurrency: number;
  /** Extra nvcc flags for the compile matrix (tests force spills with -maxrregcount). */
  nvccFlags: string[];
  transform?: SourceTransform;
  gpu: GpuInfo;
  seed: number;
  log: (line: string) => void;
  /** Memoized emulator runs (see emuRuns). */
  emu?: Promise<EmuCaseRun[]>;
}

export interface EmuCaseRun {
  subject: RegressSubject;
  edge: EdgeCase;
  rendered?: RenderedLayer;
  comparison?: Comparison;
  counters?: { act?: EmuCounters; gemm?: EmuCounters };
  /** The build or run could not complete. */
  error?: string;
  seconds: number;
}

export function observedFor(ctx: StageContext, subject: RegressSubject, rendered: RenderedLayer): SubjectBaseline {
  let o = ctx.observed[subject.id];
  if (!o) {
    o = { uris: { act: rendered.act.uri, gemm: rendered.gemm.uri } };
    ctx.observed[subject.id] = o;
  }
  return o;
}

export const defaultConcurrency = (): number => Math.max(1, os.availableParallelism());

/** One emulator harness per distinct kernel pair (the cases of a subject share it; parallel duplicates would race). */
function harnessOnce(): (subject: RegressSubject, r: RenderedLayer) => Promise<BuiltHarness> {
  const pending = new Map<string, Promise<BuiltHarness>>();
  return (subject, r) => {
    const key = [subject.arch, r.act.uri, r.act.source, r.gemm.uri, r.gemm.source].join('\u0000');
    let p = pending.get(key);
    if (!p) {
      p = buildHarness('emu', subject.arch, {
        act: { name: `${r.act.uri}.cu`, source: r.act.source, symbol: r.act.symbol },
        gemm: { name: `${r.gemm.uri}.cu`, source: r.gemm.source, symbol: r.gemm.symbol },
      });
      pending.set(key, p);
    }
    return p;
  };
}

/** Every subject's edge cases on the emulator (memory checker on), compared with the reference. */
export function emuRuns(ctx: StageContext): Promise<EmuCaseRun[]> {
  ctx.emu ??= (async () => {
    const harnessFor = harnessOnce();
    const work = ctx.subjects.flatMap((subject) => edgeCases(subject, ctx.budget).map((edge) => ({ subject, edge })));
    const outcomes = await buildMany(
      work.map(({ subject, edge }) => ({
        label: `${subject.id} ${edge.name}`,
        run: async (): Promise<EmuCaseRun> => {
          const t0 = performance.now();
          const seconds = () => (performance.now() - t0) / 1000;
          let rendered: RenderedLayer | undefined;
          let counters: EmuCaseRun['counters'];
          try {
            rendered = renderLayer(edge.spec, edge.tiles, subject, ctx.transform);
            const built = await harnessFor(subject, rendered);
            const inputs = edgeInputs(edge, ctx.seed);
            const run = await runLayer({ spec: edge.spec, tiles: edge.tiles, target: subject.target, backend: 'emu', inputs, built });
            counters = run.counters; // kept for the traffic stage even if the comparison itself throws
            const comparison = compareLayer(run, inputs, edge.spec);
            ctx.log(`emulated ${subject.id} ${edge.name}: ${comparison.passed ? 'ok' : 'MISMATCH'} (${seconds().toFixed(1)} s)`);
            return { subject, edge, rendered, comparison, counters: run.counters, seconds: seconds() };
          } catch (e) {
            // an internal error (not a UserError with its own explanation) names where it came from
            const where = (e as Error).name === 'RangeError' || (e as Error).name === 'TypeError' ? ` (${(e as Error).stack?.split('\n').find((l) => l.includes('.ts:'))?.trim() ?? 'no stack'})` : '';
            const error = `${(e as Error).message.split('\n').slice(0, 6).join('\n')}${where}`;
            ctx.log(`emulated ${subject.id} ${edge.name}: ERROR ${error.split('\n')[0]}`);
            return { subject, edge, rendered, counters, error, seconds: seconds() };
          }
        },
      })),
      { concurrency: ctx.concurrency },
    );
    return outcomes.map((o, i) => (o.ok ? o.value : { ...work[i], error: String(o.error), seconds: 0 }));
  })();
  return ctx.emu;
}
