import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors, readSafetensors, type StTensorInput } from '../../../codegen/safetensors.js';
import { readLayerFile, writeLayerOutput } from '../../../runtime/harness/layer-io.js';
import { specFromFile } from '../../../runtime/harness/run-file.js';
import { UserError } from '../../../dsl/errors.js';
import { toBits16 } from '../../../numerics/float16.js';
import { baseLayerTensors, bf16 } from './layer-file-fixture.js';
import { quantizeWeights } from '../../../runtime/reference/quantize.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-layerio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const M = 3, N = 32, K = 128;
const base = (): Record<string, StTensorInput> => baseLayerTensors(M, N, K);
async function file(tensors: Record<string, StTensorInput>): Promise<string> {
  const p = path.join(dir, `l${n++}.safetensors`);
  await writeSafetensors(p, tensors);
  return p;
}

describe('readLayerFile', () => {
  it('reads quantized weights, infers group and dtype, zero-pads the rank to a multiple of 16', async () => {
    const f = await readLayerFile(await file({ ...base(), lora_down: bf16([20, K], () => 0.5), lora_up: bf16([N, 20], () => 2), bias: bf16([N], (i) => i), smooth: { dtype: 'f32', shape: [K], data: new Float32Array(K).fill(1.5) } }));
    const l = f.inputs.layer;
    expect(f).toMatchObject({ weights: 'qweight', hasBias: true, fileRank: 20 });
    expect(l).toMatchObject({ N, K, dtype: 'bf16', rank: 32, format: { kind: 'int4', group: 64, scaleDtype: 'bf16' } });
    expect(f.inputs.M).toBe(M);
    expect(l.loraDown![19 * K]).toBe(toBits16(0.5, 'bf16'));
    expect(l.loraDown![20 * K]).toBe(0);
    expect(l.loraUp![1 * 32 + 19]).toBe(toBits16(2, 'bf16'));
    expect(l.loraUp![1 * 32 + 20]).toBe(0);
    expect(l.smooth![0]).toBe(toBits16(1.5, 'bf16')); // f32 converted to the layer dtype
  });

  it('quantizes a float weight with the reference quantizer', async () => {
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i) * 0.1);
    const { qweight, wscales, ...rest } = base();
    void qweight, wscales;
    const f = await readLayerFile(await file({ ...rest, weight: { dtype: 'f32', shape: [N, K], data: w } }), { group: 128 });
    const q = quantizeWeights(w, N, K, { kind: 'int4', group: 128, scaleDtype: 'bf16' });
    expect(f.weights).toBe('weight');
    expect(f.inputs.layer.qweight).toEqual(q.codes);
    expect(f.inputs.layer.wscales).toEqual(q.scales);
  });

  const cases: Array<[string, () => Record<string, StTensorInput>, RegExp]> = [
    ['no x', () => { const b = base(); delete b.x; return b; }, /no tensor 'x'/],
    ['float32 x', () => ({ ...base(), x: { dtype: 'f32', shape: [M, K], data: new Float32Array(M * K) } }), /'x' has dtype F32; expected F16 or BF16/],
    ['K not a multiple of 64', () => ({ ...base(), x: bf16([M, 96], () => 1) }), /K must be a positive multiple of 64/],
    ['codes out of range', () => ({ ...base(), qweight: { dtype: 'int8', shape: [N, K], data: new Int8Array(N * K).fill(9) } }), /'qweight' holds 9 at index 0; int4 codes are −8..7/],
    ['a bad group', () => ({ ...base(), wscales: bf16([N, 16], () => 1) }), /gives group K\/16 = 8; allowed int4 groups: 32, 64, 128/],
    ['both weights', () => ({ ...base(), weight: bf16([N, K], () => 0) }), /has both 'qweight' and 'weight'/],
    ['no weights', () => { const b = base(); delete b.qweight; return b; }, /needs 'qweight' \[N,K\] \(I8 int4 codes or U8 e2m1 codes\) with 'wscales'/],
    ['a lone lora_down', () => ({ ...base(), lora_down: bf16([16, K], () => 0) }), /has 'lora_down' without 'lora_up'/],
    ['a bias of the wrong size', () => ({ ...base(), bias: bf16([N + 1], () => 0) }), /'bias' has shape \[33\]; expected \[N\] = \[32\]/],
  ];
  it.each(cases)('rejects %s with a UserError naming the tensor', async (_what, make, message) => {
    const p = await file(make());
    const err = await readLayerFile(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('readLayerFile: FP4 logical layers (docs/layouts.md)', () => {
  const u8 = (shape: number[], f: (i: number) => number): StTensorInput => ({ dtype: 'uint8', shape, data: Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });
  const f32 = (v: number): StTensorInput => ({ dtype: 'f32', shape: [], data: new Float32Array([v]) });
  const nv = (): Record<string, StTensorInput> => ({ x: base().x, qweight: u8([N, K], (i) => i % 16), wscales: u8([N, K / 16], (i) => 0x30 + (i % 9)), wtensor_scale: f32(0.125) });
  const mx = (): Record<string, StTensorInput> => ({ x: base().x, qweight: u8([N, K], (i) => (i * 7) % 16), wscales: u8([N, K / 32], (i) => 120 + (i % 9)) });

  it('infers NVFP4 from U8 codes and ue4m3 bytes (U8 or F8_E4M3) with group 16, and reads wtensor_scale', async () => {
    const f = await readLayerFile(await file(nv()));
    expect(f.inputs.layer).toMatchObject({ format: { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' }, wtensorScale: 0.125 });
    expect(f.inputs.layer.qweight).toBeInstanceOf(Uint8Array);
    expect(f.inputs.layer.wscales[1]).toBe(0x31);
    const t = nv();
    t.wscales = { dtype: 'F8_E4M3', shape: [N, K / 16], data: (t.wscales as { data: Uint8Array }).data };
    t.wtensor_scale = { dtype: 'bf16', shape: [1], data: new Uint16Array([toBits16(0.25, 'bf16')]) };
    const g = await readLayerFile(await file(t));
    expect(g.inputs.layer).toMatchObject({ format: { kind: 'nvfp4' }, wtensorScale: 0.25 });
    const { wtensor_scale, ...noScale } = nv();
    void wtensor_scale;
    expect((await readLayerFile(await file(noScale))).inputs.layer.wtensorScale).toBe(1);
  });

  it('infers MXFP4 from U8 codes and ue8m0 bytes with group 32', async () => {
    const f = await readLayerFile(await file(mx()));
    expect(f.inputs.layer).toMatchObject({ format: { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' }, wtensorScale: 1 });
    expect(specFromFile(f).format).toEqual({ kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' });
  });

  it('quantizes a float weight to --format, or to the target default (nvfp4 on sm_120a)', async () => {
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i) * 0.1);
    const p = await file({ x: base().x, weight: { dtype: 'f32', shape: [N, K], data: w } });
    for (const kind of ['nvfp4', 'mxfp4'] as const) {
      const f = await readLayerFile(p, { format: kind });
      const q = quantizeWeights(w, N, K, f.inputs.layer.format);
      expect(f.inputs.layer.format.kind).toBe(kind);
      expect(f.inputs.layer.qweight).toEqual(q.codes);
      expect(f.inputs.layer.wscales).toEqual(q.scales);
      expect(f.inputs.layer.wtensorScale).toBe(q.tensorScale);
    }
    expect((await readLayerFile(p, { defaultFormat: 'nvfp4' })).inputs.layer.format.kind).toBe('nvfp4');
    expect((await readLayerFile(p, { defaultFormat: 'nvfp4', format: 'int4', group: 32 })).inputs.layer.format).toEqual({ kind: 'int4', group: 32, scaleDtype: 'bf16' });
    await expect(readLayerFile(p, { format: 'nvfp4', group: 64 })).rejects.toThrow(/--group: 64 does not apply to nvfp4: its group is 16/);
  });

  const bad: Array<[string, () => Record<string, StTensorInput>, object, RegExp]> = [
    ['e2m1 codes above 15', () => ({ ...nv(), qweight: u8([N, K], () => 16) }), {}, /'qweight' holds 16 at index 0; e2m1 codes are 0..15/],
    ['FP4 codes with 16-bit scales', () => ({ ...nv(), wscales: bf16([N, K / 16], () => 1) }), {}, /'wscales' has dtype BF16, but qweight is U8 \(e2m1 codes\): FP4 scales are U8/],
    ['int4 codes with scale bytes', () => ({ ...base(), wscales: u8([N, K / 64], () => 1) }), {}, /'wscales' has dtype U8, but qweight is I8 \(int4 codes\): int4 scales are F16 or BF16/],
    ['an FP4 group of 64', () => ({ ...nv(), wscales: u8([N, K / 64], () => 0x38) }), {}, /gives group K\/2 = 64; FP4 groups: 16 \(NVFP4, ue4m3 scales\) or 32 \(MXFP4, ue8m0 scales\)/],
    ['F8_E4M3 scales with group 32', () => ({ ...mx(), wscales: { dtype: 'F8_E4M3', shape: [N, K / 32], data: new Uint8Array((N * K) / 32).fill(0x38) } }), {}, /has dtype F8_E4M3 \(ue4m3, NVFP4\) but gives group K\/4 = 32/],
    ['a negative ue4m3 scale', () => ({ ...nv(), wscales: u8([N, K / 16], (i) => (i === 5 ? 0xb8 : 0x38)) }), {}, /'wscales' holds 0xb8 at index 5, which has bit 7 set: ue4m3 scales are unsigned/],
    ['a NaN ue4m3 scale', () => ({ ...nv(), wscales: u8([N, K / 16], () => 0x7f) }), {}, /holds 0x7f at index 0, which is NaN in ue4m3; allowed 0x00..0x7e/],
    ['a NaN ue8m0 scale', () => ({ ...mx(), wscales: u8([N, K / 32], () => 0xff) }), {}, /holds 0xff at index 0, which is NaN in ue8m0/],
    ['wtensor_scale on MXFP4', () => ({ ...mx(), wtensor_scale: f32(2) }), {}, /'wtensor_scale' is present, but only NVFP4 has a per-tensor weight scale; this layer is mxfp4/],
    ['a zero wtensor_scale', () => ({ ...nv(), wtensor_scale: f32(0) }), {}, /'wtensor_scale' is 0; the NVFP4 per-tensor scale must be a finite number > 0/],
    ['a vector wtensor_scale', () => ({ ...nv(), wtensor_scale: { dtype: 'f32', shape: [2], data: new Float32Array(2) } }), {}, /'wtensor_scale' has shape \[2\]; expected a scalar/],
    ['--format that disagrees with the codes', () => nv(), { format: 'mxfp4' }, /--format mxfp4: .* holds nvfp4 \(e2m1 codes, group 16, ue4m3 scales\) weights/],
    ['--group with quantized codes', () => base(), { group: 128 }, /--group 128: .* holds int4 \(group 64\) weights; --group only applies when quantizing a float 'weight'/],
    ['codes of another dtype', () => ({ ...base(), qweight: { dtype: 'f32', shape: [N, K], data: new Float32Array(N * K) } }), {}, /'qweight' has dtype F32; expected I8 \(int4 codes −8..7\) or U8 \(e2m1 codes 0..15\)/],
  ];
  it.each(bad)('refuses %s naming the tensor, the value and what is allowed', async (_what, make, options, message) => {
    const err = await readLayerFile(await file(make()), options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('specFromFile (run without --config)', () => {
  it('follows the file: dtype, group, rank; bias and low-rank epilogues when present', async () => {
    const full = await readLayerFile(await file({ ...base(), lora_down: bf16([16, K], () => 0), lora_up: bf16([N, 16], () => 0), bias: bf16([N], () => 0) }));
    expect(specFromFile(full)).toEqual({
      format: { kind: 'int4', group: 64, scaleDtype: 'bf16' },
      activation: { unsigned: false, shift: 0 },
      dtype: 'bf16',
      lowRank: { rank: 16 },
      epilogue: [{ op: 'bias' }, { op: 'lowrank' }],
    });
    const bare = await readLayerFile(await file(base()));
    expect(specFromFile(bare)).toMatchObject({ lowRank: { rank: 0 }, epilogue: [] });
  });
});

describe('writeLayerOutput', () => {
  it('writes FP4 qnext outputs as U8 e2m1 codes and U8 scale bytes', async () => {
    const p = path.join(dir, 'y-fp4.safetensors');
    const codes = Uint8Array.from({ length: 2 * 32 }, (_, i) => i % 16);
    const scales = Uint8Array.from({ length: 2 * 2 }, (_, i) => 0x38 + i);
    await writeLayerOutput(p, { dtype: 'bf16', M: 2, N: 32, qnext: { codes, scales, group: 16 } }, {});
    const back = await readSafetensors(p);
    expect(back.get('y_codes')).toEqual({ dtype: 'uint8', shape: [2, 32], data: codes });
    expect(back.get('y_scales')).toEqual({ dtype: 'uint8', shape: [2, 2], data: scales });
    expect(back.has('y')).toBe(false);
  });
  it('writes y in the layer dtype with the kernel URIs as metadata', async () => {
    const p = path.join(dir, 'y.safetensors');
    await writeLayerOutput(p, { y: new Uint16Array([1, 2, 3, 4, 5, 6]), dtype: 'fp16', M: 2, N: 3 }, { gemm_uri: 'w4a4_x' });
    const back = await readSafetensors(p);
    expect(back.get('y')).toEqual({ dtype: 'fp16', shape: [2, 3], data: new Uint16Array([1, 2, 3, 4, 5, 6]) });
  });
});
