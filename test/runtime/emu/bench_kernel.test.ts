// The benchmark's INT4 GEMM kernel is a real kernel: it compiles with nvcc for sm_89 and, emulated,
// matches a plain integer reference (the program checks sampled rows and exits non-zero otherwise).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { nvccPath } from '../../../codegen/nvcc.js';
import { buildEmuProgram, DEVICE_INCLUDE_DIR, EMU_DIR, runEmuProgram } from '../../../runtime/emu/build.js';
import { onlyLaunch } from './helpers.js';

const source = path.join(EMU_DIR, 'bench', 'int4_gemm.cu');

describe('emulator benchmark kernel (register-fragment INT4 GEMM)', () => {
  it('matches the reference with clean checker reports and exact traffic', async () => {
    const bin = await buildEmuProgram({ sources: [source] });
    const [m, n, k] = [128, 64, 256];
    const r = await runEmuProgram(bin, [String(m), String(n), String(k)], { env: { SVDQ_EMU_THREADS: '2' } });
    expect(r.stdout).toMatch(/^macs 2097152 seconds [\d.]+ cpu [\d.]+ checked 3$/);
    expect(r.code).toBe(0);
    const launch = onlyLaunch(r.reports);
    expect(launch.reports).toEqual([]);
    const c = launch.counters;
    // Per warp and k-step: 4 fragment loads of 16 bytes per lane (one 512-byte request each, 16 sectors).
    const warps = (m / 32) * (n / 32);
    expect(c.global.load).toMatchObject({ requests: warps * (k / 64) * 4, bytes: warps * (k / 64) * 4 * 512, sectorsPerRequest: 16 });
    expect(c.instructions['mma.m16n8k64.s4.s4']).toBe(32 * (m / 16) * (n / 8) * (k / 64));
  });

  it('compiles with nvcc for sm_89', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-bench-kernel-'));
    try {
      const r = await execa(nvccPath(), ['-x', 'cu', '-std=c++17', '-gencode', 'arch=compute_89,code=sm_89', `-I${DEVICE_INCLUDE_DIR}`, '-c', source, '-o', path.join(dir, 'g.o')], { reject: false, all: true });
      expect(r.all).not.toMatch(/error/);
      expect(r.exitCode).toBe(0);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
