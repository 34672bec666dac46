import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  aqIndex, ascaleIndex, fp4ScaleIndex, loraActIndex, loraDownIndex, loraUpIndex, packActivations, packAScales,
  packFp4Scales, packLayer, packLoraAct, packLoraDown, packLoraUp, packWeights, packWScales, padRows16,
  unpackActivations, unpackAScales, unpackFp4Scales, unpackLayer, unpackLoraAct, unpackLoraDown, unpackLoraUp,
  unpackWeights, unpackWScales, wqIndex, wscaleIndex,
} from '../../codegen/layouts.js';
import type { LogicalLayer } from '../../numerics/logical.js';

const dims = (mult: number, max: number) => fc.integer({ min: 1, max: max / mult }).map((v) => v * mult);
const bytes = (n: number, seed: number, mod: number) => Uint8Array.from({ length: n }, (_, i) => ((i * 2654435761 + seed * 40503) >>> 7) % mod);

/** Reads lane `l`'s four 32-bit words of 4-bit tile `tile` and returns nibble j of word w. */
function nibbleOf(packed: Uint8Array, tile: number, l: number, w: number, j: number): number {
  const byte = packed[(tile * 32 + l) * 16 + w * 4 + (j >> 1)];
  return (byte >> ((j & 1) * 4)) & 0xf;
}

describe('4-bit code layouts follow the PTX m16n8k64 fragments (ptx-fragments.md §1)', () => {
  it('activations: lane l words w0..w3 hold A[g][8t+j], A[g+8][8t+j], A[g][32+8t+j], A[g+8][32+8t+j]', () => {
    const M = 32, K = 128;
    const codes = Uint8Array.from({ length: M * K }, (_, i) => (i * 7 + (i >> 5)) & 0xf);
    const packed = packActivations(codes, M, K);
    for (let mt = 0; mt < 2; mt++) for (let kt = 0; kt < 2; kt++) for (let l = 0; l < 32; l++) {
      const g = l >> 2, t = l & 3;
      for (let i = 0; i < 32; i++) {
        const row = i < 8 || (i >= 16 && i < 24) ? g : g + 8; // PTX formula for a_i
        const col = 8 * t + (i & 7) + (i >= 16 ? 32 : 0);
        const want = codes[(mt * 16 + row) * K + kt * 64 + col];
        expect(nibbleOf(packed, mt * (K / 64) + kt, l, i >> 3, i & 7)).toBe(want);
      }
    }
  });
  it('weights: (w0,w1) = B fragment of columns 0..7, (w2,w3) of columns 8..15', () => {
    const N = 32, K = 128;
    const codes = Uint8Array.from({ length: N * K }, (_, i) => (i * 5 + (i >> 6)) & 0xf);
    const packed = packWeights(codes, N, K);
    for (let nt = 0; nt < 2; nt++) for (let kt = 0; kt < 2; kt++) for (let l = 0; l < 32; l++) {
      const g = l >> 2, t = l & 3;
      for (let half = 0; half < 2; half++) for (let i = 0; i < 16; i++) {
        const krow = 8 * t + (i & 7) + (i >= 8 ? 32 : 0); // PTX formula for b_i
        const col = g + 8 * half;
        const want = codes[(nt * 16 + col) * K + kt * 64 + krow];
        expect(nibbleOf(packed, nt * (K / 64) + kt, l, 2 * half + (i >> 3), i & 7)).toBe(want);
      }
    }
  });
  it('index functions are bijections onto the packed buffer', () => {
    for (const [rows, K, f] of [[48, 192, aqIndex], [32, 128, wqIndex]] as const) {
      const seen = new Uint8Array(rows * K);
      for (let r = 0; r < rows; r++) for (let k = 0; k < K; k++) seen[f(r, k, K)]++;
      expect(seen.every((c) => c === 1)).toBe(true);
    }
  });
  it('tile independence: any 16-row block packs to a contiguous slice of the whole', () => {
    fc.assert(fc.property(dims(16, 64), dims(64, 256), fc.nat(), (M, K, seed) => {
      const codes = bytes(M * K, seed, 16);
      const whole = packActivations(codes, M, K);
      const bt = seed % (M / 16);
      const part = packActivations(codes.slice(bt * 16 * K, (bt + 1) * 16 * K), 16, K);
      expect(whole.slice(bt * 8 * K, (bt + 1) * 8 * K)).toEqual(part);
    }), { numRuns: 15 });
  });
  it('round trips: weights (s4 and e2m1) and activations (any M, padded to 16)', () => {
    fc.assert(fc.property(dims(16, 64), dims(64, 256), fc.integer({ min: 1, max: 40 }), fc.nat(), (N, K, M, seed) => {
      const s4 = Int8Array.from(bytes(N * K, seed, 16), (v) => v - 8);
      expect(unpackWeights(packWeights(s4, N, K), N, K, true)).toEqual(s4);
      const e2m1 = bytes(N * K, seed + 1, 16);
      expect(unpackWeights(packWeights(e2m1, N, K), N, K, false)).toEqual(e2m1);
      const a = bytes(M * K, seed + 2, 16);
      const pa = packActivations(a, M, K);
      expect(pa.length).toBe((padRows16(M) * K) / 2);
      expect(unpackActivations(pa, M, K, false)).toEqual(a);
    }), { numRuns: 20 });
  });
});

describe('scale layouts', () => {
  it('INT4 wscales: lane t of a tile reads columns 2t, 2t+1, 8+2t, 9+2t as 8 contiguous bytes', () => {
    const K = 128, G = 64;
    for (let n = 0; n < 32; n++) for (let grp = 0; grp < 2; grp++) {
      const c = n % 16, t = ((c % 8) >> 1);
      const base = ((Math.floor(n / 16) * (K / G) + grp) * 4 + t) * 4;
      expect([2 * t, 2 * t + 1, 8 + 2 * t, 9 + 2 * t].map((cc) => wscaleIndex((n - c) + cc, grp, K, G))).toEqual([base, base + 1, base + 2, base + 3]);
    }
  });
  it('INT4 ascales: lane group g reads rows g and g+8 as 4 contiguous bytes', () => {
    const K = 256, G = 128;
    for (let mt = 0; mt < 2; mt++) for (let grp = 0; grp < 2; grp++) for (let g = 0; g < 8; g++) {
      const a = ascaleIndex(mt * 16 + g, grp, K, G);
      expect(a % 2).toBe(0);
      expect(ascaleIndex(mt * 16 + g + 8, grp, K, G)).toBe(a + 1);
    }
  });
  it('FP4 scales: each row owns 64/G consecutive bytes per k64 slice, ascending K', () => {
    for (const G of [16, 32]) {
      const K = 128, S = 64 / G;
      for (let row = 0; row < 32; row++) for (let kt = 0; kt < 2; kt++) {
        const idx = Array.from({ length: S }, (_, s) => fp4ScaleIndex(row, kt * 64 + s * G, K, G));
        expect(idx[0] % S).toBe(0);
        expect(idx).toEqual(idx.map((_, s) => idx[0] + s));
        expect(fp4ScaleIndex(row, kt * 64 + G - 1, K, G)).toBe(idx[0]);
      }
    }
  });
  it('round trips for every group size', () => {
    fc.assert(fc.property(dims(16, 48), fc.integer({ min: 1, max: 40 }), fc.constantFrom(32, 64, 128), fc.constantFrom(16, 32), fc.nat(), (N, M, G, Gf, seed) => {
      const K = 256;
      const ws = Uint16Array.from(bytes((N * K) / G, seed, 65536));
      expect(unpackWScales(packWScales(ws, N, K, G), N, K, G)).toEqual(ws);
      const as = Uint16Array.from(bytes((M * K) / G, seed + 1, 65536));
      expect(unpackAScales(packAScales(as, M, K, G), M, K, G)).toEqual(as);
      const fs = bytes((M * K) / Gf, seed + 2, 256);
      expect(unpackFp4Scales(packFp4Scales(fs, M, K, Gf), M, K, Gf)).toEqual(fs);
    }), { numRuns: 20 });
  });
});

describe('low-rank layouts follow the m16n8k16 fragments (ptx-fragments.md §3)', () => {
  // B operand of a 16x16 tile as two n8 halves: lane l, half-element h → (k, n)
  function bFragment(l: number, h: number): { k: number; n: number } {
    const g = l >> 2, t = l & 3;
    const reg = h >> 1; // 0..3: (n-half 0: reg0, reg1), (n-half 1: reg0, reg1)
    return { k: 2 * t + (h & 1) + 8 * (reg & 1), n: g + 8 * (reg >> 1) };
  }
  it('lora_down: channel = k, rank = n; lora_up: rank = k, channel = n', () => {
    const R = 32, C = 32;
    for (let l = 0; l < 32; l++) for (let h = 0; h < 8; h++) {
      const { k, n } = bFragment(l, h);
      expect(loraDownIndex(16 + k, 16 + n, R)).toBe(((1 * (R / 16) + 1) * 32 + l) * 8 + h);
      expect(loraUpIndex(16 + n, 16 + k, R)).toBe(((1 * (R / 16) + 1) * 32 + l) * 8 + h);
    }
    void C;
  });
  it('lora_act: the C-fragment order f0..f7 of each lane', () => {
    const Mp = 32, R = 32;
    for (let l = 0; l < 32; l++) {
      const g = l >> 2, t = l & 3;
      const pos = [[g, 2 * t], [g, 2 * t + 1], [g + 8, 2 * t], [g + 8, 2 * t + 1], [g, 8 + 2 * t], [g, 9 + 2 * t], [g + 8, 8 + 2 * t], [g + 8, 9 + 2 * t]];
      pos.forEach(([m, r], j) => expect(loraActIndex(1, 16 + m, r, Mp, R)).toBe((((1 * 2 + 1) * 2 + 0) * 32 + l) * 8 + j));
    }
  });
  it('round trips', () => {
    fc.assert(fc.property(dims(16, 64), dims(64, 192), dims(16, 48), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (R, K, N, S, M, seed) => {
      const down = Uint16Array.from(bytes(R * K, seed, 65536));
      expect(unpackLoraDown(packLoraDown(down, R, K), R, K)).toEqual(down);
      const up = Uint16Array.from(bytes(N * R, seed + 1, 65536));
      expect(unpackLoraUp(packLoraUp(up, N, R), N, R)).toEqual(up);
      const slices = Array.from({ length: S }, (_, s) => Float32Array.from(bytes(M * R, seed + s, 1000), (v) => v / 7 - 50));
      expect(unpackLoraAct(packLoraAct(slices, M, R), S, M, R)).toEqual(slices);
    }), { numRuns: 15 });
  });
});

describe('whole layers and errors', () => {
  it('packLayer/unpackLayer round trip (INT4 with low rank, NVFP4 without)', () => {
    const N = 32, K = 128, R = 16;
    const int4: LogicalLayer = {
      N, K, format: { kind: 'int4', group: 64, scaleDtype: 'bf16' }, dtype: 'bf16',
      qweight: Int8Array.from(bytes(N * K, 1, 16), (v) => v - 8), wscales: Uint16Array.from(bytes(N * 2, 2, 65536)),
      wtensorScale: 1, rank: R, loraDown: Uint16Array.from(bytes(R * K, 3, 65536)), loraUp: Uint16Array.from(bytes(N * R, 4, 65536)),
      loraScales: Float32Array.of(0.5), smooth: Uint16Array.from(bytes(K, 5, 65536)), bias: Uint16Array.from(bytes(N, 6, 65536)),
    };
    expect(unpackLayer(packLayer(int4))).toEqual(int4);
    const nv: LogicalLayer = {
      N, K, format: { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' }, dtype: 'fp16',
      qweight: bytes(N * K, 7, 16), wscales: bytes((N * K) / 16, 8, 127), wtensorScale: 0.003, rank: 0,
    };
    expect(unpackLayer(packLayer(nv))).toEqual(nv);
  });
  it('names the tensor, the dimension, the value and what is allowed', () => {
    expect(() => packWeights(new Int8Array(24 * 64), 24, 64)).toThrow('qweight: N = 24 must be a positive multiple of 16');
    expect(() => packActivations(new Uint8Array(16 * 96), 16, 96)).toThrow("activations: K = 96 must be a positive multiple of 64 (the 4-bit MMA's K)");
    expect(() => packWScales(new Uint16Array(16 * 3), 16, 192, 128)).toThrow('wscales: K = 192 must be a positive multiple of 128');
    expect(() => packLoraDown(new Uint16Array(8 * 64), 8, 64)).toThrow('lora_down: rank = 8 must be a positive multiple of 16');
    expect(() => packWeights(new Int8Array(10), 16, 64)).toThrow('qweight: 10 elements, expected 1024');
  });
});

describe('docs/layouts.md worked example', () => {
  it('gives the indices the page states', () => {
    expect(wqIndex(21, 77, 128)).toBe(3749);
    expect(wscaleIndex(21, 1, 128, 64)).toBe(57);
    expect(aqIndex(9, 40, 64)).toBe(184);
  });
});
