// FLUX.1-dev and FLUX.1-schnell: 19 double-stream and 38 single-stream blocks, hidden 3072, MLP 12288
// (models-gpus-users.md §1.1, §1.9, §2). 304 W4A4 GEMMs and 76 W4A16 GEMVs per forward.
import type { LayerShape, ModelCatalog } from '../types.js';
import { GELU_QNEXT, fp16, tokenCounter, w4a16, w4a4 } from './common.js';

const SOURCES = [
  'layers, counts (19 double, 38 single blocks), kinds, 16-bit parts: models-gpus-users.md §1.1 [Nunchaku repo src/FluxModel.cpp, transformer_flux_v2.py]',
  'tokens: (H/16)² image tokens, joint = image + text for single blocks: models-gpus-users.md §1.9',
  'rank 32: models-gpus-users.md §2 (svdq-{int4,fp4}_r32 checkpoints only)',
  'epilogue: fc1 → GELU → quantize-for-fc2 (fc2 takes unsigned u4 for INT4) from models-gpus-users.md §1.1 and nunchaku-kernels.md §1.3; the single-block fc1 is assumed to use the same path (same GELU-tanh MLP); bias assumed on every W4A4 layer (the reference lists no biases; a zero bias is harmless)',
  'Nunchaku calls the double-block qkv once per batch element (M = tokens of one image) [#587]; this catalog uses M = B·tokens, as our kernels need no split',
  'Nunchaku fuses RMSNorm/RoPE into the qkv epilogue; not part of this chain vocabulary, so qkv uses bias → lowrank',
];

function fluxLayers(guidance: boolean): LayerShape[] {
  const stream = (s: 'image' | 'text', p: string): LayerShape[] => [
    w4a4(`double.${p}.qkv`, 3072, 9216, 19, s),
    w4a4(`double.${p}.attn_out`, 3072, 3072, 19, s),
    w4a4(`double.${p}.mlp_fc1`, 3072, 12288, 19, s, GELU_QNEXT),
    w4a4(`double.${p}.mlp_fc2`, 12288, 3072, 19, s, undefined, { inputFrom: `double.${p}.mlp_fc1` }),
  ];
  return [
    ...stream('image', 'img'),
    ...stream('text', 'txt'),
    w4a4('single.qkv', 3072, 9216, 38, 'joint'),
    w4a4('single.mlp_fc1', 3072, 12288, 38, 'joint', GELU_QNEXT),
    w4a4('single.attn_out', 3072, 3072, 38, 'joint'),
    w4a4('single.mlp_fc2', 12288, 3072, 38, 'joint', undefined, { inputFrom: 'single.mlp_fc1' }),
    w4a16('double.norm1.linear+norm1_context.linear', 3072, 18432, 38, { note: 'adaLN (6×), AWQ W4A16 GEMV' }),
    w4a16('single.norm.linear', 3072, 9216, 38, { note: 'adaLN (3×), AWQ W4A16 GEMV' }),
    fp16('x_embedder', 64, 3072, 1, 'image'),
    fp16('context_embedder', 4096, 3072, 1, 'text'),
    fp16('time_text_embed.timestep.linear_1', 256, 3072, 1, 'pooled'),
    fp16('time_text_embed.timestep.linear_2', 3072, 3072, 1, 'pooled'),
    ...(guidance
      ? [fp16('time_text_embed.guidance.linear_1', 256, 3072, 1, 'pooled'), fp16('time_text_embed.guidance.linear_2', 3072, 3072, 1, 'pooled')]
      : []),
    fp16('time_text_embed.text.linear_1', 768, 3072, 1, 'pooled'),
    fp16('time_text_embed.text.linear_2', 3072, 3072, 1, 'pooled'),
    fp16('norm_out.linear', 3072, 6144, 1, 'pooled'),
    fp16('proj_out', 3072, 64, 1, 'image'),
  ];
}

export const FLUX_DEV: ModelCatalog = {
  id: 'flux.1-dev',
  name: 'FLUX.1-dev',
  defaultResolution: 1024,
  defaultRank: 32,
  shippedRanks: [32],
  defaultBatch: 1,
  defaultTextTokens: 512,
  pixelsPerToken: 16,
  layers: fluxLayers(true),
  tokens: tokenCounter('flux.1-dev', { pixelsPerToken: 16, defaultTextTokens: 512 }),
  sources: [...SOURCES, 'text 512 tokens (diffusers default for dev), batch 1 (guidance-distilled, no CFG): models-gpus-users.md §1.9'],
};

export const FLUX_SCHNELL: ModelCatalog = {
  id: 'flux.1-schnell',
  name: 'FLUX.1-schnell',
  defaultResolution: 1024,
  defaultRank: 32,
  shippedRanks: [32],
  defaultBatch: 1,
  defaultTextTokens: 256,
  pixelsPerToken: 16,
  layers: fluxLayers(false),
  tokens: tokenCounter('flux.1-schnell', { pixelsPerToken: 16, defaultTextTokens: 256 }),
  sources: [
    ...SOURCES,
    'text 256 tokens, batch 1, 4 steps: models-gpus-users.md §1.9',
    'no guidance embedder: assumed from the public FLUX.1-schnell config (guidance_embeds = false); not in the reference',
  ],
};
