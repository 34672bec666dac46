// Z-Image-Turbo: dim 3840, 30 main single-stream layers over [image ‖ caption], plus 2 noise refiners
// (image tokens) and 2 context refiners (caption tokens); SwiGLU FFN 10240 (models-gpus-users.md §1.3).
import type { LayerShape, ModelCatalog } from '../types.js';
import { fp16, tokenCounter, w4a4 } from './common.js';

const block = (p: string, count: number, s: 'joint' | 'image' | 'text'): LayerShape[] => [
  w4a4(`${p}.attention.to_qkv`, 3840, 11520, count, s),
  w4a4(`${p}.attention.to_out`, 3840, 3840, count, s),
  w4a4(`${p}.feed_forward.w1w3`, 3840, 20480, count, s, undefined, { note: 'fused SwiGLU projection; silu(w1)·w3 runs outside this chain' }),
  w4a4(`${p}.feed_forward.w2`, 10240, 3840, count, s),
];
const REFINER_NOTE = { note: 'quantized only when the checkpoint does not set skip_refiners' };

export const Z_IMAGE_TURBO: ModelCatalog = {
  id: 'z-image-turbo',
  name: 'Z-Image-Turbo',
  defaultResolution: 1024,
  defaultRank: 128,
  shippedRanks: [32, 128, 256],
  defaultBatch: 1,
  defaultTextTokens: 256,
  pixelsPerToken: 16,
  layers: [
    ...block('layers', 30, 'joint'),
    ...block('noise_refiner', 2, 'image').map((l) => ({ ...l, ...REFINER_NOTE })),
    ...block('context_refiner', 2, 'text').map((l) => ({ ...l, ...REFINER_NOTE })),
    fp16('adaLN_modulation', 256, 15360, 32, 'pooled', { note: '30 main layers + 2 noise refiners (context refiners have no modulation)' }),
    fp16('x_embedder', 64, 3840, 1, 'image'),
    fp16('cap_embedder', 2560, 3840, 1, 'text'),
  ],
  tokens: tokenCounter('z-image-turbo', { pixelsPerToken: 16, defaultTextTokens: 256, textMultiple: 32 }),
  sources: [
    'layers, counts (30 main + 2 + 2 refiners), kinds, adaLN 256→15360 16-bit ×32, x/cap embedders: models-gpus-users.md §1.3 [diffusers transformer_z_image.py; Nunchaku transformer_zimage.py _patch_model]',
    'refiners counted as quantized (as in the reference FLOP table, "refiners quantized"); depends on the checkpoint’s skip_refiners: models-gpus-users.md §1.3',
    'tokens: (H/16)² image tokens, caption padded to a multiple of 32 (SEQ_MULTI_OF), joint = image + caption for main layers: models-gpus-users.md §1.3, §1.9',
    'defaultTextTokens 256: the reference FLOP table’s "cap 256" (models-gpus-users.md §1.9); the pipeline maximum (512) is UNCERTAIN',
    'rank 128 default (example), 32 and 256 (INT4 only) shipped: models-gpus-users.md §2; batch 1 (guidance 0, 8 steps): §1.9',
    'epilogue: the SwiGLU product is not in this chain, so every layer is bias → lowrank; bias assumed',
  ],
};
