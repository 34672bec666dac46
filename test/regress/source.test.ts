// Planted regression: a stale generated file. A fresh copy of generated/ passes source replay; editing
// one kernel file (or deleting one, or leaving a stray one) is reported against exactly that file.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyBaseline } from '../../regress/baseline.js';
import type { StageContext } from '../../regress/context.js';
import { firstDifference, sourceStage } from '../../regress/stage-source.js';
import { fluxSubjects, freshGenerated, NO_GPU } from './helpers.js';

function context(generatedDir: string): StageContext {
  return { subjects: fluxSubjects(), budget: 'quick', baseline: emptyBaseline(), observed: {}, generatedDir, concurrency: 2, nvccFlags: [], gpu: NO_GPU, seed: 1, log: () => undefined };
}

describe('regress stage 1: source replay', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await freshGenerated();
  });

  it('passes on a generated/ that matches the generator', async () => {
    const cases = await sourceStage(context(dir));
    expect(cases.length).toBe(6); // 2 act + 3 GEMM kernels on sm_89, + the tree check
    expect(cases.every((c) => c.status === 'passed')).toBe(true);
  });

  it('catches a stale generated kernel file and names the line', async () => {
    const stale = await freshGenerated();
    const file = (await fs.readdir(path.join(stale, 'kernels', 'sm_89'))).find((f) => f.includes('gelu'))!;
    const p = path.join(stale, 'kernels', 'sm_89', file);
    await fs.writeFile(p, (await fs.readFile(p, 'utf8')).replace('svdq::epilogue::Gelu<Cfg>::apply(ctx, y);', 'svdq::epilogue::Silu<Cfg>::apply(ctx, y);'));
    const cases = await sourceStage(context(stale));
    const bad = cases.filter((c) => c.status === 'regressed');
    expect(bad.map((c) => c.name)).toEqual([`sm_89/${file.replace(/\.cu$/, '')}`]);
    expect(bad[0].message).toMatch(/Silu.*vs regenerated.*Gelu/);
    expect(bad[0].message).toContain('svdq-codegen gen');
  });

  it('catches a missing kernel file, a stray file and a stale manifest', async () => {
    const broken = await freshGenerated();
    const files = await fs.readdir(path.join(broken, 'kernels', 'sm_89'));
    await fs.rm(path.join(broken, 'kernels', 'sm_89', files[0]));
    await fs.writeFile(path.join(broken, 'kernels', 'sm_86', 'w4a4_old_kernel.cu'), '// no longer generated\n');
    const cases = await sourceStage(context(broken));
    const missing = cases.find((c) => c.name === `sm_89/${files[0].replace(/\.cu$/, '')}`)!;
    expect(missing.status).toBe('regressed');
    expect(missing.message).toMatch(/is missing/);
    const tree = cases.find((c) => c.name.startsWith('generated/ tree'))!;
    expect(tree.status).toBe('regressed');
    expect(tree.message).toMatch(/w4a4_old_kernel\.cu is no longer generated/);

    const manifestOnly = await freshGenerated();
    await fs.appendFile(path.join(manifestOnly, 'manifest.json'), ' ');
    const t = (await sourceStage(context(manifestOnly))).find((c) => c.name.startsWith('generated/ tree'))!;
    expect(t.status).toBe('regressed');
    expect(t.message).toMatch(/manifest\.json differs/);
  });

  it('reports the first differing line', () => {
    expect(firstDifference('a\nb\nc', 'a\nB\nc')).toBe('line 2: committed "b" vs regenerated "B"');
    expect(firstDifference('a', 'a\nb')).toBe('line 2: committed (end of file) vs regenerated "b"');
  });
});
