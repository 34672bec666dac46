// Helpers shared by the model catalogs: layer constructors and the token-count rules of
// models-gpus-users.md §1.9 (latent tokens = (H/16)² for 8× VAEs with 2×2 patches, (H/32)² for Sana).
import { UserError } from '../errors.js';
import type { EpilogueName, LayerShape, ModelCatalog, TokenCounts } from '../types.js';

type Stream = LayerShape['tokens'];
type Extra = Partial<Pick<LayerShape, 'tokenDivisor' | 'inputFrom' | 'note'>>;

export const LINEAR: EpilogueName[] = ['bias', 'lowrank'];
export const GELU_QNEXT: EpilogueName[] = ['bias', 'lowrank', 'gelu', 'qnext'];
export const SILU: EpilogueName[] = ['bias', 'lowrank', 'silu'];

/** A layer run by this project's W4A4 kernels. */
export function w4a4(name: string, k: number, n: number, count: number, tokens: Stream, epilogue: EpilogueName[] = LINEAR, extra: Extra = {}): LayerShape {
  return { name, k, n, countPerForward: count, tokens, stays16bit: false, epilogue, kind: 'w4a4', ...extra };
}
/** An AWQ W4A16 GEMV in the reference engine (adaLN modulation, M = batch): not one of our kernels. */
export function w4a16(name: string, k: number, n: number, count: number, extra: Extra = {}): LayerShape {
  return { name, k, n, countPerForward: count, tokens: 'pooled', stays16bit: true, epilogue: ['bias'], kind: 'w4a16', ...extra };
}
/** A layer the reference engine leaves in 16 bits. */
export function fp16(name: string, k: number, n: number, count: number, tokens: Stream, extra: Extra = {}): LayerShape {
  return { name, k, n, countPerForward: count, tokens, stays16bit: true, epilogue: ['bias'], kind: 'fp16', ...extra };
}

export interface TokenRule {
  /** Pixels per latent token side: 16 (8× VAE, 2×2 patches) or 32 (Sana's 32× DC-AE, patch 1). */
  pixelsPerToken: number;
  /** Resolutions must be multiples of this (SDXL: 32, for its (H/32)² level). Default pixelsPerToken. */
  resolutionMultiple?: number;
  defaultTextTokens: number;
  /** Text is padded to a multiple of this (Z-Image: 32). */
  textMultiple?: number;
  /** Hard cap on text tokens (Qwen: 1024; Sana, PixArt: 300). */
  maxTextTokens?: number;
}

function positiveInt(field: string, v: number, allowed: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new UserError(`${field}: ${JSON.stringify(v)} ${allowed}`);
}

/** Token counts for a square image: image, text, joint (= image + text per sample) and pooled, all × batch. */
export function tokenCounter(modelId: string, rule: TokenRule): ModelCatalog['tokens'] {
  return (resolution, batch, textTokens) => {
    const mult = rule.resolutionMultiple ?? rule.pixelsPerToken;
    positiveInt('resolution', resolution, `must be a positive integer number of pixels`);
    if (resolution % mult !== 0) throw new UserError(`resolution: ${resolution} is not a multiple of ${mult} pixels (${modelId} needs whole latent tokens)`);
    positiveInt('batch', batch, 'must be a positive integer');
    const rawText = textTokens ?? rule.defaultTextTokens;
    positiveInt('textTokens', rawText, 'must be a positive integer');
    if (rule.maxTextTokens !== undefined && rawText > rule.maxTextTokens) {
      throw new UserError(`textTokens: ${rawText} exceeds ${modelId}'s maximum of ${rule.maxTextTokens}`);
    }
    const m = rule.textMultiple ?? 1;
    const text = Math.ceil(rawText / m) * m;
    const image = (resolution / rule.pixelsPerToken) ** 2;
    const counts: TokenCounts = { image: image * batch, text: text * batch, joint: (image + text) * batch, pooled: batch };
    return counts;
  };
}
