// Qwen-Image (and Edit, Edit-2509, Lightning): 60 dual-stream blocks, hidden 3072, MLP 12288 GELU-tanh
// (models-gpus-users.md §1.2, §1.9, §2). 480 W4A4 GEMMs and 120 W4A16 GEMVs per forward.
import type { LayerShape, ModelCatalog } from '../types.js';
import { GELU_QNEXT, fp16, tokenCounter, w4a16, w4a4 } from './common.js';

const stream = (s: 'image' | 'text', p: string): LayerShape[] => [
  w4a4(`${p}.qkv`, 3072, 9216, 60, s),
  w4a4(`${p}.out`, 3072, 3072, 60, s),
  w4a4(`${p}.mlp_fc1`, 3072, 12288, 60, s, GELU_QNEXT),
  w4a4(`${p}.mlp_fc2`, 12288, 3072, 60, s, undefined, { inputFrom: `${p}.mlp_fc1` }),
];

export const QWEN_IMAGE: ModelCatalog = {
  id: 'qwen-image',
  name: 'Qwen-Image',
  defaultResolution: 1328,
  defaultRank: 32,
  shippedRanks: [32, 128],
  defaultBatch: 1,
  defaultTextTokens: 200,
  pixelsPerToken: 16,
  layers: [
    ...stream('image', 'img'),
    ...stream('text', 'txt'),
    w4a16('img_mod.1', 3072, 18432, 60, { note: '6× modulation, AWQ W4A16 GEMV' }),
    w4a16('txt_mod.1', 3072, 18432, 60, { note: '6× modulation, AWQ W4A16 GEMV' }),
    fp16('img_in', 64, 3072, 1, 'image'),
    fp16('txt_in', 3584, 3072, 1, 'text'),
    fp16('proj_out', 3072, 64, 1, 'image', { note: 'derived: patch 2 × 2 × 16 VAE channels = 64 outputs' }),
  ],
  tokens: tokenCounter('qwen-image', { pixelsPerToken: 16, defaultTextTokens: 200, maxTextTokens: 1024 }),
  sources: [
    'layers, counts (60 blocks × 2 streams), kinds, img_in/txt_in: models-gpus-users.md §1.2 [Nunchaku repo transformer_qwenimage.py]',
    'proj_out 3072→64: derived from patch 2 and the 16-channel VAE (models-gpus-users.md §1.2); timestep embedder and norm_out shapes are not in the reference and are not catalogued',
    'tokens: (H/16)² image tokens; 1328² default → 6889; text is variable (prompt after a 34-token template, cap 1024): models-gpus-users.md §1.9',
    'defaultTextTokens 200: assumed, the text length of the reference FLOP table ("Qwen-Image (txt 200)", models-gpus-users.md §1.9)',
    'batch 1: true CFG runs as two sequential B=1 passes in diffusers: models-gpus-users.md §1.9',
    'ranks 32 and 128 shipped (Edit examples default to 128): models-gpus-users.md §2',
    'epilogue: fc1 → GELU → quantize-for-fc2, fc2 unsigned for INT4: models-gpus-users.md §1.2; bias assumed on every W4A4 layer',
  ],
};
