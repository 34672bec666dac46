// Deterministic randomness for tests and benchmarks: xoshiro128** seeded through splitmix32, plus
// generators of realistic layers (activations with a few large-magnitude channels, as in diffusion
// transformers; weights with a decaying spectrum).
import type { Dtype16 } from '../../dsl/types.js';
import { toBits16 } from '../../numerics/float16.js';

export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  u32(): number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
}

export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const st = [splitmix(), splitmix(), splitmix(), splitmix()];
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const u32 = (): number => {
    const result = Math.imul(rotl(Math.imul(st[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (st[1] << 9) >>> 0;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 11);
    return result;
  };
  const next = () => u32() / 2 ** 32;
  let spare: number | undefined;
  return {
    u32,
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    normal: () => {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      const u = 1 - next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

export function normals(rng: Rng, n: number, std = 1): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal() * std);
}

/** Random finite 16-bit values (normal, given std), as bits. */
export function randomBits16(rng: Rng, n: number, dtype: Dtype16, std = 1): Uint16Array {
  return Uint16Array.from({ length: n }, () => toBits16(rng.normal() * std, dtype));
}

export interface SyntheticLayerOptions {
  M: number;
  N: number;
  K: number;
  seed: number;
  /** How many input channels carry outliers (default K/32). */
  outlierChannels?: number;
  /** Magnitude multiplier of the outlier channels (default 30). */
  outlierScale?: number;
  /** Weight std (default 1/sqrt(K)). */
  weightStd?: number;
}

export interface SyntheticLayer {
  M: number;
  N: number;
  K: number;
  /** [M,K] float64 activations with channel outliers. */
  x: Float64Array;
  /** [N,K] float64 weights: Gaussian plus a low-rank component. */
  weight: Float64Array;
  /** [N] float64. */
  bias: Float64Array;
  outliers: number[];
}

/**
 * A layer like those SVDQuant targets: a few input channels of X are `outlierScale` times larger
 * (and shifted) in every row; W is Gaussian plus a rank-4 component (a decaying spectrum).
 */
export function syntheticLayer(o: SyntheticLayerOptions): SyntheticLayer {
  const rng = createRng(o.seed);
  const { M, N, K } = o;
  const nOut = o.outlierChannels ?? Math.max(1, Math.floor(K / 32));
  const big = o.outlierScale ?? 30;
  const std = o.weightStd ?? 1 / Math.sqrt(K);
  const outliers = new Set<number>();
  while (outliers.size < nOut) outliers.add(rng.int(0, K - 1));
  const x = new Float64Array(M * K);
  const chanScale = Float64Array.from({ length: K }, (_, k) => (outliers.has(k) ? big * (0.5 + rng.next()) : 0.5 + rng.next()));
  const chanMean = Float64Array.from({ length: K }, (_, k) => (outliers.has(k) ? chanScale[k] * rng.normal() : 0));
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) x[m * K + k] = chanMean[k] + chanScale[k] * rng.normal();
  const weight = normals(rng, N * K, std);
  for (let r = 0; r < 4; r++) {
    const u = normals(rng, N, 1);
    const v = normals(rng, K, std * 2 ** -r);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) weight[n * K + k] += u[n] * v[k];
  }
  const bias = normals(rng, N, 0.1);
  return { M, N, K, x, weight, bias, outliers: [...outliers].sort((a, b) => a - b) };
}
