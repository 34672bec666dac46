// Stage 3, correctness: every subject's edge-shape cases (M = 1, odd M, the largest rank in the full
// budget; each epilogue chain of the catalog is its own subject) run on the emulator with the memory
// checker on and are compared with the kernel-precision reference (runtime/harness/compare.ts). On a
// machine with a CUDA GPU of the subject's arch the same cases run through the real harness.
import { runLayer } from '../runtime/harness/run-layer.js';
import { compareLayer, type Comparison } from '../runtime/harness/compare.js';
import { buildHarness } from '../runtime/harness/harness.js';
import { edgeCases, edgeInputs, renderLayer } from './cases.js';
import { emuRuns, type StageContext } from './context.js';
import type { CaseResult } from './types.js';

/** The failing checks of a comparison in one line. */
export function describeMismatch(c: Comparison): string {
  return c.checks
    .filter((x) => !x.passed)
    .map((x) => `${x.name}: ${x.detail}`)
    .join('; ');
}

function comparisonCase(name: string, c: Comparison, seconds: number): CaseResult {
  return {
    stage: 'correctness',
    name,
    status: c.passed ? 'passed' : 'regressed',
    message: c.passed
      ? `${c.checks.map((x) => x.name).join(', ')} within tolerance (Y ${Number.isNaN(c.yBitExact) ? 'not stored' : `${(100 * c.yBitExact).toFixed(1)} % bit-exact`})`
      : `differs from the reference — ${describeMismatch(c)}`,
    metrics: [],
    seconds,
  };
}

export async function correctnessStage(ctx: StageContext): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const run of await emuRuns(ctx)) {
    const name = `${run.subject.id} ${run.edge.name} (emu)`;
    if (run.error || !run.comparison) {
      results.push({ stage: 'correctness', name, status: 'failed', message: `could not run on the emulator: ${run.error ?? 'no result'}`, metrics: [], seconds: run.seconds });
    } else {
      results.push(comparisonCase(name, run.comparison, run.seconds));
    }
  }
  if (!ctx.gpu.present) {
    results.push({ stage: 'correctness', name: 'GPU harness', status: 'skipped', message: `no CUDA GPU here (${ctx.gpu.reason}); the emulator cases above stand in`, metrics: [], seconds: 0 });
    return results;
  }
  const gpuArch = ctx.gpu.arch;
  for (const subject of ctx.subjects) {
    if (subject.arch !== gpuArch) continue;
    for (const edge of edgeCases(subject, ctx.budget)) {
      const t0 = performance.now();
      const name = `${subject.id} ${edge.name} (gpu)`;
      try {
        const rendered = renderLayer(edge.spec, edge.tiles, subject, ctx.transform);
        const built = await buildHarness('gpu', subject.arch, {
          act: { name: `${rendered.act.uri}.cu`, source: rendered.act.source, symbol: rendered.act.symbol },
          gemm: { name: `${rendered.gemm.uri}.cu`, source: rendered.gemm.source, symbol: rendered.gemm.symbol },
        });
        const inputs = edgeInputs(edge, ctx.seed);
        const run = await runLayer({ spec: edge.spec, tiles: edge.tiles, target: subject.target, backend: 'gpu', inputs, built });
        results.push(comparisonCase(name, compareLayer(run, inputs, edge.spec), (performance.now() - t0) / 1000));
      } catch (e) {
        results.push({ stage: 'correctness', name, status: 'failed', message: `GPU run failed: ${(e as Error).message.split('\n')[0]}`, metrics: [], seconds: (performance.now() - t0) / 1000 });
      }
    }
  }
  return results;
}
