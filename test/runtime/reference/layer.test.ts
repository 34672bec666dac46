import { describe, expect, it } from 'vitest';
import { fromBits16, rn16, toBits16 } from '../../../numerics/float16.js';
import { kernelPrecisionLayer, referenceLayer, type LayerInputs } from '../../../runtime/reference/layer.js';
import type { LogicalLayer } from '../../../numerics/logical.js';
import { quantizeActivations } from '../../../runtime/reference/quantize.js';
import { createRng, randomBits16, syntheticLayer } from '../../../runtime/reference/random.js';
import { svdquantLayer } from '../../../runtime/reference/svdquant.js';
import { decodeAll, FORMATS, relFrobenius, S4, spec, U4 } from './helpers.js';

describe('kernelPrecisionLayer: known answers', () => {
  it('INT4: exact group dot, fp32 fma with the product of the stored scales, RN16 store', () => {
    const N = 16, K = 128;
    const layer: LogicalLayer = {
      N, K, format: FORMATS.int4fp16, dtype: 'fp16', rank: 0, wtensorScale: 1,
      qweight: new Int8Array(N * K).fill(1), wscales: new Uint16Array(N * 2).fill(0x3c00), // 1.0
    };
    const x = new Uint16Array(K).fill(0x3c00); // all ones
    const r = kernelPrecisionLayer({ layer, M: 1, x }, spec(layer.format, 'fp16', 0, []));
    const s = fromBits16(toBits16(Math.fround(1 / 7), 'fp16'), 'fp16'); // stored ascale
    expect(Array.from(r.act.codes.slice(0, 4))).toEqual([7, 7, 7, 7]);
    const group = Math.fround(448 * s); // p = 64·7·1
    expect(r.gemm[0]).toBe(Math.fround(group + group));
    expect(r.y[0]).toBe(toBits16(Math.fround(group + group), 'fp16'));
  });
  it('epilogue chain: bias, then low rank with RN16(lora_act × scale), then silu', () => {
    const N = 16, K = 64, R = 16;
    const layer: LogicalLayer = {
      N, K, format: FORMATS.int4bf16, dtype: 'bf16', rank: R, wtensorScale: 1,
      qweight: new Int8Array(N * K), wscales: new Uint16Array(N), // zero main branch
      bias: new Uint16Array(N).fill(toBits16(0.5, 'bf16')),
      loraDown: new Uint16Array(R * K).fill(toBits16(1 / 64, 'bf16')),
      loraUp: new Uint16Array(N * R).fill(toBits16(0.25, 'bf16')),
      loraScales: Float32Array.of(3),
    };
    const x = new Uint16Array(K).fill(toBits16(1.01, 'bf16'));
    const r = kernelPrecisionLayer({ layer, M: 1, x }, spec(layer.format, 'bf16', R, [{ op: 'bias' }, { op: 'lowrank' }, { op: 'silu' }]));
    const xa = fromBits16(x[0], 'bf16'); // 1.0078125
    expect(r.loraAct[0]).toBe(Math.fround(xa)); // Σ 64 · x/64 exactly
    const a = rn16(Math.fround(xa * 3), 'bf16');
    const pre = 0.5 + 16 * a * 0.25;
    expect(r.y[0]).toBe(toBits16(Math.fround(pre / (1 + Math.exp(-pre))), 'bf16'));
  });
  it('rejects a spec that does not match the layer', () => {
    const layer: LogicalLayer = { N: 16, K: 64, format: FORMATS.int4fp16, dtype: 'fp16', rank: 0, wtensorScale: 1, qweight: new Int8Array(1024), wscales: new Uint16Array(16) };
    const x = new Uint16Array(64);
    expect(() => kernelPrecisionLayer({ layer, M: 1, x }, spec(FORMATS.nvfp4, 'fp16', 0, []))).toThrow(/spec.format/);
    expect(() => kernelPrecisionLayer({ layer, M: 1, x }, spec(layer.format, 'bf16', 0, []))).toThrow(/spec.dtype/);
    expect(() => kernelPrecisionLayer({ layer, M: 1, x }, spec(layer.format, 'fp16', 0, [{ op: 'bias' }]))).toThrow(/bias/);
  });
});

describe('kernel precision vs float64 reference', () => {
  const M = 32, N = 64, K = 256, R = 16;
  const syn = syntheticLayer({ M, N, K, seed: 7, outlierScale: 10 });
  const cases = [
    ['int4fp16', 'fp16', S4, 8e-4],
    ['int4bf16', 'bf16', S4, 6e-3],
    ['int4g128', 'fp16', S4, 8e-4],
    ['int4g32', 'bf16', U4, 6e-3],
    ['nvfp4', 'fp16', S4, 8e-4],
    ['mxfp4', 'bf16', S4, 6e-3],
  ] as const;
  for (const [fmt, dtype, activation, tol] of cases) {
    it(`${fmt} ${dtype} ${activation.unsigned ? 'u4' : ''}: agree within the 16-bit rounding error; codes are the quantizer's`, () => {
      const format = FORMATS[fmt];
      const layer = svdquantLayer({ x: syn.x, M }, syn.weight, N, K, syn.bias, { format, dtype, rank: R, alpha: 0.5, activation });
      const x = Uint16Array.from(syn.x, (v) => toBits16(v, dtype));
      const sp = spec(format, dtype, R, [{ op: 'bias' }, { op: 'lowrank' }, { op: 'gelu' }], activation);
      const inp: LayerInputs = { layer, M, x };
      const k = kernelPrecisionLayer(inp, sp);
      const ref = referenceLayer(inp, sp);
      const err = relFrobenius(decodeAll(k.y, dtype), ref);
      expect(err).toBeLessThan(tol);
      expect(err).toBeGreaterThan(0);
      const direct = quantizeActivations(decodeAll(x, dtype), M, K, format, activation, decodeAll(layer.smooth!, dtype));
      expect(k.act.codes).toEqual(direct.codes);
      expect(k.act.scales).toEqual(direct.scales);
    });
  }
  it('f16 cross-group accumulation is less accurate than f32 (bf16 scales, K = 1024)', () => {
    const K2 = 1024;
    const s2 = syntheticLayer({ M: 16, N: 32, K: K2, seed: 3, outlierScale: 5 });
    const format = FORMATS.int4bf16;
    const layer = svdquantLayer({ x: s2.x, M: 16 }, s2.weight, 32, K2, undefined, { format, dtype: 'bf16', rank: 0 });
    const inp: LayerInputs = { layer, M: 16, x: Uint16Array.from(s2.x, (v) => toBits16(v, 'bf16')) };
    const sp = spec(format, 'bf16', 0, []);
    const ref = referenceLayer(inp, sp);
    const e32 = relFrobenius(kernelPrecisionLayer(inp, sp).gemm, ref);
    const e16 = relFrobenius(kernelPrecisionLayer(inp, sp, { accum: 'f16' }).gemm, ref);
    expect(e32).toBeLessThan(1e-5);
    expect(e16).toBeGreaterThan(10 * e32);
    expect(() => kernelPrecisionLayer({ ...inp, layer: { ...layer, format: FORMATS.nvfp4 } }, spec(FORMATS.nvfp4, 'bf16', 0, []), { accum: 'f16' })).toThrow(/accum/);
  });
  it('qnext quantizes the stored output with the next smoothing; its low-rank down slices sum to the whole', () => {
    const dtype = 'fp16';
    const format = FORMATS.int4fp16;
    const layer = svdquantLayer({ x: syn.x, M }, syn.weight, N, K, syn.bias, { format, dtype, rank: R });
    const rng = createRng(11);
    const next = { smooth: Uint16Array.from({ length: N }, () => toBits16(0.5 + rng.next(), dtype)), loraDown: randomBits16(rng, 16 * N, dtype, 0.1), blockN: 16 };
    const sp = spec(format, dtype, R, [{ op: 'bias' }, { op: 'lowrank' }, { op: 'gelu' }, { op: 'qnext', format, activation: U4, lowRankDown: { rank: 16 }, keepOutput: true }]);
    const k = kernelPrecisionLayer({ layer, M, x: Uint16Array.from(syn.x, (v) => toBits16(v, dtype)), next }, sp);
    const direct = quantizeActivations(decodeAll(k.y, dtype), M, N, format, U4, decodeAll(next.smooth, dtype));
    expect(k.qnext!.codes).toEqual(direct.codes);
    expect(k.qnext!.scales).toEqual(direct.scales);
    expect(k.nextLoraAct).toHaveLength(4);
    const one = kernelPrecisionLayer({ layer, M, x: Uint16Array.from(syn.x, (v) => toBits16(v, dtype)), next: { ...next, blockN: N } }, sp).nextLoraAct![0];
    const summed = k.nextLoraAct!.reduce((acc, s) => acc.map((v, i) => v + s[i]));
    expect(relFrobenius(summed, one)).toBeLessThan(1e-6);
    // the next layer reads the slices: summed in order in fp32
    const nextLayer = svdquantLayer({ x: decodeAll(k.y, dtype), M }, syn.weight.subarray(0, N * N), N, N, undefined, { format, dtype, rank: 16 });
    const nx = { layer: { ...nextLayer, loraDown: next.loraDown }, M, x: k.y };
    const fromSlices = kernelPrecisionLayer({ ...nx, loraActSlices: k.nextLoraAct }, spec(format, dtype, 16, [{ op: 'lowrank' }]));
    const s4 = k.nextLoraAct!;
    expect(fromSlices.loraAct[5]).toBe(Math.fround(Math.fround(Math.fround(s4[0][5] + s4[1][5]) + s4[2][5]) + s4[3][5]));
    const computed = kernelPrecisionLayer(nx, spec(format, dtype, 16, [{ op: 'lowrank' }]));
    expect(relFrobenius(fromSlices.loraAct, computed.loraAct)).toBeLessThan(1e-5);
  });
});
