// Tuner speed (tinybench): codegen (plan + render) of every W4A4 layer of every built-in catalog,
// cost-model evaluation of the whole pruned space for FLUX.1-dev's shapes, and `tune --gpu sm_89`
// (FLUX.1-dev, model mode) cold (fresh build cache and database) and warm (everything resumed).
// Targets: cold in a few minutes on 2 cores without a GPU, warm in seconds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Bench } from 'tinybench';
import { planLayer } from '../codegen/plan/index.js';
import { renderKernel } from '../codegen/render.js';
import { CATALOGS, specsFor } from '../dsl/models/index.js';
import { resolveGpu } from '../dsl/targets.js';
import { actCandidates, gemmCandidates } from '../tuner/candidates.js';
import { buildJobs } from '../tuner/jobs.js';
import { tune } from '../tuner/tune.js';

export interface TunerBenchOptions {
  /** Skip the cold tune (it compiles with nvcc for minutes). */
  skipCold?: boolean;
}

export async function benchTuner(options: TunerBenchOptions = {}): Promise<Bench[]> {
  const target = resolveGpu('sm_89');
  const gemmTile = { blockM: 128, blockN: 128, blockK: 64, warpsM: 4, warpsN: 2, stages: 2, staging: 'smem', accum: 'f32' } as const;
  const actTile = { blockM: 64, blockK: 128, warps: 4 };
  const specs = CATALOGS.flatMap((c) => specsFor(c).map((s) => s.spec));
  const fluxJobs = buildJobs(target, {});
  const work = await mkdtemp(path.join(tmpdir(), 'svdq-bench-tuner-'));
  const warmDb = path.join(work, 'warm.json');
  let cold = 0;

  const bench = new Bench({ name: 'tuner', time: 0, iterations: 3, warmupIterations: 0 });
  bench
    .add(`codegen: plan + render ${specs.length} catalog layers (${CATALOGS.length} models)`, () => {
      for (const spec of specs) {
        const plan = planLayer(spec, { gemm: gemmTile, act: actTile }, target);
        renderKernel(plan.gemm);
        renderKernel(plan.act);
      }
    })
    .add(`cost model: whole pruned space × ${fluxJobs.length} FLUX.1-dev jobs`, () => {
      for (const j of fluxJobs) {
        gemmCandidates(j.spec, j.problem, target);
        if (j.needsAct) actCandidates(j.spec, j.problem, target);
      }
    });
  // Tune runs take seconds to minutes: one iteration each.
  const tuneBench = new Bench({ name: 'tune', time: 0, iterations: 1, warmupIterations: 0 });
  if (!options.skipCold) {
    tuneBench.add(
      'tune --gpu sm_89 (FLUX.1-dev, model mode) cold: empty build cache and database',
      async () => {
        const dir = path.join(work, `cold-${cold++}`);
        const saved = process.env.SVDQ_CACHE_DIR;
        process.env.SVDQ_CACHE_DIR = path.join(dir, 'cache');
        try {
          await tune({ gpu: 'sm_89', mode: 'model', db: path.join(dir, 'tune.json') });
        } finally {
          if (saved === undefined) delete process.env.SVDQ_CACHE_DIR;
          else process.env.SVDQ_CACHE_DIR = saved;
        }
      },
    );
  }
  tuneBench.add(
    'tune --gpu sm_89 (FLUX.1-dev, model mode) warm: every shape resumed',
    async () => {
      await tune({ gpu: 'sm_89', mode: 'model', db: warmDb });
    },
    {
      beforeAll: async () => {
        await tune({ gpu: 'sm_89', mode: 'model', db: warmDb });
      },
    },
  );
  await bench.run();
  console.table(bench.table());
  await tuneBench.run();
  console.table(tuneBench.table());
  await rm(work, { recursive: true, force: true });
  const failed = [...bench.tasks, ...tuneBench.tasks].find((t) => t.result?.error);
  if (failed) throw failed.result!.error;
  return [bench, tuneBench];
}
