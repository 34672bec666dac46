// One source, two compilers: a kernel written against svdq/portable.h compiles with nvcc for sm_89
// and runs under the emulator with the right answer.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { nvccPath } from '../../../codegen/nvcc.js';
import { buildEmuProgram, DEVICE_INCLUDE_DIR, runEmuProgram } from '../../../runtime/emu/build.js';
import { kernel, onlyLaunch } from './helpers.js';

describe('portable device subset', () => {
  it('compiles with nvcc -gencode arch=compute_89,code=sm_89', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-portable-'));
    try {
      const r = await execa(
        nvccPath(),
        ['-x', 'cu', '-std=c++17', '-gencode', 'arch=compute_89,code=sm_89', `-I${DEVICE_INCLUDE_DIR}`, '-c', kernel('portable_kernel.cu'), '-o', path.join(dir, 'k.o')],
        { reject: false, all: true },
      );
      expect(r.all).not.toMatch(/error/);
      expect(r.exitCode).toBe(0);
      expect((await fs.stat(path.join(dir, 'k.o'))).size).toBeGreaterThan(0);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('runs under the emulator with the same source', async () => {
    const bin = await buildEmuProgram({ sources: [kernel('portable_kernel.cu')] });
    const r = await runEmuProgram(bin, [], { env: { SVDQ_EMU_THREADS: '2' } });
    expect(r.stdout).toContain('mismatches 0');
    expect(r.code).toBe(0);
    const launch = onlyLaunch(r.reports);
    expect(launch).toMatchObject({ kernel: 'scale_add_block_sum', grid: [8, 1, 1], block: [128, 1, 1], dynamicSmemBytes: 512, status: 'ok' });
    expect(launch.counters.barriers).toBe(8 * 8);
  });
});
