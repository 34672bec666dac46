// The smallest logical INT4 layer file the run-path tests start from: x [M,K] bf16, qweight [N,K] int8,
// wscales [N,K/64] bf16 (docs/cli.md); tests add or break tensors from there.
import type { StTensorInput } from '../../../codegen/safetensors.js';
import { toBits16 } from '../../../numerics/float16.js';

export const bf16 = (shape: number[], f: (i: number) => number): StTensorInput => ({
  dtype: 'bf16',
  shape,
  data: Uint16Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => toBits16(f(i), 'bf16')),
});

export const baseLayerTensors = (M: number, N: number, K: number): Record<string, StTensorInput> => ({
  x: bf16([M, K], (i) => Math.sin(i)),
  qweight: { dtype: 'int8', shape: [N, K], data: Int8Array.from({ length: N * K }, (_, i) => (i % 16) - 8) },
  wscales: bf16([N, K / 64], (i) => 0.01 * (i + 1)),
});
