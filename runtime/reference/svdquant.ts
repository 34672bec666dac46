// The SVDQuant decomposition on small matrices (tests and benchmarks build realistic layers with it):
//   λ_k = max|X_k|^α / max_n|W_nk|^(1−α)         smoothing, migration strength α
//   Λ·W (as [N,K]: W_nk·λ_k) = U_r Σ_r V_rᵀ + R    rank-r truncated SVD, residual R
//   lora_up = U_r Σ_r [N,r], lora_down = V_rᵀ Λ⁻¹ [r,K] (Λ⁻¹ folded in), qweight/wscales = Q(R)
// The low-rank weights are rounded to the layer dtype first and R absorbs their rounding error.
import { Matrix, SVD } from 'ml-matrix';
import { UserError } from '../../dsl/errors.js';
import type { ActivationCoding, Dtype16, QuantFormat } from '../../dsl/types.js';
import { fromBits16, toBits16 } from '../../numerics/float16.js';
import type { LogicalLayer } from '../../numerics/logical.js';
import { dequantize, quantizeWeights } from './quantize.js';

export interface SvdquantOptions {
  format: QuantFormat;
  dtype: Dtype16;
  /** Low-rank branch rank, a multiple of 16 (0 = none). */
  rank: number;
  /** Migration strength α in [0, 1] (default 0.5); `null` = no smoothing. */
  alpha?: number | null;
  /** How this layer's activations are coded: u4 activations fold `shift` into the bias. */
  activation?: ActivationCoding;
}

/** λ_k = max|X_k|^α / max|W_k|^(1−α); 1 where a channel is all zero. */
export function smoothingFactors(x: ArrayLike<number>, M: number, weight: ArrayLike<number>, N: number, K: number, alpha: number): Float64Array {
  if (!(alpha >= 0 && alpha <= 1)) throw new UserError(`alpha: ${alpha} must be in [0, 1]`);
  const ax = new Float64Array(K);
  const aw = new Float64Array(K);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) ax[k] = Math.max(ax[k], Math.abs(x[m * K + k]));
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) aw[k] = Math.max(aw[k], Math.abs(weight[n * K + k]));
  return Float64Array.from({ length: K }, (_, k) => {
    const l = ax[k] ** alpha / aw[k] ** (1 - alpha);
    return ax[k] > 0 && aw[k] > 0 && Number.isFinite(l) && l > 0 ? l : 1;
  });
}

/**
 * Builds the logical tensors of an SVDQuant layer from float64 calibration activations x [M,K],
 * weight [N,K] and bias [N].
 */
export function svdquantLayer(
  calib: { x: ArrayLike<number>; M: number },
  weight: ArrayLike<number>,
  N: number,
  K: number,
  bias: ArrayLike<number> | undefined,
  o: SvdquantOptions,
): LogicalLayer {
  const { dtype, format, rank } = o;
  if (!Number.isInteger(rank) || rank < 0 || rank % 16 !== 0) throw new UserError(`rank: ${rank} must be a non-negative multiple of 16`);
  if (rank > Math.min(N, K)) throw new UserError(`rank: ${rank} must not exceed min(N, K) = ${Math.min(N, K)}`);
  if (weight.length !== N * K) throw new UserError(`weight: ${weight.length} elements, expected [N,K] = [${N},${K}]`);
  const alpha = o.alpha === undefined ? 0.5 : o.alpha;
  let smoothBits: Uint16Array | undefined;
  const lam = new Float64Array(K).fill(1);
  if (alpha !== null) {
    const l = smoothingFactors(calib.x, calib.M, weight, N, K, alpha);
    smoothBits = Uint16Array.from(l, (v) => toBits16(v, dtype));
    for (let k = 0; k < K; k++) lam[k] = fromBits16(smoothBits[k], dtype); // use the stored λ everywhere
  }
  const residual = new Float64Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) residual[n * K + k] = weight[n * K + k] * lam[k];

  const layer: Partial<LogicalLayer> = { N, K, format, dtype, rank, wtensorScale: 1 };
  if (rank > 0) {
    const svd = new SVD(new Matrix(Array.from({ length: N }, (_, n) => Array.from(residual.subarray(n * K, (n + 1) * K)))), { autoTranspose: true });
    const U = svd.leftSingularVectors;
    const V = svd.rightSingularVectors;
    const sigma = svd.diagonal;
    const up = new Uint16Array(N * rank);
    const down = new Uint16Array(rank * K);
    for (let n = 0; n < N; n++) for (let r = 0; r < rank; r++) up[n * rank + r] = toBits16(U.get(n, r) * sigma[r], dtype);
    for (let r = 0; r < rank; r++) for (let k = 0; k < K; k++) down[r * K + k] = toBits16(V.get(k, r) / lam[k], dtype);
    // R = Λ·W − up·(down·Λ), with the rounded low-rank weights
    for (let n = 0; n < N; n++) {
      for (let r = 0; r < rank; r++) {
        const u = fromBits16(up[n * rank + r], dtype);
        if (u === 0) continue;
        for (let k = 0; k < K; k++) residual[n * K + k] -= u * fromBits16(down[r * K + k], dtype) * lam[k];
      }
    }
    layer.loraUp = up;
    layer.loraDown = down;
    layer.loraScales = new Float32Array(rank / 16).fill(1);
  }
  const q = quantizeWeights(residual, N, K, format);
  layer.qweight = q.codes;
  layer.wscales = q.scales;
  layer.wtensorScale = q.tensorScale;
  if (smoothBits) layer.smooth = smoothBits;

  const shift = o.activation?.unsigned ? o.activation.shift : 0;
  if (bias || shift !== 0) {
    // u4: the kernel quantizes (x + shift)/λ, adding shift·Σ_k deq(R)_nk/λ_k to every output: subtract it here.
    const deq = shift !== 0 ? dequantize(q) : undefined;
    layer.bias = Uint16Array.from({ length: N }, (_, n) => {
      let b = bias ? bias[n] : 0;
      if (deq) {
        let s = 0;
        for (let k = 0; k < K; k++) s += deq[n * K + k] / lam[k];
        b -= shift * s;
      }
      return toBits16(b, dtype);
    });
  }
  return layer as LogicalLayer;
}
