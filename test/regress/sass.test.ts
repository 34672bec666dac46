// Stage "sass": the main-loop view against the baseline. Pure rules first (growth beyond 2 %, MUFU /
// CALL / division in the GEMM loop fail whatever the baseline says, other levels are not compared),
// then the stage on the sm_89 FLUX subject: its own observation as baseline, and a planted regression
// (__launch_bounds__(256, 3) forces ptxas to ≤ 85 registers: spill code lands in the main loop).
import { describe, expect, it } from 'vitest';
import { emptyBaseline, type SassBaseline } from '../../regress/baseline.js';
import type { StageContext } from '../../regress/context.js';
import { compareSass, sassStage } from '../../regress/stage-sass.js';
import { NO_GPU, plainSubject } from './helpers.js';

const clean: SassBaseline = { level: 'sass', instrPerStep: 13, barriersPerIteration: 1, hasMufu: false, hasCall: false, hasDivision: false, hasBssy: false };
const bad = (c: SassBaseline, b: SassBaseline | undefined, kind: 'act' | 'gemm' = 'gemm') => compareSass(kind, c, b).filter((m) => m.regressed).map((m) => m.metric);

describe('compareSass', () => {
  it('instructions per step may grow by 2 %', () => {
    expect(bad({ ...clean, instrPerStep: 13.26 }, clean)).toEqual([]);
    expect(bad({ ...clean, instrPerStep: 13.27 }, clean)).toEqual(['instructions per MMA (sass)']);
    expect(bad({ ...clean, instrPerStep: 2000 }, { ...clean, instrPerStep: 1900 }, 'act')).toEqual(['instructions per 64 elements (sass)']);
  });

  it('MUFU, CALL or division in the GEMM main loop fails, with or without a baseline that had it', () => {
    const dirty = { ...clean, hasMufu: true, hasCall: true, hasDivision: true };
    const rules = ['MUFU in the main loop', 'CALL in the main loop', 'division in the main loop'];
    expect(bad(dirty, clean)).toEqual(rules);
    expect(bad(dirty, dirty)).toEqual(rules);
    expect(bad(dirty, undefined)).toEqual(rules);
    // the activation loop may hold a per-group reciprocal: only growth counts there
    expect(bad(dirty, clean, 'act')).toEqual([]);
  });

  it('a baseline of another level (PTX vs SASS) is not compared', () => {
    const m = compareSass('gemm', clean, { ...clean, level: 'ptx', instrPerStep: 1 });
    expect(m[0].baseline).toBeUndefined();
  });
});

describe('sassStage', () => {
  const ctxFor = (baseline: StageContext['baseline'], transform?: StageContext['transform']): StageContext => ({
    subjects: [plainSubject()],
    budget: 'quick',
    baseline,
    observed: {},
    generatedDir: '/nonexistent',
    concurrency: 1,
    nvccFlags: [],
    transform,
    gpu: NO_GPU,
    seed: 1,
    log: () => undefined,
  });

  it('records both kernels, passes against its own observation, and catches spill code in the loop', async () => {
    const subject = plainSubject();
    const first = ctxFor(emptyBaseline());
    const cases = await sassStage(first);
    expect(cases.map((c) => c.name.split(' ')[1])).toEqual(['act', 'gemm']);
    const observed = first.observed[subject.id].sass!;
    expect(observed.gemm.level).toBe('sass');
    expect(observed.gemm.instrPerStep).toBeGreaterThan(0);
    expect(observed.act.instrPerStep).toBeGreaterThan(0);

    const baseline = emptyBaseline();
    baseline.subjects[subject.id] = { uris: first.observed[subject.id].uris, sass: observed };
    const again = await sassStage(ctxFor(baseline));
    const gemmRules = observed.gemm.hasMufu || observed.gemm.hasCall || observed.gemm.hasDivision;
    expect(again.find((c) => c.name.includes(' act '))!.status).toBe('passed');
    expect(again.find((c) => c.name.includes(' gemm '))!.status).toBe(gemmRules ? 'regressed' : 'passed');

    const spill = (uri: string, source: string) => (uri.startsWith('w4a4_') ? source.replace('__launch_bounds__(256)', '__launch_bounds__(256, 3)') : source);
    const planted = await sassStage(ctxFor(baseline, spill));
    const g = planted.find((c) => c.name.includes(' gemm '))!;
    expect(g.status).toBe('regressed');
    expect(g.metrics.find((m) => m.metric === 'instructions per MMA (sass)')!.regressed).toBe(true);
  });
});
