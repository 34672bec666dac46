// Shared by the Nunchaku pack tests: upstream-format layers from known logical values, and the packed
// output read back into logical form.
import { LAYOUT_VERSION, unpackLayer, type PackedLayer } from '../../../codegen/layouts.js';
import { SafetensorsFile, readSafetensors } from '../../../codegen/safetensors.js';
import type { ActivationCoding, KernelSpec } from '../../../dsl/types.js';
import { fromBits16, toBits16 } from '../../../numerics/float16.js';
import type { LogicalLayer } from '../../../numerics/logical.js';
import type { Tensor } from '../../../numerics/tensors.js';
import { randomInputs } from '../../../runtime/harness/verify.js';
import type { LayerInputs } from '../../../runtime/reference/layer.js';
import { createRng } from '../../../runtime/reference/random.js';
import { validateSpec } from '../../../dsl/spec.js';
import { GELU_SHIFT } from '../../../dsl/formats.js';
import { makeLayer } from '../fixtures.js';
import { upstreamLayerTensors, type UpstreamInput } from './upstream-packer.js';

export interface Case {
  name: string;
  spec: KernelSpec;
  N: number;
  K: number;
  M: number;
  naming: UpstreamInput['naming'];
  /** NVFP4 outer scale written by the converter. */
  outer?: 'wtscale16' | 'wcscales';
  /** Fold the u4 shift into the bias, as convert.py does for the fc2 after GELU. */
  shift?: number;
  seed: number;
  /** Random codes and scales (test/export/fixtures.ts makeLayer) instead of an SVDQuant decomposition: fast, no x. */
  fast?: boolean;
}

export function specOf(kind: 'int4' | 'nvfp4', dtype: 'fp16' | 'bf16', rank: number, activation: ActivationCoding, cscale: boolean): KernelSpec {
  const format = kind === 'int4' ? { kind, group: 64, scaleDtype: dtype } : { kind, group: 16, scaleDtype: 'ue4m3' };
  const epilogue = [...(cscale ? ['cscale'] : []), 'bias', ...(rank > 0 ? ['lowrank'] : [])].map((op) => ({ op }));
  return validateSpec({ format, activation, dtype, lowRank: { rank }, epilogue });
}

/** The known logical layer + x, and the upstream tensors of that layer under `prefix`. */
export function upstreamCase(c: Case, prefix: string): { expected: LayerInputs; tensors: ReturnType<typeof upstreamLayerTensors>['tensors'] } {
  const inputs: LayerInputs = c.fast
    ? { layer: makeLayer({ N: c.N, K: c.K, rank: c.spec.lowRank.rank, format: c.spec.format, dtype: c.spec.dtype, seed: c.seed }), M: 0, x: new Uint16Array(0) }
    : randomInputs(c.spec, c.M, c.N, c.K, c.seed);
  const l = inputs.layer;
  const kind = l.format.kind as 'int4' | 'nvfp4';
  const rng = createRng(c.seed + 100);
  let outer: UpstreamInput['outer'];
  const expected: LogicalLayer = { ...l, channelScales: undefined };
  if (c.outer === 'wtscale16') {
    const bits = toBits16(l.wtensorScale, l.dtype); // the converter stores it in the layer dtype
    outer = { perTensor: bits };
    expected.wtensorScale = fromBits16(bits, l.dtype);
  } else if (c.outer === 'wcscales') {
    const per = Uint16Array.from({ length: c.N }, () => toBits16(0.25 + 1.5 * rng.next(), l.dtype));
    outer = { perChannel: per };
    expected.channelScales = per;
    expected.wtensorScale = 1;
  }
  const { tensors, foldedBias } = upstreamLayerTensors(prefix, {
    kind,
    dtype: l.dtype,
    N: c.N,
    K: c.K,
    codes: l.qweight,
    scales: l.wscales,
    outer,
    bias: l.bias,
    smooth: l.smooth,
    lora: l.rank > 0 ? { down: l.loraDown!, up: l.loraUp!, rank: l.rank } : undefined,
    shift: c.shift,
    naming: c.naming,
  });
  expected.bias = foldedBias;
  if (!expected.smooth) expected.smooth = new Uint16Array(c.K).fill(toBits16(1, l.dtype)); // the converter always writes one
  return { expected: { ...inputs, layer: expected }, tensors };
}

/** A packed checkpoint's layer read back (tensors + `svdq.layers`) and decoded to logical values. */
export async function readPackedLayer(file: string, prefix: string): Promise<{ layer: LogicalLayer; meta: Record<string, unknown>; tensors: Map<string, Tensor> }> {
  const f = await SafetensorsFile.open(file);
  const md = f.metadata;
  await f.close();
  const meta = (JSON.parse(md['svdq.layers']) as Record<string, Record<string, unknown>>)[prefix];
  const t = await readSafetensors(file);
  const get = (s: string) => t.get(`${prefix}.${s}`)?.data;
  const fmt = meta.format as LogicalLayer['format'];
  const p: PackedLayer = {
    layoutVersion: LAYOUT_VERSION,
    N: meta.N as number,
    K: meta.K as number,
    rank: meta.rank as number,
    format: fmt,
    dtype: meta.dtype as LogicalLayer['dtype'],
    wq: get('wq') as Uint8Array,
    wscales: get('wscales') as Uint16Array | Uint8Array,
    wtensorScale: fmt.kind === 'nvfp4' ? (get('wtensor_scale') as Float32Array)[0] : 1,
  };
  if (p.rank > 0) {
    p.loraDown = get('lora_down') as Uint16Array;
    p.loraUp = get('lora_up') as Uint16Array;
    p.loraScales = get('lora_scales') as Float32Array;
  }
  if (get('smooth')) p.smooth = get('smooth') as Uint16Array;
  if (get('bias')) p.bias = get('bias') as Uint16Array;
  if (get('wcscales')) p.channelScales = get('wcscales') as Uint16Array;
  return { layer: unpackLayer(p), meta, tensors: t };
}

const signed = { unsigned: false, shift: 0 };
/** The upstream-converter cases: both namings, INT4 bf16/fp16 padded, the u4 fc2, NVFP4 with a 16-bit wtscale and with wcscales. */
export const CASES: Case[] = [
  { name: 'int4 bf16, C++ names, N and K padded', spec: specOf('int4', 'bf16', 32, signed, false), N: 208, K: 320, M: 19, naming: 'cpp', seed: 1 },
  { name: 'int4 fp16, Python names, padded', spec: specOf('int4', 'fp16', 16, signed, false), N: 96, K: 192, M: 7, naming: 'python', seed: 2 },
  { name: 'int4 u4 fc2, shift folded into bias', spec: specOf('int4', 'bf16', 16, { unsigned: true, shift: GELU_SHIFT }, false), N: 128, K: 256, M: 21, naming: 'cpp', shift: GELU_SHIFT, seed: 3 },
  { name: 'nvfp4 fp16, 16-bit wtscale [1]', spec: specOf('nvfp4', 'fp16', 32, signed, true), N: 128, K: 256, M: 13, naming: 'cpp', outer: 'wtscale16', seed: 4 },
  { name: 'nvfp4 fp16, per-channel wcscales, Python names, N padded', spec: specOf('nvfp4', 'fp16', 32, signed, true), N: 112, K: 256, M: 9, naming: 'python', outer: 'wcscales', seed: 5 },
];

