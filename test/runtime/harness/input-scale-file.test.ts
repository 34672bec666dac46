// `run` reads an NVFP4 layer file's `input_scale` (F32 scalar, ModelOpt/TensorRT convention) and hands it
// to the activation kernel and the GEMM's alpha (docs/numerics.md "NVFP4 two-level activation scaling").
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile, writeSafetensors, type StTensorInput } from '../../../codegen/safetensors.js';
import { UserError } from '../../../dsl/errors.js';
import { fromBits16, toBits16 } from '../../../numerics/float16.js';
import { readLayerFile } from '../../../runtime/harness/layer-io.js';
import { runLayerFile } from '../../../runtime/harness/run-file.js';
import { createRng } from '../../../runtime/reference/random.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-input-scale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const M = 32;
const N = 32;
const K = 256;
const rng = createRng(41);
const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
// Small activations (σ = 2⁻⁹): without a per-tensor scale their ue4m3 block scales fall into subnormals.
const xs = Float64Array.from({ length: M * K }, () => gauss() * 2 ** -9);
const x = Uint16Array.from(xs, (v) => toBits16(v, 'bf16'));
const ws = Float64Array.from({ length: N * K }, () => gauss() * 0.05);
const amax = xs.reduce((a, v) => Math.max(a, Math.abs(fromBits16(toBits16(v, 'bf16'), 'bf16'))), 0);

async function layerFile(name: string, extra: [string, StTensorInput][] = []): Promise<string> {
  const file = path.join(dir, name);
  await writeSafetensors(file, [
    ['x', { dtype: 'BF16', shape: [M, K], data: x }],
    ['weight', { dtype: 'F32', shape: [N, K], data: Float32Array.from(ws) }],
    ...extra,
  ]);
  return file;
}

async function relError(file: string): Promise<number> {
  const out = `${file}.out.safetensors`;
  await runLayerFile({ gpu: 'sm_120a', backend: 'emu', input: file, output: out });
  const f = await SafetensorsFile.open(out);
  const y = (await f.readTensor('y')).data as Uint16Array;
  await f.close();
  let num = 0;
  let den = 0;
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let ref = 0;
      for (let k = 0; k < K; k++) ref += fromBits16(x[m * K + k], 'bf16') * ws[n * K + k];
      num += (fromBits16(y[m * N + n], 'bf16') - ref) ** 2;
      den += ref ** 2;
    }
  return Math.sqrt(num / den);
}

describe('run: an NVFP4 file with input_scale', () => {
  it('reads the scalar and the layer runs with the two-level recipe (lower error on small activations)', async () => {
    const scale = Math.fround(amax / (6 * 448));
    const withScale = await layerFile('with.safetensors', [['input_scale', { dtype: 'F32', shape: [], data: new Float32Array([scale]) }]]);
    const read = await readLayerFile(withScale, { defaultFormat: 'nvfp4' });
    expect(read.inputs.atensorScale).toBe(scale);
    const without = await layerFile('without.safetensors');
    expect((await readLayerFile(without, { defaultFormat: 'nvfp4' })).inputs.atensorScale).toBeUndefined();
    const e0 = await relError(without);
    const e1 = await relError(withScale);
    expect(e1).toBeLessThan(e0 / 2);
  }, 300_000);

  it('refuses an input_scale that is not a finite positive F32 scalar, or on a non-NVFP4 layer', async () => {
    const bad = async (name: string, t: StTensorInput, format: 'nvfp4' | 'int4', match: RegExp) => {
      const file = await layerFile(name, [['input_scale', t]]);
      const err = await readLayerFile(file, { defaultFormat: format }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(/input_scale/);
      expect((err as Error).message).toMatch(match);
    };
    await bad('neg.safetensors', { dtype: 'F32', shape: [], data: new Float32Array([-1]) }, 'nvfp4', /finite number > 0/);
    await bad('nan.safetensors', { dtype: 'F32', shape: [1], data: new Float32Array([NaN]) }, 'nvfp4', /finite number > 0/);
    await bad('vec.safetensors', { dtype: 'F32', shape: [2], data: new Float32Array([1, 1]) }, 'nvfp4', /scalar/);
    await bad('f16.safetensors', { dtype: 'F16', shape: [], data: new Uint16Array([0x3c00]) }, 'nvfp4', /F32/);
    await bad('int4.safetensors', { dtype: 'F32', shape: [], data: new Float32Array([1]) }, 'int4', /only NVFP4/);
  });
});
