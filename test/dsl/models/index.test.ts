import { describe, expect, it } from 'vitest';
import { UserError } from '../../../dsl/errors.js';
import { GELU_SHIFT, nvfp4 } from '../../../dsl/formats.js';
import { CATALOGS, layerM, linearFlops, paddedK, resolveModel, shapesFor, specsFor, uniqueShapes } from '../../../dsl/models/index.js';
import { validateSpec } from '../../../dsl/spec.js';
import type { LayerKind, ModelCatalog } from '../../../dsl/types.js';

const countOf = (c: ModelCatalog, kind: LayerKind) => c.layers.filter((l) => l.kind === kind).reduce((s, l) => s + l.countPerForward, 0);
const pairs = (c: ModelCatalog) => [...new Set(c.layers.filter((l) => l.kind === 'w4a4').map((l) => `${l.k}→${l.n}`))].sort();

describe('catalog list', () => {
  it('has the nine models of the issue', () => {
    expect(CATALOGS.map((c) => c.id)).toEqual(['flux.1-dev', 'flux.1-schnell', 'qwen-image', 'z-image-turbo', 'sana-1.6b', 'sdxl', 'pixart-sigma', 'sd3.5-large', 'sd3.5-medium']);
  });
  it.each(CATALOGS.map((c) => [c.id, c] as [string, ModelCatalog]))('%s is well-formed', (_id, c) => {
    expect(c.sources.length).toBeGreaterThan(2);
    expect(c.sources.every((s) => /models-gpus-users\.md|assumed|derived/.test(s) || s.length > 20)).toBe(true);
    const names = c.layers.map((l) => l.name);
    expect(new Set(names).size).toBe(names.length);
    for (const l of c.layers) {
      expect(Number.isInteger(l.k) && l.k > 0 && Number.isInteger(l.n) && l.n > 0, l.name).toBe(true);
      expect(l.countPerForward).toBeGreaterThan(0);
      expect(l.stays16bit).toBe(l.kind !== 'w4a4');
      if (l.kind === 'w4a4') {
        expect(l.n % 16, `${l.name}: N multiple of 16`).toBe(0);
        expect(paddedK(l.k) % 64).toBe(0);
        expect(l.epilogue).toContain('lowrank');
      }
      if (l.inputFrom) expect(c.layers.find((x) => x.name === l.inputFrom)?.epilogue).toContain('qnext');
    }
    expect(c.defaultRank % 16).toBe(0);
    // Every layer's M is a whole number at the default resolution.
    for (const l of c.layers) expect(Number.isInteger(layerM(c, l))).toBe(true);
    // Every W4A4 layer gets a valid spec.
    for (const { spec } of specsFor(c)) expect(validateSpec(spec)).toEqual(spec);
  });
});

describe('counts per forward (models-gpus-users.md §1)', () => {
  it('FLUX: 304 W4A4 GEMMs and 76 W4A16 GEMVs over four (K, N) pairs', () => {
    for (const id of ['flux.1-dev', 'flux.1-schnell']) {
      const c = resolveModel(id);
      expect(countOf(c, 'w4a4')).toBe(304);
      expect(countOf(c, 'w4a16')).toBe(76);
      expect(pairs(c)).toEqual(['12288→3072', '3072→12288', '3072→3072', '3072→9216']);
    }
    expect(resolveModel('flux.1-dev').layers.some((l) => l.name.includes('guidance'))).toBe(true);
    expect(resolveModel('flux.1-schnell').layers.some((l) => l.name.includes('guidance'))).toBe(false);
  });
  it('Qwen-Image: 480 W4A4 + 120 W4A16, the same four pairs as FLUX', () => {
    const c = resolveModel('qwen-image');
    expect(countOf(c, 'w4a4')).toBe(480);
    expect(countOf(c, 'w4a16')).toBe(120);
    expect(pairs(c)).toEqual(pairs(resolveModel('flux.1-dev')));
  });
  it('Z-Image-Turbo: four pairs, 30 main + 4 refiner layers, adaLN 16-bit ×32', () => {
    const c = resolveModel('z-image-turbo');
    expect(pairs(c)).toEqual(['10240→3840', '3840→11520', '3840→20480', '3840→3840']);
    expect(countOf(c, 'w4a4')).toBe(4 * 34);
    expect(c.layers.find((l) => l.name === 'adaLN_modulation')).toMatchObject({ k: 256, n: 15360, countPerForward: 32, kind: 'fp16' });
  });
  it('Sana: 120 W4A4 (+1 PAG), kv_linear 16-bit ×20, five pairs plus PAG', () => {
    const c = resolveModel('sana-1.6b');
    expect(countOf(c, 'w4a4')).toBe(121);
    expect(c.layers.find((l) => l.name === 'pag_to_v')?.note).toMatch(/PAG/);
    expect(countOf(c, 'fp16')).toBe(20);
    expect(pairs(c)).toEqual(['2240→11200', '2240→2240', '2240→2304', '2240→6912', '2304→2240', '5600→2240']);
    expect(c.layers.find((l) => l.name === 'ff.inverted_conv')?.epilogue).toContain('silu');
  });
  it('SDXL: 420 W4A4 (70 blocks × 6), 140 16-bit K/V, 22 proj_in/out', () => {
    const c = resolveModel('sdxl');
    expect(countOf(c, 'w4a4')).toBe(420);
    const fp = c.layers.filter((l) => l.kind === 'fp16');
    expect(fp.filter((l) => /to_[kv]$/.test(l.name)).reduce((s, l) => s + l.countPerForward, 0)).toBe(140);
    expect(fp.filter((l) => /proj_(in|out)$/.test(l.name)).reduce((s, l) => s + l.countPerForward, 0)).toBe(22);
    expect(pairs(c)).toEqual(['1280→10240', '1280→1280', '1280→3840', '2560→640', '5120→1280', '640→1920', '640→5120', '640→640']);
  });
  it('SD3.5: context_pre_only last text block; Medium has 13 attn2 blocks', () => {
    const l = resolveModel('sd3.5-large');
    expect(l.layers.find((x) => x.name === 'img.qkv')).toMatchObject({ k: 2432, n: 7296, countPerForward: 38 });
    expect(l.layers.find((x) => x.name === 'txt.mlp_fc1')).toMatchObject({ k: 2432, n: 9728, countPerForward: 37 });
    const m = resolveModel('sd3.5-medium');
    expect(m.layers.find((x) => x.name === 'img.attn2.qkv')).toMatchObject({ k: 1536, n: 4608, countPerForward: 13 });
    expect(countOf(m, 'w4a4')).toBe(24 * 4 + 24 + 23 * 3 + 13 * 2);
  });
});

describe('token counts (models-gpus-users.md §1.9)', () => {
  it('FLUX.1-dev: 4096 image + 512 text at 1024 px; single blocks 4608', () => {
    const c = resolveModel('flux.1-dev');
    expect(c.tokens(1024, 1)).toEqual({ image: 4096, text: 512, joint: 4608, pooled: 1 });
    expect(c.tokens(512, 1).joint).toBe(1536);
    expect(c.tokens(2048, 1).joint).toBe(16896);
    expect(c.tokens(1024, 2)).toEqual({ image: 8192, text: 1024, joint: 9216, pooled: 2 });
  });
  it('FLUX.1-schnell: +256 text tokens', () => {
    expect(resolveModel('flux.1-schnell').tokens(512, 1)).toEqual({ image: 1024, text: 256, joint: 1280, pooled: 1 });
  });
  it('Qwen-Image: 1328² → 6889 image tokens; text capped at 1024', () => {
    const c = resolveModel('qwen-image');
    expect(c.tokens(1328, 1).image).toBe(6889);
    expect(c.tokens(2048, 1).image).toBe(16384);
    expect(() => c.tokens(1024, 1, 2000)).toThrow(/exceeds qwen-image's maximum of 1024/);
  });
  it('Z-Image: caption padded to a multiple of 32, joint = image + caption', () => {
    const c = resolveModel('z-image-turbo');
    expect(c.tokens(1024, 1, 100)).toEqual({ image: 4096, text: 128, joint: 4224, pooled: 1 });
  });
  it('Sana: (H/32)² — 256 / 1024 / 4096 at 512 / 1024 / 2048 px; ≤ 300 text', () => {
    const c = resolveModel('sana-1.6b');
    expect([512, 1024, 2048].map((r) => c.tokens(r, 1).image)).toEqual([256, 1024, 4096]);
    expect(c.tokens(4096, 1).image).toBe(16384);
    expect(() => c.tokens(1024, 1, 301)).toThrow(UserError);
  });
  it('SDXL: (H/16)² at C=640 and (H/32)² at C=1280; 77 text tokens', () => {
    const c = resolveModel('sdxl');
    const rows = shapesFor(c, { resolution: 1024, batch: 1 });
    expect(rows.find((r) => r.layer === 'c640.attn1.to_qkv')?.m).toBe(4096);
    expect(rows.find((r) => r.layer === 'c1280.attn1.to_qkv')?.m).toBe(1024);
    expect(c.tokens(1024, 2).text).toBe(154);
    expect(() => c.tokens(1040, 1)).toThrow(/1040 is not a multiple of 32/);
  });
  it('SD3.5 and PixArt: 333 and 300 text tokens, batch 2 by default', () => {
    expect(resolveModel('sd3.5-large').tokens(1024, 2).text).toBe(666);
    expect(resolveModel('pixart-sigma').tokens(1024, 1).text).toBe(300);
    expect(resolveModel('sd3.5-medium').defaultBatch).toBe(2);
    expect(resolveModel('sd3.5-medium').tokens(768, 2)).toMatchObject({ image: 4608, text: 666 }); // trace: [2, 2304], [2, 333]
  });
  it('rejects bad resolutions and batches', () => {
    const c = resolveModel('flux.1-dev');
    expect(() => c.tokens(1000, 1)).toThrow(/resolution: 1000 is not a multiple of 16 pixels/);
    expect(() => c.tokens(0, 1)).toThrow(UserError);
    expect(() => c.tokens(1024, 0)).toThrow(/batch: 0 must be a positive integer/);
  });
});

describe('GEMM work per forward at 1024², B = 1 (the reference’s derived FLOP table)', () => {
  it.each([
    ['flux.1-dev', 59.5],
    ['qwen-image', 58.4],
    ['z-image-turbo', 49.3],
    ['sd3.5-large', 23.9],
    ['pixart-sigma', 4.3],
    ['sdxl', 4.2],
    ['sana-1.6b', 2.8],
  ] as Array<[string, number]>)('%s ≈ %f TFLOP', (id, tflop) => {
    const c = resolveModel(id);
    // Sana's total in the reference excludes the PAG-only layer.
    const rows = shapesFor(c, { resolution: 1024, batch: 1 }).filter((r) => r.layer !== 'pag_to_v');
    expect(Math.round(linearFlops(rows) / 1e11) / 10).toBe(tflop);
  });
});

describe('shapesFor, uniqueShapes, specsFor', () => {
  it('shapes carry M per stream, rank and padded K', () => {
    const rows = shapesFor(resolveModel('flux.1-dev'), { rank: 64 });
    expect(rows).toHaveLength(12);
    expect(rows[0]).toEqual({ layer: 'double.img.qkv', m: 4096, n: 9216, k: 3072, kPadded: 3072, count: 19, rank: 64, tokens: 'image', epilogue: ['bias', 'lowrank'], kind: 'w4a4' });
    expect(rows.find((r) => r.layer === 'double.txt.qkv')?.m).toBe(512);
    expect(rows.find((r) => r.layer === 'single.qkv')?.m).toBe(4608);
    const sana = shapesFor(resolveModel('sana-1.6b'));
    expect(sana.find((r) => r.layer === 'ff.point_conv')?.kPadded).toBe(5632);
    expect(shapesFor(resolveModel('sana-1.6b'), { group: 128 }).find((r) => r.layer === 'attn.qkv_proj')?.kPadded).toBe(2304);
    expect(shapesFor(resolveModel('flux.1-dev'), { includeOthers: true }).length).toBe(resolveModel('flux.1-dev').layers.length);
  });
  it('merges identical problems', () => {
    const u = uniqueShapes(shapesFor(resolveModel('flux.1-dev')));
    expect(u).toHaveLength(12);
    const q = uniqueShapes(shapesFor(resolveModel('qwen-image'), { resolution: 512, textTokens: 1024 })); // image = text = 1024 rows
    expect(q).toHaveLength(4);
    expect(q.every((s) => s.count === 120)).toBe(true);
  });
  it('fc1 quantizes for fc2: u4 + GELU_SHIFT for int4, signed e2m1 for nvfp4', () => {
    const int4 = Object.fromEntries(specsFor(resolveModel('flux.1-dev'), { rank: 48 }).map((s) => [s.layer, s.spec]));
    const fc1 = int4['double.img.mlp_fc1'];
    expect(fc1.epilogue.map((e) => e.op)).toEqual(['bias', 'lowrank', 'gelu', 'qnext']);
    expect(fc1.epilogue[3]).toMatchObject({ activation: { unsigned: true, shift: GELU_SHIFT }, lowRankDown: { rank: 48 } });
    expect(int4['double.img.mlp_fc2'].activation).toEqual({ unsigned: true, shift: GELU_SHIFT });
    expect(int4['double.img.qkv'].activation).toEqual({ unsigned: false, shift: 0 });
    const fp4 = Object.fromEntries(specsFor(resolveModel('flux.1-dev'), { format: nvfp4() }).map((s) => [s.layer, s.spec]));
    expect(fp4['single.mlp_fc2'].activation).toEqual({ unsigned: false, shift: 0 });
    expect(fp4['single.mlp_fc2'].format).toEqual(nvfp4());
  });
  it('resolveModel accepts aliases and lists allowed ids', () => {
    expect(resolveModel('FLUX.1-dev').id).toBe('flux.1-dev');
    expect(resolveModel('flux-schnell').id).toBe('flux.1-schnell');
    expect(resolveModel('SD3.5-Large').id).toBe('sd3.5-large');
    expect(() => resolveModel('wan2.1')).toThrow(/--model: "wan2.1" is not a known model; allowed: flux.1-dev, flux.1-schnell, qwen-image/);
  });
});
