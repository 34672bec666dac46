// Layers and checkpoints for the pack and export tests: a real quantized layer (quantizeWeights on a
// synthetic weight) written as logical safetensors tensors, the way a PyTorch user would save it.
import type { Dtype16, QuantFormat } from '../../dsl/types.js';
import { writeSafetensors, type StTensorInput } from '../../codegen/safetensors.js';
import { toBits16 } from '../../numerics/float16.js';
import type { LogicalLayer } from '../../numerics/logical.js';
import { quantizeWeights } from '../../runtime/reference/quantize.js';
import { createRng, randomBits16, syntheticLayer } from '../../runtime/reference/random.js';

export interface LayerOptions {
  N: number;
  K: number;
  rank: number;
  format: QuantFormat;
  dtype: Dtype16;
  seed: number;
  bias?: boolean;
  smooth?: boolean;
}

export function makeLayer(o: LayerOptions): LogicalLayer {
  const syn = syntheticLayer({ M: 1, N: o.N, K: o.K, seed: o.seed });
  const q = quantizeWeights(syn.weight, o.N, o.K, o.format);
  const rng = createRng(o.seed + 1);
  const l: LogicalLayer = {
    N: o.N,
    K: o.K,
    format: o.format,
    dtype: o.dtype,
    qweight: q.codes,
    wscales: q.scales,
    wtensorScale: q.tensorScale,
    rank: o.rank,
  };
  if (o.rank > 0) {
    l.loraDown = randomBits16(rng, o.rank * o.K, o.dtype, 1 / Math.sqrt(o.K));
    l.loraUp = randomBits16(rng, o.N * o.rank, o.dtype, 0.1);
    l.loraScales = Float32Array.from({ length: o.rank / 16 }, (_, i) => 1 - 0.25 * i);
  }
  if (o.bias ?? true) l.bias = Uint16Array.from(syn.bias, (b) => toBits16(b, o.dtype));
  if (o.smooth ?? true) l.smooth = Uint16Array.from({ length: o.K }, () => toBits16(0.5 + rng.next(), o.dtype));
  return l;
}

const ST16 = { fp16: 'F16', bf16: 'BF16' } as const;

/** The logical tensors of a layer under `prefix` (docs/layouts.md "Logical tensors"). */
export function logicalTensors(prefix: string, l: LogicalLayer): [string, StTensorInput][] {
  const d = ST16[l.dtype];
  const out: [string, StTensorInput][] = [
    [`${prefix}.qweight`, { dtype: l.format.kind === 'int4' ? 'I8' : 'U8', shape: [l.N, l.K], data: l.qweight }],
    [
      `${prefix}.wscales`,
      l.format.kind === 'int4'
        ? { dtype: ST16[l.format.scaleDtype], shape: [l.N, l.K / l.format.group], data: l.wscales }
        : { dtype: 'U8', shape: [l.N, l.K / l.format.group], data: l.wscales },
    ],
  ];
  if (l.format.kind === 'nvfp4') out.push([`${prefix}.wtensor_scale`, { dtype: 'F32', shape: [], data: new Float32Array([l.wtensorScale]) }]);
  if (l.rank > 0) {
    out.push([`${prefix}.lora_down`, { dtype: d, shape: [l.rank, l.K], data: l.loraDown! }]);
    out.push([`${prefix}.lora_up`, { dtype: d, shape: [l.N, l.rank], data: l.loraUp! }]);
    out.push([`${prefix}.lora_scales`, { dtype: 'F32', shape: [l.rank / 16], data: l.loraScales! }]);
  }
  if (l.smooth) out.push([`${prefix}.smooth`, { dtype: d, shape: [l.K], data: l.smooth }]);
  if (l.bias) out.push([`${prefix}.bias`, { dtype: d, shape: [l.N], data: l.bias }]);
  return out;
}

export async function writeLogicalCheckpoint(file: string, layers: Record<string, LogicalLayer>, extra: [string, StTensorInput][] = []): Promise<void> {
  const tensors = Object.entries(layers).flatMap(([p, l]) => logicalTensors(p, l));
  await writeSafetensors(file, [...extra, ...tensors], { format: 'pt' });
}
