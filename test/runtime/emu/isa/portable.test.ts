// One portable kernel source (kernels/portable_mma.cu: cp.async, ldmatrix, INT4 and NVFP4 mma.sync,
// shfl) compiles with nvcc for sm_80, sm_89 and sm_120a, and the same file runs correctly on the
// emulator. Using the FP4 MMA on a target without it is a compile-time error naming the fix.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEmuProgram, runEmuProgram } from '../../../../runtime/emu/build.js';
import { contentKey, repoRoot, testDir } from './cpp_harness.js';

const source = join(testDir, 'kernels', 'portable_mma.cu');
const include = `-I${join(repoRoot, 'runtime/include')}`;

describe('portable kernel: identical source on nvcc and the emulator', () => {
  const ptx: Record<string, string> = {};
  beforeAll(async () => {
    // nvcc output is cached by content (headers + source), like the other builds of this suite
    const keep = join(tmpdir(), 'svdq-isa-tests', `portable-ptx-${contentKey([source])}`);
    if (!existsSync(join(keep, 'done'))) {
      mkdirSync(keep, { recursive: true });
      await execa('nvcc', [
        '-std=c++17', include,
        '-gencode', 'arch=compute_80,code=sm_80',
        '-gencode', 'arch=compute_89,code=sm_89',
        '-gencode', 'arch=compute_120a,code=sm_120a',
        '--keep', '--keep-dir', keep, '-c', source, '-o', join(keep, 'portable.o'),
      ]);
      writeFileSync(join(keep, 'done'), '');
    }
    for (const f of readdirSync(keep).filter((n) => n.endsWith('.ptx'))) {
      const arch = /sm_(\d+a?)/.exec(f)?.[1] ?? /compute_(\d+a?)/.exec(f)?.[1] ?? f;
      ptx[arch] = readFileSync(join(keep, f), 'utf8');
    }
  });

  it('nvcc emits the PTX of ptx-fragments.md for each target', () => {
    expect(Object.keys(ptx).sort()).toEqual(['120a', '80', '89']);
    for (const arch of ['80', '89', '120a']) {
      expect(ptx[arch]).toContain('mma.sync.aligned.m16n8k64.row.col.s32.s4.s4.s32');
      expect(ptx[arch]).toContain('ldmatrix.sync.aligned.m8n8.x4.shared.b16');
      expect(ptx[arch]).toContain('cp.async.cg.shared.global');
      expect(ptx[arch]).toContain('shfl.sync.bfly');
    }
    const fp4 = 'mma.sync.aligned.kind::mxf4nvf4.block_scale.scale_vec::4X.m16n8k64.row.col.f32.e2m1.e2m1.f32.ue4m3';
    expect(ptx['120a']).toContain(fp4);
    expect(ptx['89']).not.toContain('kind::mxf4nvf4');
  });

  it('the same source runs on the emulator and matches the triple loop bit for bit', async () => {
    const bin = await buildEmuProgram({ sources: [source] });
    const r = await runEmuProgram(bin, [], { env: { SVDQ_EMU_THREADS: '1' } });
    expect(r.stdout).toContain('PASS int4 portable tile kernel');
    expect(r.stdout).toContain('PASS nvfp4 portable tile kernel');
    expect(r.code).toBe(0);
    for (const l of r.reports) expect(l.reports).toEqual([]);
  });

  it('FP4 mma.sync on sm_89 is a compile error that names the -gencode to use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svdq-fp4-neg-'));
    const file = join(dir, 'neg.cu');
    writeFileSync(
      file,
      '#include "svdq/arch/mma_fp4.h"\n__global__ void k(float* o, const uint32_t* i) {\n' +
        '  uint32_t a[4] = {i[0], i[1], i[2], i[3]}, b[2] = {i[4], i[5]}; float c[4] = {0, 0, 0, 0};\n' +
        '  svdq::arch::mma_m16n8k64_nvf4(c, a, b, c, i[6], 0, 0, i[7], 0, 0); o[0] = c[0];\n}\n',
    );
    const r = await execa('nvcc', ['-std=c++17', include, '-gencode', 'arch=compute_89,code=sm_89', '-ptx', file, '-o', join(dir, 'neg.ptx')], {
      reject: false,
    });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('compute_120a,code=sm_120a');
  });
});
