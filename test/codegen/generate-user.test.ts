import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

  it('writes a self-contained folder: device headers, manifest, CMakeLists.txt and a compile line that nvcc runs there', async () => {
    const out = path.join(dir, 'self');
    const r = await generateUserSpecs({ specFile: path.join(fixtures, 'good-specs.ts'), gpu: 'sm_89', outDir: out });
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.target.arch).toBe('sm_89');
    expect(manifest.kernels.map((k: { label: string; kind: string }) => `${k.label}:${k.kind}`)).toEqual(['fc1:act', 'fc1:gemm', 'fc2:act', 'fc2:gemm']);
    expect(manifest.headers).toContain('include/svdq/portable.h');
    expect(manifest.headers).toContain('include/svdq/layer_args.h');
    for (const h of manifest.headers) expect(existsSync(path.join(out, h))).toBe(true);
    expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toContain(r.compileLine);
    const cmake = readFileSync(path.join(out, 'CMakeLists.txt'), 'utf8');
    for (const k of r.kernels) expect(cmake).toContain(path.basename(k.file));
    expect(r.compileLine).toBe('nvcc -gencode arch=compute_89,code=sm_89 -std=c++17 -O3 --fmad=false -Iinclude -c *.cu');
    // Moved away from the repository (nothing may resolve through it), the documented line compiles every kernel.
    const moved = mkdtempSync(path.join(os.tmpdir(), 'svdq-gen-user-moved-'));
    try {
      cpSync(out, moved, { recursive: true });
      const nvcc = await execa('sh', ['-c', r.compileLine], { cwd: moved, reject: false, all: true });
      expect(nvcc.exitCode, nvcc.all).toBe(0);
      for (const k of r.kernels) expect(existsSync(path.join(moved, path.basename(k.file).replace(/\.cu$/, '.o')))).toBe(true);
    } finally {
      rmSync(moved, { recursive: true, force: true });
    }
  }, 120_000);

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
