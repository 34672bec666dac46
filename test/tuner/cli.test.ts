// The three commands through the real CLI entry (main), with real nvcc compiles for a reduced
// tune: the chosen kernels are compiled by nvcc and ptxas reports no spills.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'svdq-codegen', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('svdq-codegen tune (real nvcc)', () => {
  it('tunes a reduced shape list in model mode; chosen kernels compile with 0 spills; JSON says predicted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svdq-cli-'));
    const db = join(dir, 'tune.json');
    const r = await cli('tune', '--gpu', 'sm_89', '--mode', 'model', '--shapes', '512x3072x3072', '--top-k', '1', '--db', db, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.mode).toBe('model');
    expect(j.records).toHaveLength(1);
    const rec = j.records[0];
    expect(rec.timing.label).toBe('predicted');
    expect(rec.resources.gemm.registers).toBeGreaterThan(0);
    expect(rec.resources.gemm.spillBytes).toBe(0);
    expect(rec.resources.act.spillBytes).toBe(0);
    expect(rec.resources.gemm.blocksPerSm).toBeGreaterThanOrEqual(1);
    // The smaller default-suite version of test/tuner/instr-per-mma.long.test.ts: real SASS counts, the
    // default tile's and the baseline's, and the model total.
    expect(rec.mainLoop.counts).toBe('sass');
    expect(rec.mainLoop.instrPerMma).toBeLessThanOrEqual(rec.defaultTile.mainLoop.instrPerMma);
    expect(rec.baseline.label).toBe('predicted');
    expect(rec.baseline.mainLoop.instrPerMma).toBeGreaterThan(0);
    expect(rec.vsBaseline).toBeGreaterThan(0);
    expect(j.modelTotalUs).toBeCloseTo(rec.timing.timeUs, 6); // --shapes: one call per layer
    expect(j.modelTotalBaselineUs).toBeGreaterThan(0);
    // Warm: resumed, nothing compiled; the table labels the time.
    const warm = await cli('tune', '--gpu', 'sm_89', '--mode', 'model', '--shapes', '512x3072x3072', '--top-k', '1', '--db', db);
    expect(warm.code).toBe(0);
    expect(warm.out).toContain('predicted');
    expect(warm.out).toContain('× vs baseline (predicted)');
    expect(warm.out).toMatch(/one forward, linear layers .* ms predicted, reference engine's tile .* ms predicted/);
    expect(warm.out).toContain('(0 tuned, 1 resumed)');
    expect(await readFile(join(dir, 'dispatch', 'rtx4090.h'), 'utf8')).toContain(rec.gemmUri);
    // db check / merge on the result.
    const check = await cli('db', 'check', db);
    expect(check.out).toMatch(/valid, 1 record\(s\) \(0 measured, 1 predicted\)/);
    const merged = await cli('db', 'merge', db, '--out', join(dir, 'merged.json'), '--json');
    expect(JSON.parse(merged.out).records).toBe(1);
  });
});

describe('option validation', () => {
  it.each([
    [['tune', '--gpu', 'sm_89', '--shard', '3/2'], '--shard: 3/2 is not valid; expected i/n with 0 ≤ i < n'],
    [['tune', '--gpu', 'sm_89', '--model', 'nope'], '--model: "nope" is not a known model; allowed: flux.1-dev'],
    [['tune', '--gpu', 'sm_89', '--mode', 'fast'], '--mode: "fast" is not valid; expected auto, measure or model'],
    [['tune', '--gpu', 'sm_89', '--rank', '20'], '--rank: "20" is not valid'],
    [['tune', '--gpu', 'sm_89', '--shapes', '4096x3000x3072'], '--shapes: 4096x3000x3072 is not valid'],
    [['tune', '--gpu', 'gtx1080'], '--gpu: "gtx1080" is not a known GPU'],
    [['predict', '--gpu', 'sm_89', '--m', '1', '--n', '64', '--k', '64', '--variant', 'x'], '--variant: "x" is not valid; expected fused, unfused, no-lowrank'],
    [['db', 'merge', '/nonexistent.json', '--out', '/tmp/x.json'], '/nonexistent.json does not exist'],
  ])('%j → exit 2 with a clear message', async (args, message) => {
    const r = await cli(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('a corrupted database is reported, not crashed on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svdq-cli-'));
    const db = join(dir, 'bad.json');
    await (await import('node:fs/promises')).writeFile(db, '{"schema":"svdq-codegen/tune-db","version":1,"records":[{"key":1}]}');
    const r = await cli('tune', '--gpu', 'sm_89', '--mode', 'model', '--shapes', '64x64x64', '--db', db);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`tuning database ${db}: is not a valid`);
    expect(r.err).not.toMatch(/internal error/);
  });

  it('predict --json prints the model’s estimate, labelled', async () => {
    const r = await cli('predict', '--gpu', 'sm_89', '--m', '4096', '--n', '3072', '--k', '3072', '--rank', '32', '--variant', 'unfused', '--json');
    expect(r.code).toBe(0);
    const p = JSON.parse(r.out);
    expect(p).toMatchObject({ label: 'predicted', variant: 'unfused' });
    for (const f of ['time_us', 'tflops', 'bytes', 'bound']) expect(p).toHaveProperty(f);
  });
});
