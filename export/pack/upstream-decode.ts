// An upstream-style decode of a Nunchaku layer, written from the packer's own reshape/permute steps
// (DeepCompressor backend/nunchaku/utils.py NunchakuWeightPacker = Nunchaku nunchaku/lora/flux/packer.py:
// pack_weight, pack_scale, pack_micro_scale, pack_lowrank_weight), not from export/pack/nunchaku.ts's
// index formulas. `pack` decodes every layer both ways and compares (export/pack/verify.ts), so a bug in
// one of the two readings cannot pass silently.
import type { LogicalLayer } from '../../numerics/logical.js';
import type { NunchakuLayer } from './nunchaku.js';

/** numpy reshape(dims) + permute(perm): the flat offset each input axis's digit contributes. */
function strides(dims: number[], perm: number[]): number[] {
  const out = new Array<number>(dims.length).fill(0);
  let s = 1;
  for (let i = perm.length - 1; i >= 0; i--) {
    out[perm[i]] = s;
    s *= dims[perm[i]];
  }
  return out;
}
/** Σ digit·stride over axes [a0, a1) for every value of the mixed-radix number those axes spell. */
function offsets(count: number, dims: number[], st: number[], a0: number, a1: number): Int32Array {
  const out = new Int32Array(count);
  for (let v = 0; v < count; v++) {
    let rest = v;
    let off = 0;
    for (let a = a1 - 1; a >= a0; a--) {
      off += (rest % dims[a]) * st[a];
      rest = Math.floor(rest / dims[a]);
    }
    out[v] = off;
  }
  return out;
}

/** pack_weight: (n, k) → (n/128, 8, 2, 8, 1, k/64, 1, 2, 4, 8) permuted (0,5,6,1,3,8,2,7,4,9); 8 nibbles per int32, LSB first. */
function weightNibbleOffsets(Np: number, Kp: number): [Int32Array, Int32Array] {
  const dims = [Np / 128, 8, 2, 8, 1, Kp / 64, 1, 2, 4, 8];
  const st = strides(dims, [0, 5, 6, 1, 3, 8, 2, 7, 4, 9]);
  return [offsets(Np, dims, st, 0, 5), offsets(Kp, dims, st, 5, 10)];
}
/** pack_scale: (n, groups) → (n/128, 1, 8, 2, 4, 2, groups) permuted (0,6,1,2,4,3,5). */
function scaleOffsets(Np: number, groups: number): [Int32Array, Int32Array] {
  const dims = [Np / 128, 1, 8, 2, 4, 2, groups];
  const st = strides(dims, [0, 6, 1, 2, 4, 3, 5]);
  return [offsets(Np, dims, st, 0, 6), offsets(groups, dims, st, 6, 7)];
}
/** pack_micro_scale: (n, Kp/16) viewed (n/128, 1, 4, 4, 8, Kp/64, 4) permuted (0,5,1,4,3,2,6). */
function microScaleOffsets(Np: number, Kp: number): [Int32Array, Int32Array] {
  const dims = [Np / 128, 1, 4, 4, 8, Kp / 64, 4];
  const st = strides(dims, [0, 5, 1, 4, 3, 2, 6]);
  return [offsets(Np, dims, st, 0, 5), offsets(Kp / 16, dims, st, 5, 7)];
}
/**
 * pack_lowrank_weight: 16×16 packs; inside a pack (n, k) = (16, 16) reshaped (2, 8, 1, 2, 4, 2) and
 * permuted (3, 6, 2, 5, 4, 7) of the full 8-axis view, i.e. (n_lane, k_lane, n_pack, k_pack, reg_n, reg_k).
 * down: n = rank, k = channel, packs ordered (channel pack, rank pack); up: n = channel, k = rank.
 */
function lowrankOffset(chan: number, r: number, R: number, down: boolean): number {
  const [n, k] = down ? [r % 16, chan % 16] : [chan % 16, r % 16];
  const nPack = n >> 3, nLane = n % 8;
  const kPack = k >> 3, kLane = (k % 8) >> 1, regK = k % 2;
  const inPack = (((nLane * 4 + kLane) * 2 + nPack) * 2 + kPack) * 2 + regK;
  return ((chan >> 4) * (R / 16) + (r >> 4)) * 256 + inPack;
}

/** The logical values (real N × K, padding dropped) an upstream reader sees in a Nunchaku layer. */
export function upstreamDecode(nk: NunchakuLayer, N: number, K: number): Omit<LogicalLayer, 'format'> & { kind: NunchakuLayer['kind'] } {
  const { Np, Kp, rank: R } = nk;
  const [wn, wk] = weightNibbleOffsets(Np, Kp);
  const qweight = nk.kind === 'int4' ? new Int8Array(N * K) : new Uint8Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const nib = wn[n] + wk[k];
      const v = (nk.qweight[nib >> 1] >> (4 * (nib & 1))) & 0xf;
      qweight[n * K + k] = nk.kind === 'int4' ? (v << 28) >> 28 : v;
    }
  }
  let wscales: Uint16Array | Uint8Array;
  if (nk.kind === 'int4') {
    const [sn, sg] = scaleOffsets(Np, Kp / 64);
    const src = nk.wscales as Uint16Array;
    wscales = new Uint16Array((N * K) / 64);
    for (let n = 0; n < N; n++) for (let g = 0; g < K / 64; g++) wscales[n * (K / 64) + g] = src[sn[n] + sg[g]];
  } else {
    const [sn, sg] = microScaleOffsets(Np, Kp);
    const src = nk.wscales as Uint8Array;
    wscales = new Uint8Array((N * K) / 16);
    for (let n = 0; n < N; n++) for (let g = 0; g < K / 16; g++) wscales[n * (K / 16) + g] = src[sn[n] + sg[g]];
  }
  const vec = (v: Uint16Array | undefined, n: number, np: number) => {
    if (!v) return undefined;
    const [off] = scaleOffsets(np, 1);
    return Uint16Array.from({ length: n }, (_, i) => v[off[i]]);
  };
  const out: ReturnType<typeof upstreamDecode> = { kind: nk.kind, N, K, dtype: nk.dtype, qweight, wscales, wtensorScale: nk.wtscale, rank: R };
  if (R > 0 && nk.loraDown && nk.loraUp) {
    const down = nk.loraDown;
    const up = nk.loraUp;
    out.loraDown = Uint16Array.from({ length: R * K }, (_, i) => down[lowrankOffset(i % K, Math.floor(i / K), R, true)]);
    out.loraUp = Uint16Array.from({ length: N * R }, (_, i) => up[lowrankOffset(Math.floor(i / R), i % R, R, false)]);
  }
  out.bias = vec(nk.bias, N, Np);
  out.smooth = vec(nk.smooth, K, Kp);
  out.channelScales = vec(nk.wcscales, N, Np);
  return out;
}
