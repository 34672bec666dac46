import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loraDownIndex, loraUpIndex, packLayer } from '../../../codegen/layouts.js';
import {
  canonicalToNunchaku, fromNunchaku, nunchakuToCanonical, nunchakuWeightIndex, nunchakuWmscaleIndex, nunchakuWScaleIndex,
  pad128, toNunchaku, type NunchakuLayer,
} from '../../../export/pack/nunchaku.js';
import type { LogicalLayer } from '../../../numerics/logical.js';
import { createRng } from '../../../runtime/reference/random.js';

/** numpy's reshape(dims) + transpose(perm) + flatten, as a map from a reshaped multi-index to the flat position. */
function permutedFlat(digits: number[], dims: number[], perm: number[]): number {
  let flat = 0;
  for (const axis of perm) flat = flat * dims[axis] + digits[axis];
  return flat;
}
function digitsOf(value: number, dims: number[]): number[] {
  const out = new Array(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    out[i] = value % dims[i];
    value = Math.floor(value / dims[i]);
  }
  return out;
}

// NunchakuWeightPacker.pack_weight: (n, k) reshaped to (n/128, 8, 2, 8, 1, k/64, 1, 2, 4, 8), permuted to
// (n_tile, k_tile, k_pack, n_pack, n_lane, k_lane, n_pack_size, k_pack_size, reg_n, reg_k); nibbles in int32 LSB first.
function packerWeightNibble(n: number, k: number, Np: number, Kp: number): number {
  const nd = [Np / 128, 8, 2, 8, 1];
  const kd = [Kp / 64, 1, 2, 4, 8];
  const dims = [...nd, ...kd];
  const digits = [...digitsOf(n, nd), ...digitsOf(k, kd)];
  // axes: 0 n_tile, 1 n_pack, 2 n_pack_size, 3 n_lane, 4 reg_n, 5 k_tile, 6 k_pack, 7 k_pack_size, 8 k_lane, 9 reg_k
  return permutedFlat(digits, dims, [0, 5, 6, 1, 3, 8, 2, 7, 4, 9]);
}
// pack_scale: (n, groups) reshaped to (n/128, 1, 8, 2, 4, 2, groups), permuted to (n_tile, group, pack, lane/4, lane%4, pair, elem)
function packerScaleIndex(n: number, grp: number, Np: number, groups: number): number {
  const dims = [Np / 128, 1, 8, 2, 4, 2, groups];
  const digits = [...digitsOf(n, dims.slice(0, 6)), grp];
  return permutedFlat(digits, dims, [0, 6, 1, 2, 4, 3, 5]);
}

function randomLayer(seed: number, kind: 'int4' | 'nvfp4', N: number, K: number, R: number, withVectors: boolean): LogicalLayer {
  const rng = createRng(seed);
  const dtype = seed % 2 ? 'fp16' : 'bf16';
  const u16 = (n: number) => Uint16Array.from({ length: n }, () => rng.int(0, 0x7bff));
  const G = kind === 'int4' ? 64 : 16;
  const l: LogicalLayer = {
    N, K, dtype, rank: R,
    format: kind === 'int4' ? { kind, group: 64, scaleDtype: dtype } : { kind, group: 16, scaleDtype: 'ue4m3' },
    qweight: kind === 'int4' ? Int8Array.from({ length: N * K }, () => rng.int(-8, 7)) : Uint8Array.from({ length: N * K }, () => rng.int(0, 15)),
    wscales: kind === 'int4' ? u16((N * K) / G) : Uint8Array.from({ length: (N * K) / G }, () => rng.int(0, 0x7e)),
    wtensorScale: kind === 'nvfp4' ? Math.fround(rng.next()) : 1,
  };
  if (R > 0) {
    l.loraDown = u16(R * K);
    l.loraUp = u16(N * R);
    l.loraScales = new Float32Array(R / 16).fill(1);
  }
  if (withVectors) {
    l.bias = u16(N);
    l.smooth = u16(K);
  }
  return l;
}

describe('Nunchaku index formulas match its packer code and comment tables', () => {
  it('qweight: pack_weight reshape/permute', () => {
    const Np = 256, Kp = 256;
    const bad: string[] = [];
    for (let n = 0; n < Np; n++) for (let k = 0; k < Kp; k++) if (nunchakuWeightIndex(n, k, Kp) !== packerWeightNibble(n, k, Np, Kp)) bad.push(`${n},${k}`);
    expect(bad).toEqual([]);
  });
  it('wscales/bias/smooth: pack_scale reshape/permute and the "0 1 8 9 / 2 3 10 11 / … / 118 119 126 127" table', () => {
    for (const groups of [1, 3]) for (let n = 0; n < 256; n++) for (let g = 0; g < groups; g++) {
      expect(nunchakuWScaleIndex(n, g, groups)).toBe(packerScaleIndex(n, g, 256, groups));
    }
    const lanes = [[0, [0, 1, 8, 9]], [1, [2, 3, 10, 11]], [31, [118, 119, 126, 127]]] as const;
    for (const [lane, cols] of lanes) cols.forEach((c, e) => expect(nunchakuWScaleIndex(c, 0, 1)).toBe(lane * 4 + e));
  });
  it('wmscales: the pack_micro_scale table "lane0: 0 32 64 96; lane1: 8 40 72 104; lane4: 1 33 65 97"', () => {
    const table = [[0, [0, 32, 64, 96]], [1, [8, 40, 72, 104]], [4, [1, 33, 65, 97]]] as const;
    for (const [lane, cols] of table) cols.forEach((c, p) => {
      for (let s = 0; s < 4; s++) expect(nunchakuWmscaleIndex(c, 16 * s, 128)).toBe((lane * 4 + p) * 4 + s);
    });
  });
});

describe('conversion Nunchaku ↔ canonical', () => {
  const shapes = fc.record({
    kind: fc.constantFrom('int4' as const, 'nvfp4' as const),
    N: fc.integer({ min: 1, max: 12 }).map((v) => v * 16),
    K: fc.integer({ min: 1, max: 5 }).map((v) => v * 64),
    R: fc.constantFrom(0, 16, 32),
    vectors: fc.boolean(),
    seed: fc.nat(),
  });
  /** Deep equality with typed arrays compared as bytes (vitest's deep compare is slow on big arrays). */
  function same(a: object, b: object): void {
    const norm = (o: object) =>
      JSON.stringify(o, (_, v) => {
        if (ArrayBuffer.isView(v)) return `${v.constructor.name}:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
        if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)));
        return v;
      });
    expect(norm(a) === norm(b)).toBe(true);
  }
  it('canonical → Nunchaku → canonical is the identity', () => {
    fc.assert(fc.property(shapes, ({ kind, N, K, R, vectors, seed }) => {
      const packed = packLayer(randomLayer(seed, kind, N, K, R, vectors));
      const nk = canonicalToNunchaku(packed);
      expect(nk.Np).toBe(pad128(N));
      expect(nk.Kp).toBe(pad128(K));
      same(nunchakuToCanonical(nk, N, K), packed);
    }), { numRuns: 25 });
  });
  it('Nunchaku → canonical equals packing the logical tensors directly (Nunchaku built by its own packer formulas)', () => {
    fc.assert(fc.property(shapes, ({ kind, N, K, R, vectors, seed }) => {
      const l = randomLayer(seed, kind, N, K, R, vectors);
      const Np = pad128(N), Kp = pad128(K);
      const one = l.dtype === 'fp16' ? 0x3c00 : 0x3f80;
      const qweight = new Uint8Array((Np * Kp) / 2);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
        const i = packerWeightNibble(n, k, Np, Kp);
        qweight[i >> 1] |= (l.qweight[n * K + k] & 0xf) << (4 * (i & 1));
      }
      let wscales: Uint16Array | Uint8Array;
      if (kind === 'int4') {
        wscales = new Uint16Array((Np * Kp) / 64);
        for (let n = 0; n < N; n++) for (let g = 0; g < K / 64; g++) wscales[packerScaleIndex(n, g, Np, Kp / 64)] = l.wscales[n * (K / 64) + g];
      } else {
        wscales = new Uint8Array((Np * Kp) / 16);
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k += 16) wscales[nunchakuWmscaleIndex(n, k, Kp)] = l.wscales[(n * K + k) / 16];
      }
      const vec = (v: Uint16Array, n: number, np: number, fill: number) => {
        const out = new Uint16Array(np);
        for (let i = 0; i < np; i++) out[packerScaleIndex(i, 0, np, 1)] = i < n ? v[i] : fill;
        return out;
      };
      const nk: NunchakuLayer = { kind, dtype: l.dtype, Np, Kp, rank: R, qweight, wscales, wtscale: l.wtensorScale };
      if (kind === 'nvfp4') nk.wcscales = new Uint16Array(Np).fill(one);
      if (vectors) {
        nk.bias = vec(l.bias!, N, Np, 0);
        nk.smooth = vec(l.smooth!, K, Kp, one);
      }
      if (R > 0) {
        nk.loraDown = new Uint16Array(Kp * R);
        nk.loraUp = new Uint16Array(Np * R);
        for (let r = 0; r < R; r++) for (let c = 0; c < K; c++) nk.loraDown[loraDownIndex(c, r, R)] = l.loraDown![r * K + c];
        for (let o = 0; o < N; o++) for (let r = 0; r < R; r++) nk.loraUp[loraUpIndex(o, r, R)] = l.loraUp![o * R + r];
      }
      same(nunchakuToCanonical(nk, N, K), packLayer(l));
      same(toNunchaku(fromNunchaku(nk, N, K)), nk); // and back, padding restored
    }), { numRuns: 25 });
  });
  it('refuses what the other side cannot hold, naming the tensor', () => {
    const l = randomLayer(1, 'nvfp4', 16, 64, 0, false);
    const nk = toNunchaku(l);
    nk.wcscales![nunchakuWScaleIndex(3, 0, 1)] = 0x4000;
    expect(fromNunchaku(nk, 16, 64).channelScales![3]).toBe(0x4000); // NVFP4 keeps per-channel scales
    const i4w = toNunchaku(randomLayer(4, 'int4', 16, 64, 0, false));
    i4w.wcscales = new Uint16Array(128).fill(i4w.dtype === 'fp16' ? 0x3c00 : 0x3f80);
    i4w.wcscales[nunchakuWScaleIndex(3, 0, 1)] = 0x4000;
    expect(() => fromNunchaku(i4w, 16, 64)).toThrow(/wcscales: channel 3 .*INT4.*must be all 1.0/);
    expect(() => fromNunchaku(toNunchaku(l), 16, 192)).toThrow(/padded shape/);
    expect(() => toNunchaku({ ...l, format: { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' } })).toThrow(/mxfp4/);
    const i4 = randomLayer(2, 'int4', 16, 128, 0, false);
    expect(() => toNunchaku({ ...i4, format: { kind: 'int4', group: 128, scaleDtype: i4.dtype } })).toThrow(/group 64/);
    const neg = toNunchaku(l);
    (neg.wscales as Uint8Array)[0] = 0x90;
    expect(() => fromNunchaku(neg, 16, 64)).toThrow(/non-negative/);
  });
});
