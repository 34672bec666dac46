// SDXL UNet: only BasicTransformerBlock internals are quantized; 10 blocks at C = 640 ((H/16)² tokens)
// and 60 at C = 1280 ((H/32)² tokens) (models-gpus-users.md §1.5, §1.9). 420 W4A4, 140 16-bit K/V.
import type { LayerShape, ModelCatalog } from '../types.js';
import { fp16, tokenCounter, w4a4 } from './common.js';

function level(c: number, blocks: number, transformers: number, divisor: number): LayerShape[] {
  const d = divisor === 1 ? {} : { tokenDivisor: divisor };
  const p = `c${c}`;
  return [
    w4a4(`${p}.attn1.to_qkv`, c, 3 * c, blocks, 'image', undefined, d),
    w4a4(`${p}.attn1.to_out`, c, c, blocks, 'image', undefined, d),
    w4a4(`${p}.attn2.to_q`, c, c, blocks, 'image', undefined, d),
    w4a4(`${p}.attn2.to_out`, c, c, blocks, 'image', undefined, d),
    w4a4(`${p}.ff.geglu_proj`, c, 8 * c, blocks, 'image', undefined, { ...d, note: 'GEGLU: the gated product runs outside this chain' }),
    w4a4(`${p}.ff.out`, 4 * c, c, blocks, 'image', undefined, d),
    fp16(`${p}.attn2.to_k`, 2048, c, blocks, 'text'),
    fp16(`${p}.attn2.to_v`, 2048, c, blocks, 'text'),
    fp16(`${p}.proj_in`, c, c, transformers, 'image', d),
    fp16(`${p}.proj_out`, c, c, transformers, 'image', d),
  ];
}

export const SDXL: ModelCatalog = {
  id: 'sdxl',
  name: 'Stable Diffusion XL (UNet)',
  defaultResolution: 1024,
  defaultRank: 32,
  shippedRanks: [32],
  defaultBatch: 2,
  defaultTextTokens: 77,
  pixelsPerToken: 16,
  layers: [...level(640, 10, 5, 1), ...level(1280, 60, 6, 4)],
  tokens: tokenCounter('sdxl', { pixelsPerToken: 16, resolutionMultiple: 32, defaultTextTokens: 77, maxTextTokens: 77 }),
  sources: [
    'layers and kinds (to_k/to_v 16-bit from text, proj_in/proj_out 16-bit, 22 of them), 10 blocks at C=640 and 60 at C=1280: models-gpus-users.md §1.5 [Nunchaku nunchaku/models/unets/unet_sdxl.py]',
    'proj_in/proj_out split: derived, one pair per Transformer2D model: 5 at C=640 (down 2 + up 3) and 6 at C=1280 (down 2 + mid 1 + up 3) = 22',
    'tokens: (H/16)² at C=640 and (H/32)² at C=1280 (tokenDivisor 4), 77 text tokens: models-gpus-users.md §1.9',
    'batch 2 with CFG (Turbo: 1); INT4 r32 only (svdq-int4_r32-sdxl): models-gpus-users.md §1.5, §1.9',
    'convs, resnets, time embedding and samplers stay 16-bit and are not linear layers of this catalog; bias assumed on every W4A4 layer',
  ],
};
