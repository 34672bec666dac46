import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { generateUserSpecs } from '../../codegen/generate-user.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-gen-user-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixtures = path.resolve('test/dsl/fixtures');
const cli = path.resolve('bin/svdq-codegen.js');

describe('gen --spec: a user DSL file, no build step', () => {
  it('renders each spec’s activation kernel and GEMM for the target', async () => {
    const out = path.join(dir, 'good');
    const { kernels } = await generateUserSpecs({ specFile: path.join(fixtures, 'good-specs.ts'), gpu: 'sm_89', outDir: out });
    expect(kernels.map((k) => k.label)).toEqual(['fc1', 'fc1', 'fc2', 'fc2']);
    const fc1Gemm = kernels.find((k) => k.label === 'fc1' && k.uri.startsWith('w4a4_'))!;
    expect(fc1Gemm.uri).toMatch(/_sm89_bias-lora-gelu-qnext\.int4u4g64\.r32$/);
    expect(readFileSync(fc1Gemm.file, 'utf8')).toContain(`svdq_${fc1Gemm.uri.replace(/[^A-Za-z0-9_]/g, '_')}`);
  });

  it('points a bad spec at its file:line and writes nothing', async () => {
    const out = path.join(dir, 'bad');
    const r = await execa('node', [cli, 'gen', '--spec', path.join(fixtures, 'bad-rank.ts'), '--gpu', 'sm_89', '--out', out], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/bad-rank\.ts:\d+:\d+: lowRank\.rank: 40 is not a multiple of 16/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it('asks for --gpu and --out', async () => {
    const r = await execa('node', [cli, 'gen', '--spec', path.join(fixtures, 'good-specs.ts')], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--spec: also give --gpu/);
  });
});
