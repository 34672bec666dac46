// The SVDQuant layer reference (docs/numerics.md): `kernelPrecisionLayer` mirrors every rounding site
// of the kernels (codes and scales bit-identical; outputs exact up to the summation orders PTX leaves
// open, which are fixed here and documented); `referenceLayer` computes the same dequantized 4-bit
// product + low-rank branch + bias in float64; `denseLayer` is the unquantized float64 layer.
import { UserError } from '../../dsl/errors.js';
import type { Dtype16, EpilogueOp, KernelSpec } from '../../dsl/types.js';
import { decodeE2m1 } from '../../numerics/fp4.js';
import { fromBits16, rn16, storeBits16 } from '../../numerics/float16.js';
import type { LogicalLayer } from '../../numerics/logical.js';
import { dequantize, dequantScale, quantizeActivations, type QuantizedGroups } from './quantize.js';
import { addF32, fmaF32, mulF32, roundSum } from '../../numerics/rounding.js';

/** Run-time inputs of the next layer, for the `qnext` epilogue. */
export interface NextLayerInputs {
  /** [N] the next layer's smoothing factors (bits in the layer dtype). */
  smooth?: Uint16Array;
  /** [rNext, N] the next layer's lora_down (bits), when the spec fuses its low-rank down projection. */
  loraDown?: Uint16Array;
  /** NVFP4 activation per-tensor scale of the next layer (default 1). */
  tensorScale?: number;
  /** Width of the GEMM's N-blocks: one lora_act slice per block (default N: one slice). */
  blockN?: number;
}

export interface LayerInputs {
  layer: LogicalLayer;
  M: number;
  /** [M,K] bits in layer.dtype. */
  x: Uint16Array;
  /** NVFP4 activation per-tensor scale (default 1). */
  atensorScale?: number;
  /**
   * lora_act as a previous GEMM's fused down projection wrote it (S slices of fp32 [M,R], summed in
   * order in fp32 by the reader). Omitted: computed from x as the activation kernel does (S = 1).
   */
  loraActSlices?: Float32Array[];
  next?: NextLayerInputs;
}

export interface KernelLayerResult {
  /** This layer's activation codes and scales (the activation kernel's output). */
  act: QuantizedGroups;
  /** [M,R] fp32 X·L1 (unscaled; the in-order fp32 sum of loraActSlices when those were given). */
  loraAct: Float32Array;
  /** [M,N] the main loop's fp32 result (after the NVFP4 tensor scales), before the epilogue. */
  gemm: Float64Array;
  /** [M,N] fp32 values just before the store. */
  preStore: Float64Array;
  /** [M,N] stored output bits (fp16 saturated); always computed, written when the spec says so. */
  y: Uint16Array;
  /** qnext: the next layer's codes and scales. */
  qnext?: QuantizedGroups;
  /** qnext with a fused low-rank down: one fp32 [M,rNext] slice per N-block. */
  nextLoraAct?: Float32Array[];
}

function checkSpec(inp: LayerInputs, spec: KernelSpec): void {
  const l = inp.layer;
  if (JSON.stringify(spec.format) !== JSON.stringify(l.format)) {
    throw new UserError(`spec.format: ${JSON.stringify(spec.format)} does not match the layer's ${JSON.stringify(l.format)}`);
  }
  if (spec.dtype !== l.dtype) throw new UserError(`spec.dtype: "${spec.dtype}" does not match the layer's "${l.dtype}"`);
  if (spec.lowRank.rank !== l.rank) throw new UserError(`spec.lowRank.rank: ${spec.lowRank.rank} does not match the layer's rank ${l.rank}`);
  if (inp.x.length !== inp.M * l.K) throw new UserError(`x: ${inp.x.length} elements, expected [M,K] = [${inp.M},${l.K}]`);
  if (has(spec, 'bias') && !l.bias) throw new UserError('bias: the spec has a bias epilogue but the layer has no bias');
  if (l.channelScales && !has(spec, 'cscale')) throw new UserError("wcscales: the layer has per-channel output scales but the spec has no 'cscale' epilogue step");
  if (has(spec, 'lowrank') && l.rank > 0 && (!l.loraDown || !l.loraUp)) throw new UserError(`lora_down/lora_up: required for rank ${l.rank}`);
}
function has(spec: KernelSpec, op: EpilogueOp['op']): boolean {
  return spec.epilogue.some((e) => e.op === op);
}
function decode16(bits: Uint16Array, dtype: Dtype16): Float64Array {
  return Float64Array.from(bits, (b) => fromBits16(b, dtype));
}
function loraScalesOf(l: LogicalLayer): Float32Array {
  return l.loraScales ?? new Float32Array(l.rank / 16).fill(1);
}

/** Activation quantization of X exactly as the activation kernel does it. */
export function quantizeLayerInput(inp: LayerInputs, spec: KernelSpec): QuantizedGroups {
  const l = inp.layer;
  const smooth = l.smooth ? decode16(l.smooth, l.dtype) : undefined;
  return quantizeActivations(decode16(inp.x, l.dtype), inp.M, l.K, l.format, spec.activation, smooth, inp.atensorScale ?? 1);
}

/**
 * rows × cols16 · down [R, cols]ᵀ in fp32, summed sequentially in ascending column order starting
 * from 0 (the fixed order for the 16-bit MMA whose order PTX leaves unspecified), over columns [c0, c1).
 */
function loraDownF32(v: Float64Array, rows: number, cols: number, down: Float64Array, R: number, c0 = 0, c1 = cols): Float32Array {
  const out = new Float32Array(rows * R);
  for (let m = 0; m < rows; m++) {
    for (let r = 0; r < R; r++) {
      let acc = 0;
      for (let c = c0; c < c1; c++) acc = fmaF32(v[m * cols + c], down[r * cols + c], acc);
      out[m * R + r] = acc;
    }
  }
  return out;
}

/** Σ_s slices[s] in fp32, s ascending (the low-rank up reader's order). */
function sumSlicesF32(slices: Float32Array[], n: number): Float32Array {
  if (slices.length === 0 || slices.some((sl) => sl.length !== n)) throw new UserError(`loraActSlices: expected ≥ 1 slices of ${n} values`);
  const out = Float32Array.from(slices[0]);
  for (let s = 1; s < slices.length; s++) for (let i = 0; i < n; i++) out[i] = addF32(out[i], slices[s][i]);
  return out;
}

/**
 * The int32 → float conversion the GEMM folds into its MMA (docs/numerics.md "GEMM main loop"): each group
 * starts from C = the bits of M = 2²³ + 2²², so D read as a float is exactly M + p (|p| < 2²²).
 */
const MAGIC = 12582912;

/** Main loop: INT4 exact group dots, x = RN(p·ascale), then fp32 fma (or f16 hfma) with wscale across groups; FP4 block sums. */
function mainLoop(a: QuantizedGroups, l: LogicalLayer, M: number, accum: 'f32' | 'f16'): Float64Array {
  const { N, K, format } = l;
  const G = format.group;
  const groups = K / G;
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let grp = 0; grp < groups; grp++) {
        const sa = a.scales[m * groups + grp];
        const sw = l.wscales[n * groups + grp];
        if (format.kind === 'int4') {
          let p = 0;
          for (let k = grp * G; k < (grp + 1) * G; k++) p += a.codes[m * K + k] * l.qweight[n * K + k];
          const fa = fromBits16(sa, format.scaleDtype);
          const fw = fromBits16(sw, format.scaleDtype);
          // x = RN(p·a) as the kernel forms it from the MMA's magic-biased D: fma(M + p, a, RN(−M·a)).
          const x = fmaF32(MAGIC + p, fa, mulF32(-MAGIC, fa));
          if (accum === 'f32') acc = fmaF32(x, fw, acc);
          else {
            const d = format.scaleDtype;
            acc = roundSum(rn16(x, d) * fw, acc, (v) => rn16(v, d));
          }
        } else {
          let p = 0; // exact: multiples of 0.25, |p| ≤ 36·G
          for (let k = grp * G; k < (grp + 1) * G; k++) p += decodeE2m1(a.codes[m * K + k]) * decodeE2m1(l.qweight[n * K + k]);
          const block = p * dequantScale(sa, format) * dequantScale(sw, format); // exact in float64
          acc = roundSum(block, acc, Math.fround);
        }
      }
      // The kernel multiplies once by alpha = f32(wtensor_scale × input_scale) (runtime/harness, export).
      if (format.kind === 'nvfp4') acc = mulF32(acc, mulF32(l.wtensorScale, a.tensorScale));
      out[m * N + n] = acc;
    }
  }
  return out;
}

function activationF32(op: 'silu' | 'gelu', y: number): number {
  if (op === 'silu') return Math.fround(y / (1 + Math.exp(-y)));
  return Math.fround(0.5 * y * (1 + Math.tanh(0.7978845608 * (y + 0.044715 * y * y * y))));
}

/** The layer in the kernels' precision. `accum` = the GEMM tile's cross-group accumulation. */
export function kernelPrecisionLayer(inp: LayerInputs, spec: KernelSpec, options: { accum?: 'f32' | 'f16' } = {}): KernelLayerResult {
  checkSpec(inp, spec);
  const l = inp.layer;
  const { M } = inp;
  const { N, K, rank: R, dtype } = l;
  const accum = options.accum ?? 'f32';
  if (accum === 'f16' && l.format.kind !== 'int4') throw new UserError(`accum: "f16" is only allowed for int4, not ${l.format.kind}`);
  const act = quantizeLayerInput(inp, spec);
  const x = decode16(inp.x, dtype);
  const loraAct = inp.loraActSlices
    ? sumSlicesF32(inp.loraActSlices, M * R)
    : R > 0 && l.loraDown
      ? loraDownF32(x, M, K, decode16(l.loraDown, dtype), R)
      : new Float32Array(M * R);
  const gemm = mainLoop(act, l, M, accum);
  const y = Float64Array.from(gemm);
  const result: KernelLayerResult = { act, loraAct, gemm, preStore: y, y: new Uint16Array(M * N) };
  for (const op of spec.epilogue) {
    if (op.op === 'cscale' && l.channelScales) {
      const s = decode16(l.channelScales, dtype); // absent = all 1: y unchanged
      for (let i = 0; i < M * N; i++) y[i] = mulF32(y[i], s[i % N]);
    } else if (op.op === 'bias') {
      const b = decode16(l.bias!, dtype);
      for (let i = 0; i < M * N; i++) y[i] = addF32(y[i], b[i % N]);
    } else if (op.op === 'lowrank' && R > 0) {
      const up = decode16(l.loraUp!, dtype);
      const scales = loraScalesOf(l);
      for (let rt = 0; rt < R / 16; rt++) {
        for (let m = 0; m < M; m++) {
          const a = new Float64Array(16);
          for (let j = 0; j < 16; j++) a[j] = rn16(mulF32(loraAct[m * R + rt * 16 + j], scales[rt]), dtype);
          for (let n = 0; n < N; n++) {
            let v = y[m * N + n];
            for (let j = 0; j < 16; j++) v = fmaF32(a[j], up[n * R + rt * 16 + j], v);
            y[m * N + n] = v;
          }
        }
      }
    } else if (op.op === 'silu' || op.op === 'gelu') {
      for (let i = 0; i < M * N; i++) y[i] = activationF32(op.op, y[i]);
    }
  }
  for (let i = 0; i < M * N; i++) result.y[i] = storeBits16(y[i], dtype);
  const qnext = spec.epilogue.find((e) => e.op === 'qnext');
  if (qnext && qnext.op === 'qnext') {
    const next = inp.next ?? {};
    const stored = decode16(result.y, dtype);
    const smooth = next.smooth ? decode16(next.smooth, dtype) : undefined;
    result.qnext = quantizeActivations(stored, M, N, qnext.format, qnext.activation, smooth, next.tensorScale ?? 1);
    const rNext = qnext.lowRankDown.rank;
    if (rNext > 0) {
      if (!next.loraDown || next.loraDown.length !== rNext * N) {
        throw new UserError(`next.loraDown: expected [${rNext},${N}] for the fused low-rank down of rank ${rNext}`);
      }
      const blockN = next.blockN ?? N;
      if (N % blockN !== 0) throw new UserError(`next.blockN: ${blockN} must divide N = ${N}`);
      const down = decode16(next.loraDown, dtype);
      result.nextLoraAct = Array.from({ length: N / blockN }, (_, s) => loraDownF32(stored, M, N, down, rNext, s * blockN, (s + 1) * blockN));
    }
  }
  return result;
}

/** The same layer in float64: dequantized 4-bit product + bias + low-rank branch + activation, no rounding. */
export function referenceLayer(inp: LayerInputs, spec: KernelSpec): Float64Array {
  checkSpec(inp, spec);
  const l = inp.layer;
  const { M } = inp;
  const { N, K, rank: R, dtype } = l;
  const act = quantizeLayerInput(inp, spec);
  const a = dequantize(act);
  const w = dequantize({ rows: N, K, format: l.format, unsigned: false, codes: l.qweight, scales: l.wscales, tensorScale: l.wtensorScale });
  const y = matmulNT(a, w, M, N, K);
  const x = decode16(inp.x, dtype);
  for (const op of spec.epilogue) {
    if (op.op === 'cscale' && l.channelScales) {
      const s = decode16(l.channelScales, dtype);
      for (let i = 0; i < M * N; i++) y[i] *= s[i % N];
    } else if (op.op === 'bias') {
      const b = decode16(l.bias!, dtype);
      for (let i = 0; i < M * N; i++) y[i] += b[i % N];
    } else if (op.op === 'lowrank' && R > 0) {
      const scales = loraScalesOf(l);
      const xa = matmulNT(x, decode16(l.loraDown!, dtype), M, R, K);
      for (let i = 0; i < M * R; i++) xa[i] *= scales[Math.floor((i % R) / 16)];
      const lo = matmulNT(xa, decode16(l.loraUp!, dtype), M, N, R);
      for (let i = 0; i < M * N; i++) y[i] += lo[i];
    } else if (op.op === 'silu' || op.op === 'gelu') {
      for (let i = 0; i < M * N; i++) y[i] = activation64(op.op, y[i]);
    }
  }
  return y;
}

function activation64(op: 'silu' | 'gelu', y: number): number {
  if (op === 'silu') return y / (1 + Math.exp(-y));
  return 0.5 * y * (1 + Math.tanh(0.7978845608 * (y + 0.044715 * y * y * y)));
}

/** A [M,K] · B [N,K]ᵀ in float64. */
export function matmulNT(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k] * b[n * K + k];
      out[m * N + n] = s;
    }
  }
  return out;
}

/** The unquantized layer in float64: x [M,K] · weight [N,K]ᵀ + bias, then the activation. */
export function denseLayer(x: ArrayLike<number>, weight: ArrayLike<number>, M: number, N: number, K: number, bias?: ArrayLike<number>, activation?: 'silu' | 'gelu'): Float64Array {
  const y = matmulNT(x, weight, M, N, K);
  for (let i = 0; i < M * N; i++) {
    if (bias) y[i] += bias[i % N];
    if (activation) y[i] = activation64(activation, y[i]);
  }
  return y;
}

