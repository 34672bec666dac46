import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors, readSafetensors, type StTensorInput } from '../../../codegen/safetensors.js';
import { readLayerFile, writeLayerOutput } from '../../../runtime/harness/layer-io.js';
import { specFromFile } from '../../../runtime/harness/run-file.js';
import { UserError } from '../../../dsl/errors.js';
import { toBits16 } from '../../../numerics/float16.js';
import { quantizeWeights } from '../../../runtime/reference/quantize.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-layerio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const M = 3, N = 32, K = 128;
const bf16 = (shape: number[], f: (i: number) => number): StTensorInput => ({
  dtype: 'bf16',
  shape,
  data: Uint16Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => toBits16(f(i), 'bf16')),
});
const base = (): Record<string, StTensorInput> => ({
  x: bf16([M, K], (i) => Math.sin(i)),
  qweight: { dtype: 'int8', shape: [N, K], data: Int8Array.from({ length: N * K }, (_, i) => (i % 16) - 8) },
  wscales: bf16([N, K / 64], (i) => 0.01 * (i + 1)),
});
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
    ['a bad group', () => ({ ...base(), wscales: bf16([N, 16], () => 1) }), /gives group K\/16 = 8; allowed groups: 32, 64, 128/],
    ['both weights', () => ({ ...base(), weight: bf16([N, K], () => 0) }), /has both 'qweight' and 'weight'/],
    ['no weights', () => { const b = base(); delete b.qweight; return b; }, /needs 'qweight' \[N,K\] int8 with 'wscales'/],
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
  it('writes y in the layer dtype with the kernel URIs as metadata', async () => {
    const p = path.join(dir, 'y.safetensors');
    await writeLayerOutput(p, { y: new Uint16Array([1, 2, 3, 4, 5, 6]), dtype: 'fp16', M: 2, N: 3 }, { gemm_uri: 'w4a4_x' });
    const back = await readSafetensors(p);
    expect(back.get('y')).toEqual({ dtype: 'fp16', shape: [2, 3], data: new Uint16Array([1, 2, 3, 4, 5, 6]) });
  });
});
