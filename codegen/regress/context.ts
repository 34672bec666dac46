// What every stage of a run shares: the subjects, the baseline read at the start, the baseline being
// observed (what --update-baseline writes), options, and the emulator runs that the correctness and
// traffic stages both read (run once, memoized).
import os from 'node:os';
import { buildMany } from '../cache.js';
import { buildHarness } from '../../runtime/harness/harness.js';
import { runLayer } from '../../runtime/harness/run-layer.js';
import { compareLayer, type Comparison } from '../../runtime/harness/compare.js';
import { randomInputs } from '../../runtime/harness/verify.js';
import type { EmuCounters } from '../../runtime/emu/build.js';
import type { GpuInfo } from '../../runtime/harness/gpu.js';
import type { Baseline, SubjectBaseline } from './baseline.js';
import { edgeCases, renderLayer, type EdgeCase, type RenderedLayer, type SourceTransform } from './cases.js';
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

/** Every subject's edge cases on the emulator (memory checker on), compared with the reference. */
export function emuRuns(ctx: StageContext): Promise<EmuCaseRun[]> {
  ctx.emu ??= (async () => {
    const work = ctx.subjects.flatMap((subject) => edgeCases(subject, ctx.budget).map((edge) => ({ subject, edge })));
    const outcomes = await buildMany(
      work.map(({ subject, edge }) => ({
        label: `${subject.id} ${edge.name}`,
        run: async (): Promise<EmuCaseRun> => {
          const t0 = performance.now();
          const seconds = () => (performance.now() - t0) / 1000;
          let rendered: RenderedLayer | undefined;
          try {
            rendered = renderLayer(edge.spec, edge.tiles, subject, ctx.transform);
            const built = await buildHarness('emu', subject.arch, {
              act: { name: `${rendered.act.uri}.cu`, source: rendered.act.source, symbol: rendered.act.symbol },
              gemm: { name: `${rendered.gemm.uri}.cu`, source: rendered.gemm.source, symbol: rendered.gemm.symbol },
            });
            const inputs = randomInputs(edge.spec, edge.M, edge.N, edge.K, ctx.seed);
            const run = await runLayer({ spec: edge.spec, tiles: edge.tiles, target: subject.target, backend: 'emu', inputs, built });
            const comparison = compareLayer(run, inputs, edge.spec);
            ctx.log(`emulated ${subject.id} ${edge.name}: ${comparison.passed ? 'ok' : 'MISMATCH'} (${seconds().toFixed(1)} s)`);
            return { subject, edge, rendered, comparison, counters: run.counters, seconds: seconds() };
          } catch (e) {
            const error = (e as Error).message.split('\n').slice(0, 6).join('\n');
            ctx.log(`emulated ${subject.id} ${edge.name}: ERROR ${error.split('\n')[0]}`);
            return { subject, edge, rendered, error, seconds: seconds() };
          }
        },
      })),
      { concurrency: ctx.concurrency },
    );
    return outcomes.map((o, i) => (o.ok ? o.value : { ...work[i], error: String(o.error), seconds: 0 }));
  })();
  return ctx.emu;
}
