// inspect end to end: the hand-written kernel with a known loop compiled with nvcc and disassembled
// (sm_89 SASS; sm_120a PTX-level), and catalog kernels by URI. Needs nvcc and a disassembler (CI
// installs one with `.ci/install-disassembler.sh`; without one these tests fail, they do not skip).
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectSource, inspectUri } from '../../../codegen/inspect/index.js';

const KNOWN = readFileSync(path.join(import.meta.dirname, 'fixtures', 'known-loop.cu'), 'utf8');
const DEFAULT_SM89 = 'w4a4_int4g64_bf16_r32_m128n128k64_w2x4_s2_smem_f32acc_sm89_bias-lora';

describe('inspectSource on a kernel whose loop is known', () => {
  it('sm_89 (SASS): 4 MMAs, 2 LDG, 1 barrier, 1 conversion, 1 FP32 add per iteration', async () => {
    const k = await inspectSource(KNOWN, 'sm_89', 'known-loop', { threads: 128, kernel: 'known_loop' });
    expect(k).toMatchObject({ arch: 'sm_89', target: 'rtx4090', kind: 'gemm', counts: 'sass', function: 'known_loop', spillBytes: 0, threads: 128 });
    const l = k.mainLoop!;
    expect(l.mmas).toBe(4);
    const per = (cls: keyof typeof l.byClass) => l.byClass[cls] * l.mmas;
    expect([per('tensor'), per('ldg'), per('bar'), per('conv')]).toEqual([4, 2, 1, 1]);
    expect(per('fp32')).toBe(1);
    expect(l.barriersPerIteration).toBe(1);
    expect(l.perMma).toBeCloseTo(l.instructions / 4, 10);
    expect(k.registers).toBeGreaterThan(0);
    expect(k.blocksPerSm).toBeGreaterThan(0);
    expect(k.predicted).toMatchObject({ unit: 'm16n8k64', label: 'predicted' });
    expect(k.predicted!.tensorCyclesPerK64).toBeCloseTo(16, 3);
    expect(l).toMatchObject({ hasMufu: false, hasDivision: false, hasCall: false });
  });

  it('sm_89: the division variant is flagged (MUFU + division in the loop)', async () => {
    const k = await inspectSource(KNOWN, 'sm_89', 'known-loop-div', { kernel: 'known_loop_div' });
    expect(k.function).toBe('known_loop_div');
    expect(k.mainLoop).toMatchObject({ mmas: 4, hasMufu: true, hasDivision: true });
    await expect(inspectSource(KNOWN, 'sm_89', 'x', { kernel: 'nope' })).rejects.toThrow(/kernel 'nope' is not in the unit; its functions: .*known_loop/);
  });

  it('sm_120a (no disassembler): PTX-level counts of the same loop', async () => {
    const k = await inspectSource(KNOWN, 'sm_120a', 'known-loop', { kernel: 'known_loop' });
    expect(k.counts).toBe('ptx');
    const l = k.mainLoop!;
    expect(l.mmas).toBe(4);
    expect([l.byClass.tensor * 4, l.byClass.ldg * 4, l.byClass.bar * 4, l.byClass.conv * 4, l.byClass.fp32 * 4]).toEqual([4, 2, 1, 1, 1]);
    expect(k.blocksPerSm).toBeNull(); // no block size given
  });
});

describe('inspectUri', () => {
  it('the default sm_89 GEMM: 16 IMMA.16864 in the main loop, ≈25.6 instructions per MMA today', async () => {
    const k = await inspectUri(DEFAULT_SM89);
    expect(k).toMatchObject({ uri: DEFAULT_SM89, arch: 'sm_89', kind: 'gemm', counts: 'sass', threads: 256 });
    expect(k.mainLoop!.mmas).toBe(16);
    expect(k.mainLoop!.perMma).toBeGreaterThan(5);
    expect(k.mainLoop!.byClass.tensor).toBe(1);
    expect(k.dynamicSmemBytes).toBeGreaterThan(0);
    expect(k.predicted!.bound).toMatch(/^(tensor|issue|fp32|int|conv|mufu|lsu|fp16x2)$/);
  });

  it('the activation kernel: its quantization loop per 64 elements, and --keep leaves the files', async () => {
    const keep = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-inspect-keep-'));
    try {
      const k = await inspectUri('act_int4g64_bf16_r32_m64k256_w4_sm89', { keepDir: keep });
      expect(k.kind).toBe('act');
      expect(k.mainLoop).toBeNull();
      expect(k.act!.elementsPerIteration).toBeGreaterThan(0);
      expect(k.act!.conversionsPerElement).toBe(1); // every INT4 code is one float→int rounding
      expect(k.act!.per64).toBeCloseTo(64 * k.act!.perElement, 8);
      expect((await fs.readdir(keep)).sort()).toEqual(['kernel.cu', 'kernel.cubin', 'kernel.sass']);
    } finally {
      await fs.rm(keep, { recursive: true, force: true });
    }
  });

  it('sm_90: s4 MMAs are called routines of IMMA.16832.S8.S8, labelled', async () => {
    const k = await inspectUri(DEFAULT_SM89.replace('_sm89_', '_sm90_'));
    expect(k.mainLoop!.mmas).toBe(16);
    expect(k.mainLoop!.calledPerMma).toBeGreaterThan(0);
    expect(k.mainLoop!.note).toMatch(/IMMA\.16832\.S8\.S8/);
  });

  it('bad URIs name the value and what is allowed', async () => {
    await expect(inspectUri('w4a4_int4g64_bf16_r32_m128n128k64_w2x4_s2_smem_f32acc_sm42_bias-lora')).rejects.toThrow(/architecture 'sm42'.*expected sm75, sm80/);
    await expect(inspectUri('nonsense')).rejects.toThrow(/kernel URI 'nonsense'/);
  });
});
