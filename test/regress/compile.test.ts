// Planted regression: a config that now spills. Against a baseline of 0 spill bytes, a ptxas report
// with spills fails; and a real build whose launch bounds now ask for 3 resident blocks of 256
// threads per SM (≤ 85 registers: the kernel needs 159) spills and is caught by the stage. (A plain
// -maxrregcount does not work: __launch_bounds__ overrides it.)
import { describe, expect, it } from 'vitest';
import { emptyBaseline, type Resources } from '../../regress/baseline.js';
import type { StageContext } from '../../regress/context.js';
import { compileStage, resourceCase, resourcesOf } from '../../regress/stage-compile.js';
import { parsePtxas } from '../../codegen/nvcc.js';
import { NO_GPU, plainSubject } from './helpers.js';

const SPILLING_PTXAS = `ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z6kernelv' for 'sm_89'
ptxas info    : Function properties for _Z6kernelv
    48 bytes stack frame, 40 bytes spill stores, 40 bytes spill loads
ptxas info    : Used 64 registers, used 1 barriers, 48 bytes cumulative stack size, 504 bytes cmem[0]`;

const clean: Resources = { registers: 159, spillStoreBytes: 0, spillLoadBytes: 0, smemBytes: 0, dynamicSmemBytes: 17408, stackBytes: 0 };

describe('regress stage 2: compile matrix', () => {
  it('fails a kernel that now spills, whatever the register count did', () => {
    const now = resourcesOf(parsePtxas(SPILLING_PTXAS), 17408);
    expect(now).toMatchObject({ registers: 64, spillStoreBytes: 40, spillLoadBytes: 40, stackBytes: 48 });
    const c = resourceCase('k gemm', now, clean, 0);
    expect(c.status).toBe('regressed');
    expect(c.metrics.filter((m) => m.regressed).map((m) => m.metric)).toEqual(['spill store bytes', 'spill load bytes', 'stack bytes']);
    expect(c.message).toMatch(/^spill store bytes, spill load bytes, stack bytes beyond tolerance/);
  });

  it('fails register growth beyond tolerance and shared-memory growth; passes the baseline itself', () => {
    expect(resourceCase('k', { ...clean, registers: 170 }, clean, 0).status).toBe('regressed');
    expect(resourceCase('k', { ...clean, registers: 162 }, clean, 0).status).toBe('passed');
    expect(resourceCase('k', { ...clean, dynamicSmemBytes: 17408 + 16 }, clean, 0).status).toBe('regressed');
    expect(resourceCase('k', clean, undefined, 0).status).toBe('new');
  });

  it('catches a real spill: the sm_89 GEMM with __launch_bounds__(256, 3)', async () => {
    const subject = plainSubject();
    const transform = (uri: string, source: string) => (uri.startsWith('w4a4_') ? source.replace('__launch_bounds__(256)', '__launch_bounds__(256, 3)') : source);
    const ctx: StageContext = { subjects: [subject], budget: 'quick', baseline: emptyBaseline(), observed: {}, generatedDir: '/nonexistent', concurrency: 2, nvccFlags: [], transform, gpu: NO_GPU, seed: 1, log: () => undefined };
    ctx.baseline.subjects[subject.id] = { uris: { act: 'a', gemm: 'g' }, compile: { act: { ...clean, registers: 127, dynamicSmemBytes: 0 }, gemm: clean } };
    const cases = await compileStage(ctx);
    const gemm = cases.find((c) => c.name.includes(' gemm '))!;
    expect(gemm.status).toBe('regressed');
    const spill = gemm.metrics.find((m) => m.metric === 'spill store bytes')!;
    expect(spill.current).toBeGreaterThan(0);
    expect(spill.regressed).toBe(true);
    expect(ctx.observed[subject.id].compile!.gemm.registers).toBeLessThanOrEqual(85);
    // the activation kernel was not squeezed: no spill there
    expect(cases.find((c) => c.name.includes(' act '))!.metrics.filter((m) => m.metric.startsWith('spill') && m.regressed)).toEqual([]);
  });
});
