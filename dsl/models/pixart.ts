// PixArt-Σ XL/2: 28 blocks, hidden 1152, MLP 4608, T5 text ≤ 300 (models-gpus-users.md §1.6). No
// Nunchaku runtime: which layers SVDQuant quantized is UNCERTAIN; every per-block linear is listed W4A4.
import type { ModelCatalog } from '../types.js';
import { GELU_QNEXT, fp16, tokenCounter, w4a4 } from './common.js';

const UNCERTAIN = { note: 'UNCERTAIN whether the paper quantized it (M = text tokens)' };

export const PIXART_SIGMA: ModelCatalog = {
  id: 'pixart-sigma',
  name: 'PixArt-Σ XL/2',
  defaultResolution: 1024,
  defaultRank: 32,
  defaultBatch: 2,
  defaultTextTokens: 300,
  pixelsPerToken: 16,
  layers: [
    w4a4('attn1.to_q', 1152, 1152, 28, 'image'),
    w4a4('attn1.to_k', 1152, 1152, 28, 'image'),
    w4a4('attn1.to_v', 1152, 1152, 28, 'image'),
    w4a4('attn1.to_out', 1152, 1152, 28, 'image'),
    w4a4('attn2.to_q', 1152, 1152, 28, 'image'),
    w4a4('attn2.to_k', 1152, 1152, 28, 'text', undefined, UNCERTAIN),
    w4a4('attn2.to_v', 1152, 1152, 28, 'text', undefined, UNCERTAIN),
    w4a4('attn2.to_out', 1152, 1152, 28, 'image'),
    w4a4('ff.fc1', 1152, 4608, 28, 'image', GELU_QNEXT),
    w4a4('ff.fc2', 4608, 1152, 28, 'image', undefined, { inputFrom: 'ff.fc1' }),
    fp16('caption_projection', 4096, 1152, 1, 'text'),
    fp16('adaln_single.linear', 1152, 6912, 1, 'pooled'),
  ],
  tokens: tokenCounter('pixart-sigma', { pixelsPerToken: 16, defaultTextTokens: 300, maxTextTokens: 300 }),
  sources: [
    'architecture (28 blocks, 1152 hidden, 16 heads × 72, MLP 4608, T5 ≤ 300 tokens projected 4096→1152, adaLN-single 1152→6912): models-gpus-users.md §1.6 (public config; UNCERTAIN which layers the paper quantized)',
    'tokens: (H/16)², text ≤ 300, batch 2 with CFG: models-gpus-users.md §1.9',
    'rank 32: the paper / DeepCompressor default (models-gpus-users.md §2); no Nunchaku checkpoint exists',
    'fc1 → GELU → quantize-for-fc2: assumed (PixArt’s MLP is GELU-tanh, like FLUX’s); bias assumed on every W4A4 layer',
  ],
};
