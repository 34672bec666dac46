// SD3.5 Large and Medium MMDiT: hidden = 64 × depth, MLP 4×; image and text streams; the last block's
// text stream is context_pre_only (qkv only, adaLN D→2D); Medium adds attn2 in blocks 0–12
// (models-gpus-users.md §1.7). Not supported by Nunchaku at the reference checkout.
import type { LayerShape, ModelCatalog } from '../types.js';
import { GELU_QNEXT, fp16, tokenCounter, w4a4 } from './common.js';

function sd35Layers(depth: number, dualAttnBlocks: number): LayerShape[] {
  const d = 64 * depth;
  const layers: LayerShape[] = [
    w4a4('img.qkv', d, 3 * d, depth, 'image'),
    w4a4('img.out', d, d, depth, 'image'),
    w4a4('img.mlp_fc1', d, 4 * d, depth, 'image', GELU_QNEXT),
    w4a4('img.mlp_fc2', 4 * d, d, depth, 'image', undefined, { inputFrom: 'img.mlp_fc1' }),
    w4a4('txt.qkv', d, 3 * d, depth, 'text'),
    w4a4('txt.out', d, d, depth - 1, 'text'),
    w4a4('txt.mlp_fc1', d, 4 * d, depth - 1, 'text', GELU_QNEXT),
    w4a4('txt.mlp_fc2', 4 * d, d, depth - 1, 'text', undefined, { inputFrom: 'txt.mlp_fc1' }),
  ];
  if (dualAttnBlocks > 0) {
    layers.push(w4a4('img.attn2.qkv', d, 3 * d, dualAttnBlocks, 'image'), w4a4('img.attn2.out', d, d, dualAttnBlocks, 'image'));
    layers.push(fp16('img.adaLN (9×, SD35AdaLayerNormZeroX)', d, 9 * d, dualAttnBlocks, 'pooled'));
  }
  layers.push(
    fp16('img.adaLN (6×)', d, 6 * d, depth - dualAttnBlocks, 'pooled'),
    fp16('txt.adaLN (6×)', d, 6 * d, depth - 1, 'pooled'),
    fp16('txt.adaLN (2×, context_pre_only)', d, 2 * d, 1, 'pooled'),
  );
  return layers;
}

const SOURCES = [
  'architecture (hidden = 64 × depth, MLP 4×, per-stream qkv/out/fc1/fc2, adaLN D→6D, last text block context_pre_only with adaLN D→2D; Medium attn2 in blocks 0–12 with 9× adaLN): models-gpus-users.md §1.7',
  'adaLN layers (M = batch) listed as 16-bit: SD3.5 has no Nunchaku engine; other 16-bit parts (embedders, final layer) are not in the reference and are not catalogued',
  'tokens: (H/16)², 333 text tokens (77 CLIP + 256 T5), batch 2 with CFG: models-gpus-users.md §1.7, §1.9',
  'rank 32: the paper / DeepCompressor default (models-gpus-users.md §2); no Nunchaku checkpoint exists',
  'fc1 → GELU → quantize-for-fc2: assumed (the SD3 MLP is GELU-tanh); bias assumed on every W4A4 layer',
];

export const SD35_LARGE: ModelCatalog = {
  id: 'sd3.5-large',
  name: 'Stable Diffusion 3.5 Large',
  defaultResolution: 1024,
  defaultRank: 32,
  defaultBatch: 2,
  defaultTextTokens: 333,
  pixelsPerToken: 16,
  layers: sd35Layers(38, 0),
  tokens: tokenCounter('sd3.5-large', { pixelsPerToken: 16, defaultTextTokens: 333 }),
  sources: [...SOURCES, 'Large: 38 blocks × 2432, MLP 9728: models-gpus-users.md §1.7'],
};

export const SD35_MEDIUM: ModelCatalog = {
  id: 'sd3.5-medium',
  name: 'Stable Diffusion 3.5 Medium',
  defaultResolution: 1024,
  defaultRank: 32,
  defaultBatch: 2,
  defaultTextTokens: 333,
  pixelsPerToken: 16,
  layers: sd35Layers(24, 13),
  tokens: tokenCounter('sd3.5-medium', { pixelsPerToken: 16, defaultTextTokens: 333 }),
  sources: [...SOURCES, 'Medium: 24 blocks × 1536, MLP 6144, attn2 in blocks 0–12: models-gpus-users.md §1.7'],
};
