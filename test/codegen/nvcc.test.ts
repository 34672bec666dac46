import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { CompileError, compileCuda, nvccFlags, nvccVersion, parsePtxas } from '../../codegen/nvcc.js';
import { extractDiagnostics } from '../../codegen/diagnostics.js';
import { isUserError } from '../../dsl/errors.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/nvcc/${name}`, import.meta.url), 'utf8');
const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'svdq-nvcc-test-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

describe('nvccFlags', () => {
  it('uses the explicit -gencode form and disables implicit FMA contraction', () => {
    const flags = nvccFlags('sm_89');
    expect(flags.slice(0, 2)).toEqual(['-gencode', 'arch=compute_89,code=sm_89']);
    expect(flags).toContain('--fmad=false');
    expect(flags).toContain('-std=c++17');
    expect(nvccFlags('sm_120a')[1]).toBe('arch=compute_120a,code=sm_120a');
  });
  it('rejects a malformed architecture with a UserError', () => {
    expect(() => nvccFlags('ampere')).toThrowError(/'ampere' is not valid; expected sm_/);
  });
});

describe('parsePtxas (captured nvcc 13.0 output)', () => {
  it('reads every entry of a two-target build', () => {
    const reports = parsePtxas(fixture('ptxas-sm80-sm89.txt'));
    expect(reports).toHaveLength(6);
    const axpy89 = reports.find((r) => r.kernel === '_Z4axpyfPKfPfi' && r.arch === 'sm_89');
    expect(axpy89).toEqual({
      kernel: '_Z4axpyfPKfPfi', arch: 'sm_89', entry: true, registers: 10, spillStoreBytes: 0, spillLoadBytes: 0,
      smemBytes: 1024, stackBytes: 0, cmemBytes: 380, barriers: 1,
    });
    const spill80 = reports.find((r) => r.kernel === '_Z5spillILi64EEvPfPKf' && r.arch === 'sm_80');
    expect(spill80).toMatchObject({ registers: 32, stackBytes: 256, smemBytes: 0, spillStoreBytes: 0 });
    expect(reports.find((r) => r.kernel === 'ec' && r.arch === 'sm_80')).toMatchObject({ registers: 8, cmemBytes: 360 });
  });
  it('reads spills, and device functions as non-entries', () => {
    const reports = parsePtxas(fixture('ptxas-spill-sm89.txt'));
    expect(reports.find((r) => r.kernel === '_Z5heavyPfPKfi')).toMatchObject({
      entry: true, registers: 24, spillStoreBytes: 1468, spillLoadBytes: 1520, stackBytes: 640,
    });
    expect(reports.find((r) => r.kernel === '_Z7dynsmemPi')).toMatchObject({ smemBytes: 128, barriers: 1 });
    expect(reports.find((r) => r.kernel === '_Z6helperPKfi')).toMatchObject({ entry: false, arch: 'sm_89' });
  });
});

describe('extractDiagnostics', () => {
  it('keeps EDG errors with their context and instantiation trace', () => {
    const text = extractDiagnostics(fixture('error-template.txt'));
    expect(text).toContain('tmpl.cu(3): error: identifier "missing" is undefined');
    expect(text).toContain('static assertion failed');
    expect(text).toContain('detected during:');
    expect(text.split('\n').length).toBeLessThanOrEqual(20);
  });
  it('keeps host compiler, ptxas and linker errors', () => {
    expect(extractDiagnostics(fixture('error-host.txt'))).toMatch(/^host.cpp:2:14: error: 'undefined_fn' was not declared/);
    expect(extractDiagnostics(fixture('ptxas-too-much-smem.txt'))).toBe(
      "ptxas error   : Entry function '_Z3bigPi' uses too much shared data (0x27100 bytes, 0xc000 max)",
    );
    const link = extractDiagnostics(fixture('error-link.txt'));
    expect(link).toContain("undefined reference to `missing_launcher'");
    expect(link).toContain('collect2: error: ld returned 1 exit status');
  });
  it('caps a wall of errors at 20 lines and says how many were left out', () => {
    const wall = Array.from({ length: 50 }, (_, i) => `k.cu(${i + 1}): error: thing ${i}\n  code ${i}\n  ^\n`).join('\n');
    const text = extractDiagnostics(wall);
    const lines = text.split('\n');
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(lines.at(-1)).toMatch(/^… 44 more diagnostic\(s\)/);
  });
  it('returns nothing for a clean ptxas report', () => {
    expect(extractDiagnostics(fixture('ptxas-sm80-sm89.txt'))).toBe('');
  });
});

describe('compileCuda (real nvcc)', () => {
  const kernel = `
#include <cstdint>
extern "C" __global__ void scale_rows(float* y, const float* x, float a, int n) {
  __shared__ float buf[128];
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  buf[threadIdx.x] = i < n ? x[i] : 0.f;
  __syncthreads();
  if (i < n) y[i] = __fmul_rn(a, buf[threadIdx.x]);
}`;

  it('reports the nvcc version', async () => {
    expect(await nvccVersion()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('builds a cubin per target with its ptxas report, then hits the cache', async () => {
    for (const arch of ['sm_80', 'sm_86', 'sm_89']) {
      const first = await compileCuda({ source: kernel, arch, kind: 'cubin', cacheDir });
      expect(first.cached).toBe(false);
      expect(existsSync(first.path)).toBe(true);
      expect(first.ptxas).toEqual([expect.objectContaining({ kernel: 'scale_rows', arch, entry: true, smemBytes: 512, spillStoreBytes: 0 })]);
      const again = await compileCuda({ source: kernel, arch, kind: 'cubin', cacheDir });
      expect(again).toMatchObject({ cached: true, path: first.path, key: first.key });
    }
  });

  it('throws a concise CompileError (a UserError) for a broken kernel', async () => {
    const broken = `__global__ void f(int* p) {\n  int x = undefined_thing + 1;\n  p[0] = x\n}\n`;
    const err = await compileCuda({ source: broken, arch: 'sm_89', kind: 'object', cacheDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompileError);
    expect(isUserError(err)).toBe(true);
    const e = err as CompileError;
    expect(e.message).toContain('kernel.cu(2): error: identifier "undefined_thing" is undefined');
    expect(e.message).toContain('kernel.cu(4): error: expected a ";"');
    expect(e.message).not.toContain(cacheDir);
    expect(e.message.split('\n').length).toBeLessThanOrEqual(21);
    expect(e.log).toContain('errors detected in the compilation');
  });

  it('links a shared library that exports the C launcher', async () => {
    const launcher = `${kernel}\nextern "C" int launch_scale_rows(float* y, const float* x, float a, int n) {\n  scale_rows<<<(n + 127) / 128, 128>>>(y, x, a, n);\n  return static_cast<int>(cudaGetLastError());\n}\n`;
    const lib = await compileCuda({ sources: [{ name: 'lib.cu', text: launcher }], arch: 'sm_86', kind: 'shared', cacheDir });
    expect(lib.path).toMatch(/libkernel\.so$/);
    const { stdout } = await execa('nm', ['-D', '--defined-only', lib.path]);
    expect(stdout).toMatch(/ T launch_scale_rows$/m);
  });

  it('refuses several translation units for a single-TU artifact', async () => {
    await expect(
      compileCuda({ sources: [{ name: 'a.cu', text: '' }, { name: 'b.cu', text: '' }], arch: 'sm_89', kind: 'cubin', cacheDir }),
    ).rejects.toThrow(/takes one translation unit, got 2/);
  });
});
