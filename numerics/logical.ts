// The logical tensors of one SVDQuant layer, PyTorch conventions (docs/layouts.md "Logical tensors"):
// what users, the SVDQuant decomposition and the references exchange. 16-bit tensors are bit patterns
// in `dtype`; all arrays are row-major.
import type { Dtype16, QuantFormat } from '../dsl/types.js';

export interface LogicalLayer {
  N: number;
  K: number;
  format: QuantFormat;
  /** dtype of the low-rank weights, bias, smoothing (and of X and Y). */
  dtype: Dtype16;
  /** [N,K] codes: s4 Int8Array, e2m1 Uint8Array. */
  qweight: Int8Array | Uint8Array;
  /** [N,K/G]: INT4 16-bit bits in format.scaleDtype; NVFP4 ue4m3 codes; MXFP4 ue8m0 codes. */
  wscales: Uint16Array | Uint8Array;
  /** NVFP4 per-tensor fp32 weight scale; 1 for the other formats. */
  wtensorScale: number;
  /** Multiple of 16; 0 = no low-rank branch. */
  rank: number;
  /** [rank,K] (Λ⁻¹ already folded in). */
  loraDown?: Uint16Array;
  /** [N,rank]. */
  loraUp?: Uint16Array;
  /** [rank/16] fp32, one per 16 ranks (default all 1). */
  loraScales?: Float32Array;
  /** [K] smoothing divisors (omitted = none). */
  smooth?: Uint16Array;
  /** [N]. */
  bias?: Uint16Array;
  /**
   * [N] per-channel output scales (NVFP4 `wcscales` of Nunchaku checkpoints), applied to the 4-bit
   * product before bias and the low-rank branch; omitted = all 1.
   */
  channelScales?: Uint16Array;
}
