// The stages that run kernels on the emulator, in one file so the harness builds are shared:
//   - planted: a kernel made wrong in one epilogue (the GELU → qnext GEMM with GELU swapped for SiLU,
//     a plausible template slip): its cases fail and name the check; the untouched subject passes.
//   - planted: a kernel that moves more bytes: counters above the baseline (the baseline's GEMM load
//     bytes and sectors set 20 % below what the kernel moves) are flagged, by how much; nothing else is.
//   - the happy path of the whole suite on a one-subject slice of the quick budget: record a baseline,
//     run again, everything passes; JSON and JUnit reports are well formed.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyBaseline, readBaseline, type Traffic } from '../../regress/baseline.js';
import type { StageContext } from '../../regress/context.js';
import { renderJsonReport, renderJunitReport } from '../../regress/report-files.js';
import { renderConsoleReport, makeChalk } from '../../regress/report-console.js';
import { correctnessStage } from '../../regress/stage-correctness.js';
import { compareTraffic, trafficStage } from '../../regress/stage-traffic.js';
import { runRegress } from '../../regress/suite.js';
import type { CaseResult, RegressReport } from '../../regress/types.js';
import { freshGenerated, geluSubject, NO_GPU, plainSubject, tempDir } from './helpers.js';
import { expectWellFormedXml } from './xml.js';

const swapGelu = (uri: string, source: string): string =>
  uri.includes('gelu') ? source.replace('svdq::epilogue::Gelu<Cfg>::apply(ctx, y);', 'svdq::epilogue::Silu<Cfg>::apply(ctx, y);') : source;

function context(over: Partial<StageContext> = {}): StageContext {
  return { subjects: [plainSubject()], budget: 'quick', baseline: emptyBaseline(), observed: {}, generatedDir: '/nonexistent', concurrency: 2, nvccFlags: [], gpu: NO_GPU, seed: 1, log: () => undefined, ...over };
}

describe('regress stages 3 and 4 on the emulator', () => {
  let ctx: StageContext;
  let correctness: CaseResult[];
  let traffic: CaseResult[];
  beforeAll(async () => {
    ctx = context({ subjects: [plainSubject(), geluSubject()], transform: swapGelu });
    correctness = await correctnessStage(ctx);
    traffic = await trafficStage(ctx); // reads the same emulator runs
  });

  it('the planted transform really changes the GELU kernel source', () => {
    expect(swapGelu('w4a4_x_gelu', 'a svdq::epilogue::Gelu<Cfg>::apply(ctx, y); b')).toContain('Silu');
  });

  it('runs M = 1 and odd M for every subject and says the GPU path was skipped', () => {
    expect(correctness.filter((c) => c.name.endsWith('(emu)')).map((c) => c.name.replace(/^\S+ /, ''))).toEqual([
      'M=1 N=256 K=512 (emu)',
      'M=145 N=256 K=512 (emu)',
      'M=1 N=256 K=512 (emu)',
      'M=145 N=256 K=512 (emu)',
    ]);
    const gpu = correctness.find((c) => c.name === 'GPU harness')!;
    expect(gpu.status).toBe('skipped');
    expect(gpu.message).toContain('test: no GPU');
  });

  it('the untouched subject passes with the memory checker on', () => {
    const plain = correctness.filter((c) => c.name.startsWith(`${plainSubject().id} `));
    expect(plain.map((c) => c.status)).toEqual(['passed', 'passed']);
    expect(plain[0].message).toMatch(/act codes/);
  });

  it('planted: the kernel wrong in its GELU epilogue regresses on both shapes, naming the check', () => {
    const gelu = correctness.filter((c) => c.name.startsWith(`${geluSubject().id} `));
    expect(gelu.map((c) => c.status)).toEqual(['regressed', 'regressed']);
    expect(gelu[0].message).toMatch(/differs from the reference — .*(qnext|next X·L1)/);
  });

  it('records counters and a predicted time per subject, as new cases without a baseline', () => {
    const id = plainSubject().id;
    expect(Object.keys(ctx.observed[id].traffic!).sort()).toEqual(['M=1 N=256 K=512', 'M=145 N=256 K=512']);
    expect(ctx.observed[id].traffic!['M=145 N=256 K=512'].gemm.globalLoadBytes).toBeGreaterThan(0);
    expect(ctx.observed[id].predictedUs!['flux.1-dev']).toBeGreaterThan(0);
    expect(traffic.filter((c) => c.status !== 'skipped').every((c) => c.status === 'new')).toBe(true);
    expect(ctx.observed[id].measuredUs).toBeUndefined(); // no GPU: no measured time is claimed
  });

  it('planted: a GEMM moving more bytes than the baseline is flagged, by how much', async () => {
    const id = plainSubject().id;
    const baseline = emptyBaseline();
    baseline.subjects[id] = structuredClone(ctx.observed[id]);
    const odd = baseline.subjects[id].traffic!['M=145 N=256 K=512'].gemm;
    const moved = odd.globalLoadBytes;
    odd.globalLoadBytes = Math.round(moved / 1.2);
    odd.globalLoadSectors = Math.round(odd.globalLoadSectors / 1.2);
    const again = context({ subjects: ctx.subjects, baseline, emu: ctx.emu });
    const cases = await trafficStage(again);
    const bad = cases.filter((c) => c.status === 'regressed');
    expect(bad.map((c) => c.name)).toEqual([`${id} M=145 N=256 K=512`]);
    const load = bad[0].metrics.find((m) => m.metric === 'gemm global load bytes')!;
    expect(load).toMatchObject({ regressed: true, current: moved, baseline: Math.round(moved / 1.2) });
    expect(bad[0].metrics.filter((m) => m.regressed).map((m) => m.metric)).toEqual(['gemm global load bytes', 'gemm global load sectors']);
    expect(renderConsoleReport({ ok: false, budget: 'quick', archs: ['sm_89'], catalogs: [], subjects: [id], toolchain: {}, stages: [], cases: bad, seconds: 1, baselineFile: 'b.json' }, makeChalk({ NO_COLOR: '1' }))).toMatch(
      /gemm global load bytes: \d+ → \d+ \(\+\d+ \(\+20\.0 %\); tolerance \+0\.5 %\)/,
    );
  });

  it('compares every counter against the baseline with its tolerance', () => {
    const base: Traffic = { globalLoadBytes: 1000, globalStoreBytes: 100, globalLoadSectors: 40, globalStoreSectors: 4, sharedBankConflicts: 0 };
    expect(compareTraffic('gemm', base, base).some((m) => m.regressed)).toBe(false);
    const more = compareTraffic('gemm', { ...base, globalStoreBytes: 120, sharedBankConflicts: 3 }, base);
    expect(more.filter((m) => m.regressed).map((m) => m.metric)).toEqual(['gemm global store bytes', 'gemm shared bank conflicts']);
  });
});

describe('regress suite happy path (one quick-budget subject)', () => {
  let dir: string;
  let first: RegressReport;
  let second: RegressReport;
  beforeAll(async () => {
    dir = await tempDir('suite');
    const generatedDir = await freshGenerated();
    const common = { subjects: [plainSubject()], generatedDir, baselineFile: path.join(dir, 'baseline.json'), gpu: NO_GPU, stages: ['source', 'compile', 'correctness', 'traffic'] as const, budget: 'quick' as const };
    first = await runRegress({ ...common, updateBaseline: true });
    second = await runRegress(common);
  });

  it('the first run records a baseline and shows what it added', async () => {
    expect(first.cases.some((c) => c.status === 'new')).toBe(true);
    expect(first.ok).toBe(true);
    expect(first.baselineChanges!.some((l) => /^\+ subjects\.rtx4090\/.*\.compile\.gemm\.registers: \d+$/.test(l))).toBe(true);
    const b = await readBaseline(path.join(dir, 'baseline.json'));
    expect(Object.keys(b.subjects)).toEqual([plainSubject().id]);
  });

  it('the second run passes every case against it', () => {
    expect(second.ok).toBe(true);
    expect(second.cases.filter((c) => c.status !== 'skipped').every((c) => c.status === 'passed')).toBe(true);
    expect(second.stages.map((s) => s.stage)).toEqual(['source', 'compile', 'correctness', 'traffic']);
    expect(renderConsoleReport(second, makeChalk({ NO_COLOR: '1' }))).toMatch(/^OK: \d+\/\d+ cases passed, nothing regressed/m);
  });

  it('writes a JSON report that parses back to the same report', () => {
    const json = JSON.parse(renderJsonReport(second));
    expect(json.format).toBe('svdq-regress-report/1');
    expect(json.ok).toBe(true);
    expect(json.cases.length).toBe(second.cases.length);
  });

  it('writes well-formed JUnit XML with one testsuite per stage', async () => {
    const bad: RegressReport = { ...second, ok: false, cases: [...second.cases, { stage: 'traffic', name: 'a <b> & "c"', status: 'regressed', message: 'x\u001b[31m < y', metrics: [], seconds: 0 }] };
    bad.stages = bad.stages.map((s) => (s.stage === 'traffic' ? { ...s, regressed: 1 } : s));
    const xml = renderJunitReport(bad);
    expectWellFormedXml(xml);
    expect((xml.match(/<testsuite /g) ?? []).length).toBe(4);
    expect((xml.match(/<testcase /g) ?? []).length).toBe(bad.cases.length);
    expect(xml).toContain('name="a &lt;b&gt; &amp; &quot;c&quot;"');
    expect(xml).toMatch(/<failure message="x &lt; y" type="regression">/);
    expect(xml).toMatch(/<testsuites [^>]*failures="1"/);
    await fs.writeFile(path.join(dir, 'junit.xml'), xml);
  });
});
