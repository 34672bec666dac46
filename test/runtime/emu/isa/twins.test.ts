// The arch/ emulator twins inside the engine: all lanes of real warps, independent host definitions
// (kernels/twins_cases.cu), plus undefined behaviour reported as a fatal kernel exception.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEmuProgram, runEmuProgram } from '../../../../runtime/emu/build.js';
import { testDir } from './cpp_harness.js';

let bin: string;
beforeAll(async () => {
  bin = await buildEmuProgram({ sources: [`${testDir}/kernels/twins_cases.cu`] });
});

describe('arch twins on the emulator', () => {
  it('mma, shfl, vote, ldmatrix, movmatrix, cp.async, atomics, cvt match their definitions', async () => {
    const r = await runEmuProgram(bin, ['all'], { env: { SVDQ_EMU_THREADS: '2' } });
    const lines = r.stdout.split('\n').filter((l) => l.length > 0);
    expect(lines.filter((l) => !l.startsWith('PASS'))).toEqual([]);
    expect(lines.length).toBe(26);
    expect(r.code).toBe(0);
    for (const l of r.reports) expect(l.reports).toEqual([]);
    // counters name each instruction, per executing thread
    const mma = r.reports.find((l) => l.kernel.includes('mma_kernel'));
    expect(mma?.counters.instructions['mma.m16n8k64.s4.s4']).toBe(64);
    expect(mma?.counters.instructions['mma.m16n8k64.mxf4.2X.ue8m0']).toBe(64);
  });

  it('a misaligned ldmatrix row is reported as undefined behaviour', async () => {
    const r = await runEmuProgram(bin, ['ub'], { env: { SVDQ_EMU_THREADS: '1', SVDQ_EMU_QUIET: '1' } });
    expect(r.stdout).toContain('status error');
    const reports = r.reports.flatMap((l) => l.reports);
    expect(reports.some((x) => x.kind === 'kernel-exception' && x.message.includes('not 16-byte aligned'))).toBe(true);
  });
});
