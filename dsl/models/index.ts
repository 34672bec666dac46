// The built-in model catalogs and what the tuner asks of them: the W4A4 GEMM shapes (M, N, K, count)
// for a resolution, batch and rank, and one KernelSpec per layer.
import { UserError } from '../errors.js';
import { formatByKind } from '../formats.js';
import { qnext, type EpilogueInput } from '../epilogue.js';
import { layer } from '../spec.js';
import type { Dtype16, EpilogueName, KernelSpec, LayerShape, ModelCatalog, QuantFormat } from '../types.js';
import { FLUX_DEV, FLUX_SCHNELL } from './flux.js';
import { PIXART_SIGMA } from './pixart.js';
import { QWEN_IMAGE } from './qwen-image.js';
import { SANA_1600M } from './sana.js';
import { SD35_LARGE, SD35_MEDIUM } from './sd35.js';
import { SDXL } from './sdxl.js';
import { Z_IMAGE_TURBO } from './z-image.js';

export { FLUX_DEV, FLUX_SCHNELL, PIXART_SIGMA, QWEN_IMAGE, SANA_1600M, SD35_LARGE, SD35_MEDIUM, SDXL, Z_IMAGE_TURBO };

export const CATALOGS: readonly ModelCatalog[] = [FLUX_DEV, FLUX_SCHNELL, QWEN_IMAGE, Z_IMAGE_TURBO, SANA_1600M, SDXL, PIXART_SIGMA, SD35_LARGE, SD35_MEDIUM];

/** A catalog by id (case-insensitive; 'flux-dev', 'flux.1-dev' and 'FLUX.1-dev' all work). */
export function resolveModel(id: string): ModelCatalog {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '').replace(/^flux1/, 'flux');
  const found = CATALOGS.find((c) => norm(c.id) === norm(id) || norm(c.name) === norm(id));
  if (!found) throw new UserError(`--model: ${JSON.stringify(id)} is not a known model; allowed: ${CATALOGS.map((c) => c.id).join(', ')}`);
  return found;
}

export interface ShapeOptions {
  resolution?: number;
  batch?: number;
  rank?: number;
  textTokens?: number;
  /** Also list W4A16 and 16-bit layers (default: only this project's W4A4 layers). */
  includeOthers?: boolean;
  /** Quantization group along K (default 64); kPadded is a multiple of it and of the MMA's 64. */
  group?: number;
}

export interface LayerGemm {
  layer: string;
  m: number;
  n: number;
  k: number;
  /** K rounded up to whole groups and 64-wide MMA steps (Sana's point_conv: 5600 → 5632). */
  kPadded: number;
  count: number;
  rank: number;
  tokens: LayerShape['tokens'];
  epilogue: EpilogueName[];
  kind: NonNullable<LayerShape['kind']>;
}

/** Rows (M) each layer runs with. */
export function layerM(c: ModelCatalog, l: LayerShape, opts: ShapeOptions = {}): number {
  const t = c.tokens(opts.resolution ?? c.defaultResolution, opts.batch ?? c.defaultBatch ?? 1, opts.textTokens);
  const m = t[l.tokens] / (l.tokenDivisor ?? 1);
  if (!Number.isInteger(m)) throw new UserError(`resolution: ${opts.resolution} gives ${t[l.tokens]}/${l.tokenDivisor} rows for ${c.id} ${l.name}; use a multiple of 32 pixels`);
  return m;
}

/** K padded to whole quantization groups and 64-wide MMA steps (zero columns add nothing). */
export function paddedK(k: number, group = 64): number {
  const step = Math.max(64, group);
  return Math.ceil(k / step) * step;
}

/** GEMM shapes of a model's W4A4 layers (in catalog order) at a resolution, batch and rank. */
export function shapesFor(c: ModelCatalog, opts: ShapeOptions = {}): LayerGemm[] {
  const rank = opts.rank ?? c.defaultRank;
  return c.layers
    .filter((l) => opts.includeOthers || !l.stays16bit)
    .map((l) => ({
      layer: l.name,
      m: layerM(c, l, opts),
      n: l.n,
      k: l.k,
      kPadded: paddedK(l.k, opts.group ?? 64),
      count: l.countPerForward,
      rank: l.stays16bit ? 0 : rank,
      tokens: l.tokens,
      epilogue: l.epilogue,
      kind: l.kind ?? (l.stays16bit ? 'fp16' : 'w4a4'),
    }));
}

/** Distinct (m, n, k) problems with their summed counts: what the tuner actually tunes. */
export function uniqueShapes(rows: readonly LayerGemm[]): Array<{ m: number; n: number; k: number; count: number; layers: string[] }> {
  const byKey = new Map<string, { m: number; n: number; k: number; count: number; layers: string[] }>();
  for (const r of rows) {
    const key = `${r.m}x${r.n}x${r.k}`;
    const e = byKey.get(key) ?? { m: r.m, n: r.n, k: r.k, count: 0, layers: [] };
    e.count += r.count;
    e.layers.push(r.layer);
    byKey.set(key, e);
  }
  return [...byKey.values()];
}

/** 2·M·N·K summed over the rows × counts (the reference's "W4A4-path linear FLOPs"). */
export function linearFlops(rows: readonly LayerGemm[]): number {
  return rows.reduce((s, r) => s + 2 * r.m * r.n * r.k * r.count, 0);
}

export interface SpecOptions {
  /** Default int4 (group 64, scales in `dtype`). */
  format?: QuantFormat;
  dtype?: Dtype16;
  rank?: number;
}

/** One validated KernelSpec per W4A4 layer: fc1 quantizes for fc2 (u4 + GELU_SHIFT for int4), fc2 reads it. */
export function specsFor(c: ModelCatalog, opts: SpecOptions = {}): Array<{ layer: string; spec: KernelSpec }> {
  const dtype = opts.dtype ?? 'bf16';
  const format = opts.format ?? formatByKind('int4', dtype);
  const rank = opts.rank ?? c.defaultRank;
  const specs = new Map<string, KernelSpec>();
  const quantLayers = c.layers.filter((l) => !l.stays16bit);
  for (const l of quantLayers) {
    const chain: EpilogueInput[] = l.epilogue.map((op) =>
      op === 'qnext' ? qnext({ format, lowRankDown: rank, keepOutput: false }) : (op as Exclude<EpilogueName, 'qnext'>),
    );
    specs.set(l.name, layer({ label: `${c.id}/${l.name}`, format, dtype, lowRank: rank, epilogue: chain }));
  }
  for (const l of quantLayers) {
    if (!l.inputFrom) continue;
    const producer = specs.get(l.inputFrom)?.epilogue.find((e) => e.op === 'qnext');
    if (!producer || producer.op !== 'qnext') throw new Error(`catalog ${c.id}: ${l.name}.inputFrom names ${l.inputFrom}, which has no qnext`);
    const spec = specs.get(l.name)!;
    specs.set(l.name, layer({ ...spec, activation: producer.activation }));
  }
  return quantLayers.map((l) => ({ layer: l.name, spec: specs.get(l.name)! }));
}
