// The orchestrator with its expensive edges replaced (fake compiler and runner): resume, crash
// recovery, concurrent runs on one database, shard/merge, spill fallback, measure-mode ranking.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../dsl/errors.js';
import { readDb } from '../../tuner/db.js';
import { compileOrder, gemmCandidates } from '../../tuner/candidates.js';
import { buildJobs } from '../../tuner/jobs.js';
import { mergeDbFiles } from '../../tuner/shard.js';
import { tune } from '../../tuner/tune.js';
import { tuneJson } from '../../bin/commands/tune.js';
import { estimateGemmPlan } from '../../tuner/estimate.js';
import { planGemm } from '../../codegen/plan/gemm.js';
import { parseUri } from '../../codegen/uri.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { TuneRecord } from '../../tuner/records.js';
import type { GemmTile } from '../../dsl/types.js';
import { fakeCompiler, fakeInspector, fakeRunner } from './fixtures/doubles.js';

const SHAPES = ['256x3072x3072', '512x1024x1024', '1000x1024x2048'];
const tmp = () => mkdtemp(join(tmpdir(), 'svdq-tune-'));
const CHILD = fileURLToPath(new URL('./fixtures/tune-child.ts', import.meta.url));
const base = { gpu: 'sm_89', mode: 'model' as const, report: false, dispatch: false as const };
const content = (r: TuneRecord) => ({ ...r, createdAt: '' });

describe('tune (model mode, fake compiler)', () => {
  it('records every shape bucket as predicted, then resumes without compiling anything', async () => {
    const db = join(await tmp(), 'db.json');
    const compiler = fakeCompiler();
    const first = await tune({ ...base, db, shapes: SHAPES, compiler });
    expect(first.mode).toBe('model');
    expect(first.tuned).toBe(3);
    expect(first.failures).toEqual([]);
    expect(first.records.every((r) => r.timing.label === 'predicted' && r.mode === 'model')).toBe(true);
    expect(first.records.map((r) => r.bucket.hi).sort((a, b) => a - b)).toEqual([256, 512, 1024]);
    expect(compiler.calls.length).toBeGreaterThan(0);
    const again = fakeCompiler();
    const second = await tune({ ...base, db, shapes: SHAPES, compiler: again });
    expect(second.resumed).toBe(3);
    expect(second.tuned).toBe(0);
    expect(again.calls).toEqual([]);
    expect(second.records.map(content)).toEqual(first.records.map(content));
  });

  it('compiles only the best few candidates per shape, not the space', async () => {
    const compiler = fakeCompiler();
    await tune({ ...base, db: join(await tmp(), 'db.json'), shapes: ['4096x3072x3072'], compiler, topK: 3, actTopK: 2 });
    // top-3 GEMMs + the default tile + the reference engine's tile (baseline) + 2 activation kernels
    expect(compiler.calls.length).toBe(7);
  });

  it('drops candidates that spill or fail to compile and takes the next ones', async () => {
    const target = resolveGpu('sm_89');
    const job = buildJobs(target, { shapes: ['4096x3072x3072'] })[0];
    const ranked = compileOrder(gemmCandidates(job.spec, job.problem, target).ranked).map((c) => c.plan.uri);
    const bad = new Set(ranked.slice(0, 3));
    const compiler = fakeCompiler({ spill: (u) => u === ranked[0] || u === ranked[1], fail: (u) => u === ranked[2] });
    const r = await tune({ ...base, db: join(await tmp(), 'db.json'), shapes: ['4096x3072x3072'], compiler, topK: 3 });
    const rec = r.records[0];
    expect(bad.has(rec.gemmUri)).toBe(false);
    // The next round's candidates, or the job's default tile (always compiled).
    expect([...ranked.slice(3, 6), rec.defaultTile!.gemmUri]).toContain(rec.gemmUri);
    expect(rec.resources.gemm.spillBytes).toBe(0);
    const status = new Map(rec.candidates.map((c) => [c.gemmUri, c.status]));
    expect(status.get(ranked[0])).toBe('spills');
    expect(status.get(ranked[2])).toBe('compile-error');
    expect(status.get(rec.gemmUri)).toBe('chosen');
  });

  it('a run that dies after its first record resumes with the rest', async () => {
    const db = join(await tmp(), 'db.json');
    let records = 0;
    const crash = tune({
      ...base,
      db,
      shapes: SHAPES,
      compiler: fakeCompiler(),
      onProgress: (e) => {
        if (e.phase === 'record' && ++records === 1) throw new Error('simulated crash');
      },
    });
    await expect(crash).rejects.toThrow('simulated crash');
    expect((await readDb(db)).records).toHaveLength(1);
    const resumed = await tune({ ...base, db, shapes: SHAPES, compiler: fakeCompiler() });
    expect(resumed.resumed).toBe(1);
    expect(resumed.tuned).toBe(2);
    expect((await readDb(db)).records).toHaveLength(3);
  });

  it('writes each job’s record as its compiles finish: a kill during a later compile keeps the first job (issue 15)', async () => {
    const db = join(await tmp(), 'db.json');
    let recorded = 0;
    const crash = tune({
      ...base,
      db,
      shapes: SHAPES,
      compiler: fakeCompiler(),
      concurrency: 1, // one job per chunk: its candidates, default and baseline tiles
      onProgress: (e) => {
        if (e.phase === 'record') recorded++;
        // the first compile after a record: a later job is compiling (jobs whose kernels are already
        // compiled — URIs do not depend on the shape — are recorded without compiling)
        if (e.phase === 'compile' && recorded > 0) throw new Error('simulated kill while compiling a later job');
      },
    });
    await expect(crash).rejects.toThrow('simulated kill');
    expect(recorded).toBeGreaterThan(0);
    expect(recorded).toBeLessThan(SHAPES.length);
    expect((await readDb(db)).records).toHaveLength(recorded);
    const resumed = await tune({ ...base, db, shapes: SHAPES, compiler: fakeCompiler() });
    expect([resumed.resumed, resumed.tuned]).toEqual([recorded, SHAPES.length - recorded]);
  });

  it('two tune processes on one database keep both runs’ records', async () => {
    const db = join(await tmp(), 'db.json');
    const run = (shapes: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(process.execPath, ['--import', 'tsx', CHILD, db, shapes.join(',')], { stdio: ['ignore', 'pipe', 'pipe'] });
        let err = '';
        c.stderr.on('data', (d) => (err += d));
        c.on('exit', (code) => resolve({ code, err }));
      });
    const [a, b] = await Promise.all([run(['256x3072x3072', '512x3072x3072', '64x3072x3072']), run(['256x1024x1024', '512x1024x1024', '64x1024x1024'])]);
    expect([a.code, b.code], a.err + b.err).toEqual([0, 0]);
    const records = (await readDb(db)).records;
    expect(records).toHaveLength(6);
    expect(new Set(records.map((r) => `${r.shape.m}x${r.shape.n}x${r.shape.k}`)).size).toBe(6);
  });

  it('shards merged equal the unsharded run', async () => {
    const dir = await tmp();
    const whole = await tune({ ...base, db: join(dir, 'whole.json'), shapes: SHAPES, compiler: fakeCompiler() });
    const s0 = await tune({ ...base, db: join(dir, 's0.json'), shapes: SHAPES, compiler: fakeCompiler(), shard: '0/2' });
    const s1 = await tune({ ...base, db: join(dir, 's1.json'), shapes: SHAPES, compiler: fakeCompiler(), shard: { index: 1, count: 2 } });
    expect(s0.jobs + s1.jobs).toBe(3);
    expect(s0.records.some((r) => s1.records.some((q) => q.key === r.key))).toBe(false);
    const merged = await mergeDbFiles([join(dir, 's0.json'), join(dir, 's1.json')], join(dir, 'merged.json'));
    expect(merged.db.records.map(content)).toEqual((await readDb(join(dir, 'whole.json'))).records.map(content));
    expect(whole.records).toHaveLength(3);
  });

  it('writes a deterministic dispatch header and an HTML report next to the database', async () => {
    const dir = await tmp();
    const r = await tune({ gpu: 'sm_89', mode: 'model', db: join(dir, 'tune.json'), shapes: SHAPES, compiler: fakeCompiler() });
    expect(r.dispatchPath).toBe(join(dir, 'dispatch', 'rtx4090.h'));
    expect(r.reportPath).toBe(join(dir, 'tune.html'));
    const header = await readFile(r.dispatchPath!, 'utf8');
    for (const rec of r.records) expect(header).toContain(rec.gemmUri);
    expect(await readFile(r.reportPath!, 'utf8')).toContain('<svg id="roofline"');
  });

  it('refuses --mode measure without a GPU and explains', async () => {
    const err = await tune({ ...base, mode: 'measure', db: join(await tmp(), 'db.json'), shapes: SHAPES, compiler: fakeCompiler() }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/--mode measure: no CUDA GPU found/);
  });

  it('auto mode falls back to the model and says why', async () => {
    const r = await tune({ ...base, mode: 'auto', db: join(await tmp(), 'db.json'), shapes: ['256x1024x1024'], compiler: fakeCompiler() });
    expect(r.mode).toBe('model');
    expect(r.modeReason).toMatch(/no GPU/);
  });
});

describe('tune (model mode, compiled counts from a fake inspector)', () => {
  it('records the baseline, the ratio, the default tile and counts; totals a FLUX.1-dev forward', async () => {
    const inspector = fakeInspector();
    const r = await tune({ ...base, db: join(await tmp(), 'db.json'), compiler: fakeCompiler(), inspector, topK: 2, actTopK: 1 });
    expect(r.failures).toEqual([]);
    expect(r.records.length).toBe(12);
    for (const rec of r.records) {
      expect(rec.baseline?.label).toBe('predicted');
      expect(rec.baseline!.gemmUri).toMatch(/_m256n128k64_w8x1_s2_(reg|smem)_f16acc_/);
      expect(rec.baseline!.paddedM % 256).toBe(0);
      expect(rec.vsBaseline).toBeCloseTo(rec.baseline!.timeUs / rec.predictedTimeUs!, 9);
      expect(rec.mainLoop?.counts).toBe('sass');
      expect(rec.countPerForward).toBeGreaterThan(0);
      // The chosen tile has no more instr/MMA than the default unless the record says why.
      const more = rec.mainLoop!.instrPerMma > rec.defaultTile!.mainLoop!.instrPerMma;
      expect(more ? rec.defaultTile!.why : undefined, rec.layers[0]).toEqual(more ? expect.stringMatching(/but predicted/) : undefined);
      // A GEMM-only layer (fc2: no activation kernel) is labelled by its largest predicted term.
      const t = rec.predictedTerms!;
      const terms: [string, number][] = [['compute', t.tensorUs], ['issue', t.issueUs], ['pipe', t.pipeUs], ['lowrank', t.lowrankUs], ['memory', t.memoryUs], ['launch', t.launchUs]];
      if (rec.actUri === null) expect(rec.timing.bound).toBe(terms.reduce((a, b) => (b[1] > a[1] ? b : a))[0]);
    }
    const totals = r.totals!;
    const sum = r.records.reduce((s, x) => s + x.predictedTimeUs! * x.countPerForward!, 0);
    expect(totals.modelTotalUs).toBeCloseTo(sum, 6);
    expect(totals.vsBaseline).toBeCloseTo(totals.modelTotalBaselineUs / totals.modelTotalUs, 9);
    // 19 double-stream blocks × 2 streams × 4 layers + 38 single-stream × 4 layers = 304 GEMMs per forward.
    expect(r.records.reduce((s, x) => s + x.countPerForward!, 0)).toBe(304);
    expect(totals.byKind.map((k) => k.kind)).toEqual(['attn_out', 'mlp_fc1', 'mlp_fc2', 'qkv']);
    // --json carries the documented names.
    const json = tuneJson(r);
    expect(json.modelTotalUs).toBe(totals.modelTotalUs);
    expect(json.modelTotalBaselineUs).toBe(totals.modelTotalBaselineUs);
    expect(json.vsBaseline).toBe(totals.vsBaseline);
    for (const x of json.records) {
      expect(x.baseline?.label).toBe('predicted');
      expect(x.vsBaseline).toBeGreaterThan(0);
      expect(x.mainLoop?.instrPerMma).toBeGreaterThan(0);
    }
  });

  it('prices fc2 with the lora_act slices its fc1 producer wrote', async () => {
    const r = await tune({ ...base, db: join(await tmp(), 'db.json'), compiler: fakeCompiler(), inspector: fakeInspector(), topK: 1, actTopK: 1 });
    const fc1 = r.records.find((x) => x.layers.includes('double.img.mlp_fc1'))!;
    const fc2 = r.records.find((x) => x.layers.includes('double.img.mlp_fc2'))!;
    expect(fc2.actUri).toBeNull();
    const blockN = Number(/_m\d+n(\d+)k/.exec(fc1.gemmUri)![1]);
    const target = resolveGpu('sm_89');
    const parsed = parseUri(fc2.gemmUri);
    if (parsed.kind !== 'gemm') throw new Error('fc2 URI is not a GEMM');
    const plan = planGemm(parsed.spec, parsed.tile, target);
    const compiled = (await fakeInspector()([plan], target)).get(plan.uri)!;
    const use = { registers: fc2.resources.gemm.registers, smemBytes: fc2.resources.gemm.smemBytes };
    const at = (slices: number) => estimateGemmPlan(plan, fc2.shape, target, use, { compiled, slices });
    expect(fc2.predictedTerms!.memoryUs).toBeCloseTo(at(12288 / blockN).memoryUs, 6);
    expect(at(12288 / blockN).memoryUs).toBeGreaterThan(at(1).memoryUs);
  });
});

describe('tune (measure mode on the emulator backend, fake runner)', () => {
  it('gates every candidate, times the survivors interleaved and keeps the fastest measured', async () => {
    // The runner's timing favours large blockN; the best-predicted candidate computes wrong results.
    const target = resolveGpu('sm_89');
    const job = buildJobs(target, { shapes: ['512x1024x1024'] })[0];
    const top = gemmCandidates(job.spec, job.problem, target).ranked[0].tile;
    const isTop = (t: GemmTile) => JSON.stringify(t) === JSON.stringify(top);
    const runner = fakeRunner({ gemmUs: (bm, bn, s) => 1000 / bn + bm / 100 + s, wrong: isTop });
    const r = await tune({ ...base, mode: 'measure', backend: 'emu', db: join(await tmp(), 'db.json'), shapes: ['512x1024x1024'], compiler: fakeCompiler(), runner, topK: 4 });
    expect(r.failures).toEqual([]);
    const rec = r.records[0];
    expect(rec.timing.label).toBe('measured');
    expect(rec.timing.clock).toBe('emulator-wall');
    expect(rec.timing.spreadUs!.min).toBeLessThanOrEqual(rec.timing.timeUs);
    expect(rec.correctness?.passed).toBe(true);
    const gated = runner.runs.filter((x) => !x.timed).map((x) => x.gemm);
    const timed = runner.runs.filter((x) => x.timed).map((x) => x.gemm);
    expect(gated.length).toBe(4);
    // Interleaved: the first round times each passing candidate once before any is timed twice.
    const distinct = new Set(timed).size;
    expect(new Set(timed.slice(0, distinct)).size).toBe(distinct);
    const wrong = rec.candidates.filter((c) => c.status === 'incorrect');
    expect(wrong.length).toBeGreaterThan(0);
    const topText = `_m${top.blockM}n${top.blockN}k${top.blockK}_w${top.warpsM}x${top.warpsN}_s${top.stages}_${top.staging}_`;
    for (const c of wrong) expect(c.gemmUri).toContain(topText);
    expect(rec.gemmUri).not.toContain(topText);
    const measured = rec.candidates.filter((c) => c.label === 'measured');
    expect(Math.min(...measured.map((c) => c.timeUs))).toBe(measured.find((c) => c.status === 'chosen')!.timeUs);
  });
});
