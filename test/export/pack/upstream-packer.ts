// An independent TypeScript re-implementation of the upstream Nunchaku checkpoint writer, for tests only:
// DeepCompressor deepcompressor/backend/nunchaku/convert.py convert_to_nunchaku_w4x4y16_linear_state_dict
// + utils.py convert_to_nunchaku_w4x4y16_linear_weight / NunchakuWeightPacker (= nunchaku/lora/flux/
// packer.py). Written from those algorithms as literal reshape → pad → permute steps on materialized
// arrays (numpy semantics), sharing nothing with export/pack (nunchaku.ts index formulas, upstream-
// decode.ts strides). It takes the logical tensors (codes, scales, …) so the tests know every value.
import type { StTensorInput } from '../../../codegen/safetensors.js';
import type { Dtype16 } from '../../../dsl/types.js';
import { fromBits16, toBits16 } from '../../../numerics/float16.js';

type Arr = Uint16Array | Uint8Array | Int32Array;

/** numpy: x.reshape(dims).transpose(perm).flatten(). */
export function permute<T extends Arr>(src: T, dims: number[], perm: number[]): T {
  const n = src.length;
  if (dims.reduce((a, b) => a * b, 1) !== n) throw new Error(`permute: ${n} elements do not fill [${dims}]`);
  const inStride = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const outDims = perm.map((p) => dims[p]);
  const out = new (src.constructor as new (n: number) => T)(n);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < n; o++) {
    let off = 0;
    for (let a = 0; a < perm.length; a++) off += idx[a] * inStride[perm[a]];
    out[o] = src[off];
    for (let a = perm.length - 1; a >= 0; a--) {
      if (++idx[a] < outDims[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

/** utils.pad: pad a row-major [rows, cols] matrix to multiples (dr, dc) with `fill`. */
function pad2<T extends Arr>(src: T, rows: number, cols: number, dr: number, dc: number, fill: number): { a: T; rows: number; cols: number } {
  const R = Math.ceil(rows / dr) * dr;
  const C = Math.ceil(cols / dc) * dc;
  const a = new (src.constructor as new (n: number) => T)(R * C).fill(fill) as T;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[r * C + c] = src[r * cols + c];
  return { a, rows: R, cols: C };
}

/** pack_weight: int32 codes [n, k] → the int8 bytes of Nunchaku's qweight. */
function packWeight(codes: Int32Array, n: number, k: number): Uint8Array {
  const p = permute(codes, [n / 128, 8, 2, 8, 1, k / 64, 1, 2, 4, 8], [0, 5, 6, 1, 3, 8, 2, 7, 4, 9]);
  const words = new Int32Array(p.length / 8);
  for (let w = 0; w < words.length; w++) {
    let v = 0;
    for (let j = 0; j < 8; j++) v |= (p[w * 8 + j] & 0xf) << (4 * j); // bitwise_and 0xF, << arange(0,32,4), sum
    words[w] = v;
  }
  return new Uint8Array(words.buffer); // view(int8), little-endian
}

/** pack_scale: 16-bit [n, groups] (groups = 1 for bias/smooth/wcscales) → packed. */
function packScale(s: Uint16Array, n: number, groups: number): Uint16Array {
  return permute(s, [n / 128, 1, 8, 2, 4, 2, groups], [0, 6, 1, 2, 4, 3, 5]);
}

/** pack_micro_scale: fp8 bytes [n, k/16] → packed (viewed (n/128, 1, 4, 4, 8, k/64, 4), permuted (0,5,1,4,3,2,6)). */
function packMicroScale(s: Uint8Array, n: number, k: number): Uint8Array {
  return permute(s, [n / 128, 1, 4, 4, 8, k / 64, 4], [0, 5, 1, 4, 3, 2, 6]);
}

/** pack_lowrank_weight after pad_lowrank_weight: down [r, c] (pad c to 128), up [c, r] (pad c to 128); both to 16. */
function packLowrank(w: Uint16Array, rows: number, cols: number, down: boolean): { data: Uint16Array; c: number; r: number } {
  const p1 = down ? pad2(w, rows, cols, 1, 128, 0) : pad2(w, rows, cols, 128, 1, 0);
  const p = pad2(p1.a, p1.rows, p1.cols, 16, 16, 0);
  let packs: Uint16Array;
  let cPacks: number, rPacks: number;
  if (down) {
    rPacks = p.rows / 16;
    cPacks = p.cols / 16;
    packs = permute(p.a, [rPacks, 16, cPacks, 16], [2, 0, 1, 3]);
  } else {
    cPacks = p.rows / 16;
    rPacks = p.cols / 16;
    packs = permute(p.a, [cPacks, 16, rPacks, 16], [0, 2, 1, 3]);
  }
  const data = permute(packs, [cPacks, rPacks, 2, 8, 1, 2, 4, 2], [0, 1, 3, 6, 2, 5, 4, 7]);
  return { data, c: cPacks * 16, r: rPacks * 16 };
}

export interface UpstreamInput {
  kind: 'int4' | 'nvfp4';
  dtype: Dtype16;
  N: number;
  K: number;
  /** [N,K] s4 (−8..7) or e2m1 codes (0..15). */
  codes: Int8Array | Uint8Array;
  /** INT4: [N,K/64] 16-bit; NVFP4: [N,K/16] fp8 e4m3 bytes (the subscale). */
  scales: Uint16Array | Uint8Array;
  /** NVFP4 outer scale: one 16-bit value (→ wtscale [1]) or [N] 16-bit (→ wcscales). */
  outer?: { perTensor: number } | { perChannel: Uint16Array };
  /** [N] 16-bit; absent = zeros (the converter always writes a bias). */
  bias?: Uint16Array;
  /** [K] 16-bit; absent = ones (always written). */
  smooth?: Uint16Array;
  /** [r,K] with Λ⁻¹ already folded in (convert.py "unsmooth lora down projection"), [N,r]. */
  lora?: { down: Uint16Array; up: Uint16Array; rank: number };
  /** convert.py's activation shift (u4 fc2): bias += lora_up · lora_down · shift, in float64. */
  shift?: number;
  naming: 'cpp' | 'python';
}

const ST: Record<Dtype16, 'F16' | 'BF16'> = { fp16: 'F16', bf16: 'BF16' };

/** The state dict the upstream converter writes for one layer (prefixed), plus the bias it folded. */
export function upstreamLayerTensors(prefix: string, u: UpstreamInput): { tensors: [string, StTensorInput][]; foldedBias: Uint16Array } {
  const { N, K, dtype } = u;
  const one = toBits16(1, dtype);
  const d16 = ST[dtype];
  // convert.py: bias = bias + up @ down @ shift (float64), cast back to dtype
  let bias = u.bias ?? new Uint16Array(N);
  if (u.shift !== undefined && u.lora) {
    const { down, up, rank: R } = u.lora;
    const rowSum = new Float64Array(R);
    for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) rowSum[r] += fromBits16(down[r * K + k], dtype) * u.shift;
    bias = Uint16Array.from({ length: N }, (_, n) => {
      let v = fromBits16(bias[n], dtype);
      for (let r = 0; r < R; r++) v += fromBits16(up[n * R + r], dtype) * rowSum[r];
      return toBits16(v, dtype);
    });
  }
  const smooth = u.smooth ?? new Uint16Array(K).fill(one);
  // pad_weight: (128, 64·2) with 0; pack_weight
  const w = pad2(Int32Array.from(u.codes), N, K, 128, 128, 0);
  const Np = w.rows, Kp = w.cols;
  const out: [string, StTensorInput][] = [[`${prefix}.qweight`, { dtype: 'I8', shape: [Np, Kp / 2], data: new Int8Array(packWeight(w.a, Np, Kp).buffer) }]];
  if (u.kind === 'int4') {
    const s = pad2(u.scales as Uint16Array, N, K / 64, 128, 2, one); // pad_scale: fill 1
    out.push([`${prefix}.wscales`, { dtype: d16, shape: [s.cols, Np], data: packScale(s.a, Np, s.cols) }]);
  } else {
    const s = pad2(u.scales as Uint8Array, N, K / 16, 128, 4, 0x38); // fill 1 (fp8 e4m3 1.0 = 0x38)
    out.push([`${prefix}.wscales`, { dtype: 'F8_E4M3', shape: [s.cols, Np], data: packMicroScale(s.a, Np, Kp) }]);
    if (u.outer && 'perTensor' in u.outer) out.push([`${prefix}.wtscale`, { dtype: d16, shape: [1], data: new Uint16Array([u.outer.perTensor]) }]);
    if (u.outer && 'perChannel' in u.outer) {
      const c = pad2(u.outer.perChannel, N, 1, 128, 1, one);
      out.push([`${prefix}.wcscales`, { dtype: d16, shape: [Np], data: packScale(c.a, Np, 1) }]);
    }
  }
  out.push([`${prefix}.bias`, { dtype: d16, shape: [Np], data: packScale(pad2(bias, N, 1, 128, 1, one).a, Np, 1) }]);
  const sm = packScale(pad2(smooth, K, 1, 128, 1, one).a, Kp, 1);
  const py = u.naming === 'python';
  out.push([`${prefix}.${py ? 'smooth_factor_orig' : 'smooth_orig'}`, { dtype: d16, shape: [Kp], data: sm }]);
  out.push([`${prefix}.${py ? 'smooth_factor' : 'smooth'}`, { dtype: d16, shape: [Kp], data: sm.slice() }]);
  if (u.lora) {
    const dn = packLowrank(u.lora.down, u.lora.rank, K, true);
    const up = packLowrank(u.lora.up, N, u.lora.rank, false);
    out.push([`${prefix}.${py ? 'proj_down' : 'lora_down'}`, { dtype: d16, shape: [dn.c, dn.r], data: dn.data }]);
    out.push([`${prefix}.${py ? 'proj_up' : 'lora_up'}`, { dtype: d16, shape: [up.c, up.r], data: up.data }]);
  }
  return { tensors: out, foldedBias: bias };
}
