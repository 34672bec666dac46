import { describe, expect, it } from 'vitest';
import { UserError } from '../../dsl/errors.js';
import {
  DEFAULT_TARGET_FOR_ARCH,
  TARGETS,
  defaultFormatKind,
  gencodeFlag,
  hasCpAsync,
  mmaFor,
  resolveGpu,
  supports4Bit,
  supportsBf16,
  supportsFormat,
} from '../../dsl/targets.js';
import type { Target } from '../../dsl/types.js';

const NUMERIC_FIELDS = [
  'smCount', 'boostClockMHz', 'dramGBps', 'l2MiB', 'smemPerSmKiB', 'smemPerBlockKiB',
  'regsPerSm', 'maxRegsPerThread', 'maxThreadsPerSm', 'maxBlocksPerSm',
] as const;
const RATE_FIELDS = ['fp16', 'bf16', 'int8', 'int4', 'fp4'] as const;

describe('targets table', () => {
  it('has every GPU the issue names', () => {
    const ids = TARGETS.map((t) => t.id);
    for (const id of ['rtx2080ti', 't4', 'a100', 'rtx3090', 'a6000', 'a10', 'rtx4090', 'rtx4090-laptop', 'l4', 'l40s', 'rtx6000ada', 'h100', 'b200', 'rtx5090', 'rtxpro6000']) {
      expect(ids).toContain(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
  it.each(TARGETS.map((t) => [t.id, t] as [string, Target]))('%s: every field present, plausible and sourced', (_id, t) => {
    expect(t.name).toMatch(/NVIDIA/);
    for (const f of NUMERIC_FIELDS) {
      expect(Number.isFinite(t[f]) && t[f] > 0, f).toBe(true);
      expect(t.sources.some((s) => new RegExp(`\\b${f}\\b`).test(s)), `${t.id}.${f} has no source`).toBe(true);
    }
    for (const f of RATE_FIELDS) {
      const v = t.tensorTflops[f];
      expect(v === null || (Number.isFinite(v) && v >= 0), f).toBe(true);
      expect(t.sources.some((s) => s.includes(`tensorTflops.${f}`)), `${t.id}.tensorTflops.${f} has no source`).toBe(true);
    }
    expect(t.sources.some((s) => s.includes('mma4bit')), `${t.id}.mma4bit has no source`).toBe(true);
    expect(t.smemPerBlockKiB).toBeLessThanOrEqual(t.smemPerSmKiB);
    expect(t.maxRegsPerThread).toBe(255);
    expect(t.regsPerSm).toBe(65536);
    expect(t.tensorTflops.int8).toBeGreaterThan(t.tensorTflops.fp16);
  });
  // The reference derives rates as SMs × clock × per-SM rate (models-gpus-users.md §3); the table must
  // agree with its own SM counts and clocks. B200 has no per-SM row in the reference and is skipped.
  it('rates agree with SMs × clock × per-SM rate within 2%', () => {
    const perSm: Record<string, { int4?: number; fp4?: number; int8: number }> = {
      sm_75: { int4: 4096, int8: 2048 }, sm_86: { int4: 4096, int8: 2048 }, sm_89: { int4: 4096, int8: 2048 },
      sm_80: { int4: 8192, int8: 4096 }, sm_90: { int8: 8192 }, sm_120a: { fp4: 4096, int8: 2048 }, sm_121a: { fp4: 4096, int8: 2048 },
    };
    for (const t of TARGETS.filter((x) => x.arch !== 'sm_100a')) {
      const r = perSm[t.arch];
      const at = (opsPerClk: number) => (t.smCount * t.boostClockMHz * 1e6 * opsPerClk) / 1e12;
      const close = (a: number, b: number, what: string) => expect(Math.abs(a / b - 1), `${t.id} ${what}: ${a} vs ${b}`).toBeLessThan(0.02);
      if (r.int4) close(t.tensorTflops.int4!, at(r.int4), 'int4');
      if (r.fp4) close(t.tensorTflops.fp4!, at(r.fp4), 'fp4');
      // The data-center L4/A10/A6000/L40S datasheets round their INT8 figures; checked by int4 above.
      if (['rtx2080ti', 'rtx3090', 'rtx4090', 'h100', 'rtx5090', 'a100'].includes(t.id)) close(t.tensorTflops.int8, at(r.int8), 'int8');
    }
  });
  it('a target without 4-bit tensor cores says so and names alternatives', () => {
    for (const id of ['h100', 'b200']) {
      const t = resolveGpu(id);
      expect(t.mma4bit).toEqual([]);
      expect(supports4Bit(t)).toBe(false);
      expect(t.tensorTflops.int4).toBeNull();
      expect(t.notes).toMatch(/No 4-bit/);
      expect(t.notes).toMatch(/W8A8|Alternatives/);
    }
    expect(resolveGpu('b200').notes).toMatch(/tcgen05/);
    expect(resolveGpu('h100').notes).toMatch(/#381/);
  });
  it('4-bit instructions per arch', () => {
    expect(resolveGpu('t4').mma4bit).toEqual(['int4.m8n8k32']);
    expect(resolveGpu('a100').mma4bit).toEqual(['int4.m16n8k64']);
    expect(resolveGpu('rtx5090').mma4bit).toEqual(['fp4.mxf4nvf4.4x.ue4m3', 'fp4.mxf4.2x.ue8m0']);
    expect(mmaFor(resolveGpu('rtx5090'), 'int4')).toEqual([]);
    expect(supportsFormat(resolveGpu('rtx4090'), 'nvfp4')).toBe(false);
    expect(supportsFormat(resolveGpu('rtxpro6000'), 'mxfp4')).toBe(true);
    expect(defaultFormatKind(resolveGpu('rtx4090'))).toBe('int4');
    expect(defaultFormatKind(resolveGpu('rtx5090'))).toBe('nvfp4');
    expect(defaultFormatKind(resolveGpu('h100'))).toBeUndefined();
    expect(supportsBf16(resolveGpu('t4'))).toBe(false);
    expect(resolveGpu('t4').tensorTflops.bf16).toBe(0);
    expect(hasCpAsync(resolveGpu('rtx2080ti'))).toBe(false);
    expect(hasCpAsync(resolveGpu('a10'))).toBe(true);
  });
});

describe('resolveGpu', () => {
  it('maps archs to their documented default targets', () => {
    expect(DEFAULT_TARGET_FOR_ARCH).toEqual({ sm_75: 't4', sm_80: 'a100', sm_86: 'rtx3090', sm_89: 'rtx4090', sm_90: 'h100', sm_100a: 'b200', sm_120a: 'rtx5090', sm_121a: 'gb10' });
    expect(resolveGpu('sm_89').id).toBe('rtx4090');
    expect(resolveGpu('sm89').id).toBe('rtx4090');
    expect(resolveGpu('89').id).toBe('rtx4090');
    expect(resolveGpu('8.9').id).toBe('rtx4090');
    expect(resolveGpu('sm_120').id).toBe('rtx5090');
    expect(resolveGpu('sm_120a').id).toBe('rtx5090');
    expect(resolveGpu('sm_100a').id).toBe('b200');
    expect(resolveGpu('sm_121a').id).toBe('gb10'); // DGX Spark
    expect(resolveGpu('12.1').arch).toBe('sm_121a');
    expect(resolveGpu('SM_75').id).toBe('t4');
  });
  it('accepts target ids, case- and dash-insensitively', () => {
    expect(resolveGpu('l40s').id).toBe('l40s');
    expect(resolveGpu('RTX4090-Laptop').id).toBe('rtx4090-laptop');
    expect(resolveGpu('rtx4090laptop').id).toBe('rtx4090-laptop');
  });
  it('rejects unknown GPUs with the allowed values', () => {
    for (const bad of ['v100', 'sm_70', 'sm_122a', '']) {
      expect(() => resolveGpu(bad)).toThrow(UserError);
    }
    expect(() => resolveGpu('v100')).toThrow(/--gpu: "v100" is not a known GPU; allowed: rtx2080ti, t4, .*sm_89 \(→ rtx4090\)/);
  });
  it('gencode flags', () => {
    expect(gencodeFlag('sm_89')).toBe('-gencode=arch=compute_89,code=sm_89');
    expect(gencodeFlag('sm_120a')).toBe('-gencode=arch=compute_120a,code=sm_120a');
  });
});
