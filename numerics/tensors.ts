// A tiny typed tensor used by the reference, the packer and the tests: 16-bit floats are stored as
// their bit patterns (Uint16Array), so what the kernels read and write can be compared bit for bit.
import { UserError } from '../dsl/errors.js';
import { fromBits16, toBits16 } from './float16.js';

export type TensorDtype = 'fp16' | 'bf16' | 'f32' | 'f64' | 'int8' | 'uint8' | 'int32';

export interface DataOf {
  fp16: Uint16Array;
  bf16: Uint16Array;
  f32: Float32Array;
  f64: Float64Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
}

export interface Tensor<D extends TensorDtype = TensorDtype> {
  dtype: D;
  shape: number[];
  data: DataOf[D];
}

const CTOR = {
  fp16: Uint16Array,
  bf16: Uint16Array,
  f32: Float32Array,
  f64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
} as const;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A zero-filled tensor, or one wrapping `data` (which must have exactly numel(shape) elements). */
export function tensor<D extends TensorDtype>(dtype: D, shape: number[], data?: DataOf[D]): Tensor<D> {
  const n = numel(shape);
  if (data === undefined) return { dtype, shape, data: new CTOR[dtype](n) as DataOf[D] };
  if (data.length !== n) {
    throw new UserError(`tensor [${shape.join(',')}] ${dtype}: data has ${data.length} elements, expected ${n}`);
  }
  return { dtype, shape, data };
}

/** Decodes any tensor to float64 values (16-bit patterns are decoded exactly). */
export function toFloat64(t: Tensor): Float64Array {
  const out = new Float64Array(t.data.length);
  if (t.dtype === 'fp16' || t.dtype === 'bf16') {
    const d = t.data as Uint16Array;
    for (let i = 0; i < d.length; i++) out[i] = fromBits16(d[i], t.dtype);
  } else {
    for (let i = 0; i < t.data.length; i++) out[i] = t.data[i];
  }
  return out;
}

/** Rounds values to `dtype` (RNE for floats; integers must already be in range). */
export function fromValues<D extends TensorDtype>(values: ArrayLike<number>, dtype: D, shape: number[]): Tensor<D> {
  const t = tensor(dtype, shape);
  if (values.length !== t.data.length) {
    throw new UserError(`tensor [${shape.join(',')}] ${dtype}: ${values.length} values, expected ${t.data.length}`);
  }
  if (dtype === 'fp16' || dtype === 'bf16') {
    const d = t.data as Uint16Array;
    for (let i = 0; i < values.length; i++) d[i] = toBits16(values[i], dtype);
  } else {
    for (let i = 0; i < values.length; i++) (t.data as Float64Array)[i] = values[i];
  }
  return t;
}
