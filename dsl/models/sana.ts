// SANA 1.6B (Sana_1600M_1024px): 20 blocks, hidden 2240, linear attention padded to 2304, GLUMBConv
// FFN 5600 (models-gpus-users.md §1.4, §1.9). 120 W4A4 GEMMs (+1 PAG layer) and 20 16-bit GEMMs.
import type { ModelCatalog } from '../types.js';
import { SILU, fp16, tokenCounter, w4a4 } from './common.js';

export const SANA_1600M: ModelCatalog = {
  id: 'sana-1.6b',
  name: 'SANA 1.6B (1024 px)',
  defaultResolution: 1024,
  defaultRank: 32,
  shippedRanks: [32],
  defaultBatch: 2,
  defaultTextTokens: 300,
  pixelsPerToken: 32,
  layers: [
    w4a4('attn.qkv_proj', 2240, 6912, 20, 'image', undefined, { note: 'linear-attention epilogue in Nunchaku; tokens padded to 256' }),
    w4a4('attn.out_proj', 2304, 2240, 20, 'image'),
    w4a4('cross_attn.q_linear', 2240, 2240, 20, 'image'),
    fp16('cross_attn.kv_linear', 2240, 4480, 20, 'text'),
    w4a4('cross_attn.out_proj', 2240, 2240, 20, 'image'),
    w4a4('ff.inverted_conv', 2240, 11200, 20, 'image', SILU),
    w4a4('ff.point_conv', 5600, 2240, 20, 'image', undefined, { note: 'GLU fused into its quantizer in Nunchaku; K = 5600 is not a multiple of 64, so it is padded (5632)' }),
    w4a4('pag_to_v', 2240, 2304, 1, 'image', undefined, { note: 'PAG layers only (e.g. layer 8)' }),
  ],
  tokens: tokenCounter('sana-1.6b', { pixelsPerToken: 32, defaultTextTokens: 300, maxTextTokens: 300 }),
  sources: [
    'layers, counts, kinds (kv_linear 16-bit, inverted_conv + SiLU, pag_to_v PAG only): models-gpus-users.md §1.4 [Nunchaku src/SanaModel.cpp; SANA config SanaMS_1600M_P1_D20]',
    'the depthwise 3×3 conv (16-bit DWCONV) and the t_block are not linear layers of this catalog',
    'tokens: (H/32)² (32× DC-AE, patch 1), text ≤ 300 (Gemma-2-2B): models-gpus-users.md §1.4, §1.9',
    'batch 2 with CFG (3 with CFG + PAG): models-gpus-users.md §1.9; rank 32 (SVD_RANK): §2',
    'bias assumed on every W4A4 layer',
  ],
};
