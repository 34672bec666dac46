import { describe, expect, it } from 'vitest';
import { gemmTileProblems } from '../../codegen/plan/gemm.js';
import { resolveGpu } from '../../dsl/targets.js';
import { actCandidates, gemmCandidates, tuningSpace } from '../../tuner/candidates.js';
import { blocksPerSm } from '../../tuner/cost-model.js';
import { buildJobs } from '../../tuner/jobs.js';

const target = resolveGpu('sm_89');
const jobs = buildJobs(target, {});

describe('jobs from the FLUX.1-dev catalog', () => {
  it('one job per family × (N, K) × M bucket; fc2 has no activation kernel', () => {
    expect(jobs).toHaveLength(12);
    expect(new Set(jobs.map((j) => j.problem.m))).toEqual(new Set([512, 4096, 4608]));
    const fc2 = jobs.filter((j) => j.layers.some((l) => l.endsWith('mlp_fc2')));
    expect(fc2.every((j) => !j.needsAct && j.spec.activation.unsigned)).toBe(true);
    const fc1 = jobs.find((j) => j.layers.includes('double.img.mlp_fc1'))!;
    expect(fc1.spec.epilogue.map((e) => e.op)).toEqual(['bias', 'lowrank', 'gelu', 'qnext']);
  });

  it('merges layers of one shape bucket and rejects bad --shapes', () => {
    const merged = buildJobs(target, { shapes: ['4000x3072x3072', '4096x3072x3072'] });
    expect(merged).toHaveLength(1);
    expect(merged[0].layers).toEqual(['4000x3072x3072', '4096x3072x3072']);
    expect(() => buildJobs(target, { shapes: ['4096x3072'] })).toThrow(/--shapes: "4096x3072" is not valid/);
    expect(() => buildJobs(resolveGpu('h100'), {})).toThrow(/no 4-bit tensor-core path/);
  });
});

describe('static pruning', () => {
  const job = jobs.find((j) => j.layers.includes('double.img.mlp_fc1'))!;
  const pruned = gemmCandidates(job.spec, job.problem, target);

  it('keeps only plannable tiles that fit the target, fastest predicted first', () => {
    expect(pruned.ranked.length).toBeGreaterThan(10);
    expect(pruned.ranked.length + Object.values(pruned.dropped).reduce((a, b) => a + b, 0)).toBe(pruned.enumerated);
    for (const c of pruned.ranked) {
      expect(gemmTileProblems(job.spec, c.tile, target)).toEqual([]);
      expect(c.plan.smemBytes).toBeLessThanOrEqual(target.smemPerBlockKiB * 1024);
      expect(blocksPerSm(target, c.plan.threads, c.plan.regEstimate, c.plan.smemBytes)).toBeGreaterThanOrEqual(1);
      expect(c.estimate.label).toBe('predicted');
    }
    for (let i = 1; i < pruned.ranked.length; i++) expect(pruned.ranked[i].estimate.timeUs).toBeGreaterThanOrEqual(pruned.ranked[i - 1].estimate.timeUs);
  });

  it('drops tiles for a reason that names the knob (qnext warp width, registers, shared memory)', () => {
    const reasons = Object.keys(pruned.dropped);
    expect(reasons.some((r) => r.startsWith('tile.'))).toBe(true);
    expect(pruned.dropped['tile.blockN']).toBeGreaterThan(0); // qnext needs warp tile N multiple of 64
  });

  it('searches f16 accumulation only when asked', () => {
    expect(pruned.ranked.every((c) => c.tile.accum === 'f32')).toBe(true);
    const withF16 = gemmCandidates(job.spec, job.problem, target, tuningSpace(target, { allowF16Accum: true }));
    expect(withF16.ranked.some((c) => c.tile.accum === 'f16')).toBe(true);
  });

  it('ranks activation-kernel tiles too', () => {
    const a = actCandidates(job.spec, job.problem, target);
    expect(a.ranked.length).toBeGreaterThan(0);
    expect(a.ranked[0].plan.kind).toBe('act');
  });
});
