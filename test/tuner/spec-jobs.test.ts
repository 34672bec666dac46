// tune --spec: which problems a user's own specs are tuned at (MxNxK for every spec, LABEL=MxNxK for
// one), the jobs they become, and the errors for shapes that do not fit the file.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { layer } from '../../dsl/spec.js';
import { resolveGpu } from '../../dsl/targets.js';
import { buildJobs } from '../../tuner/jobs.js';
import { specProblems } from '../../tuner/spec-jobs.js';

const target = resolveGpu('sm_89');
const proj = layer({ label: 'proj', dtype: 'fp16', lowRank: 16 });
const gate = layer({ label: 'gate', lowRank: 64 });
const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-spec-jobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('specProblems', () => {
  it('MxNxK applies to every spec, LABEL=MxNxK to that spec only', () => {
    const p = specProblems([proj, gate], ['64x128x256', 'gate=32x64x128'], target, 'my.mts');
    expect(p.map((x) => x.layer)).toEqual(['proj@64x128x256', 'gate@64x128x256', 'gate@32x64x128']);
    expect(p[2]).toMatchObject({ spec: gate, m: 32, n: 64, k: 128 });
  });

  it('refuses a missing --shapes, an unknown label, a spec left without a shape and a bad shape', () => {
    expect(() => specProblems([proj], [], target, 'my.mts')).toThrow(/--spec my\.mts: also give --shapes .*proj=/);
    expect(() => specProblems([proj, gate], ['qkv=64x64x64'], target, 'my.mts')).toThrow(/"qkv", which my\.mts does not define; its labels: proj, gate/);
    expect(() => specProblems([proj, gate], ['proj=64x64x64'], target, 'my.mts')).toThrow(/no shape for gate of my\.mts/);
    expect(() => specProblems([proj], ['proj=64x60x64'], target, 'my.mts')).toThrow(/--shapes: 64x60x64 is not valid; M ≥ 1, N a multiple of 16/);
    expect(() => specProblems([proj, { ...gate, label: 'proj' }], ['proj=64x64x64'], target, 'my.mts')).toThrow(/two specs are labelled "proj"/);
  });

  it('refuses a spec the GPU cannot run, naming the file and label', () => {
    expect(() => specProblems([gate], ['64x64x64'], resolveGpu('sm_75'), 'my.mts')).toThrow(/--spec my\.mts: gate: /);
  });

  it('becomes one job per spec, shape and M bucket, each in the spec’s own family', () => {
    const jobs = buildJobs(target, { specs: { file: 'my.mts', specs: [proj, gate] }, shapes: ['proj=64x128x256', 'gate=64x64x128'] });
    expect(jobs.map((j) => j.family)).toEqual(['w4a4_int4g64_fp16_r16_sm89_bias-lora', 'w4a4_int4g64_bf16_r64_sm89_bias-lora']);
    expect(jobs.every((j) => j.needsAct)).toBe(true);
    expect(jobs.map((j) => j.problem)).toEqual([{ m: 64, n: 128, k: 256 }, { m: 64, n: 64, k: 128 }]);
  });
});

describe('tune --spec through the CLI', () => {
  const cli = path.resolve('bin/svdq-codegen.js');
  const file = path.join(dir, 'my.mts');
  writeFileSync(file, "import { layer } from 'svdq-codegen';\nexport const proj = layer({ label: 'proj', lowRank: 16 });\n");

  it('asks for --shapes and refuses --model, writing nothing', async () => {
    const db = path.join(dir, 'db.json');
    const a = await execa('node', [cli, 'tune', '--gpu', 'sm_89', '--spec', file, '--mode', 'model', '--db', db], { reject: false });
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toMatch(/also give --shapes/);
    expect(a.stderr).not.toMatch(/\n\s+at /);
    const b = await execa('node', [cli, 'tune', '--gpu', 'sm_89', '--spec', file, '--model', 'flux.1-dev', '--db', db], { reject: false });
    expect(b.exitCode).toBe(2);
    expect(b.stderr).toMatch(/--model: not allowed with --spec/);
    expect(existsSync(db)).toBe(false);
  });

  it('points a bad spec file at its file:line', async () => {
    const bad = path.join(dir, 'bad.mts');
    writeFileSync(bad, "import { layer } from 'svdq-codegen';\nexport const proj = layer({\n  lowRank: 24,\n});\n");
    const r = await execa('node', [cli, 'tune', '--gpu', 'sm_89', '--spec', bad, '--shapes', '64x64x64'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/bad\.mts:3:\d+: lowRank\.rank: 24 is not a multiple of 16/);
  });
});
