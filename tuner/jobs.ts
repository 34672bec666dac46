// What a tune run tunes: one job per distinct (kernel family, N, K, M bucket) — layers with the same
// spec and shape share a job. Jobs come from a model catalog (default FLUX.1-dev at its default
// resolution and batch) or from explicit `--shapes MxNxK,…` (plain bias + low-rank layers).
import { UserError } from '../dsl/errors.js';
import { formatByKind } from '../dsl/formats.js';
import { layer } from '../dsl/spec.js';
import { defaultFormatKind, supportsBf16 } from '../dsl/targets.js';
import type { KernelSpec, Target } from '../dsl/types.js';
import { CATALOGS, resolveModel, shapesFor, specsFor } from '../dsl/models/index.js';
import { gemmUri } from '../codegen/uri.js';
import { defaultTiles } from '../codegen/default-tiles.js';
import { mBucket, type MBucket } from './buckets.js';
import { familyOfGemmUri } from './records.js';
import { parseShapeText } from './shape.js';
import { specProblems } from './spec-jobs.js';

export interface TuneJob {
  /** Kernel family (spec without tile), e.g. w4a4_int4g64_bf16_r32_sm89_bias-lora. */
  family: string;
  spec: KernelSpec;
  layers: string[];
  /** The problem tuned: M is the bucket's upper bound (the largest M dispatched to this choice). */
  problem: { m: number; n: number; k: number };
  bucket: MBucket;
  /** False when the previous GEMM's epilogue already quantized this layer's input (fc1 → fc2). */
  needsAct: boolean;
  /** Calls per forward pass, summed over the job's layers (model totals). */
  countPerForward: number;
  /** The qnext producer of this job's input (fc1 for fc2): its layer, N and default tile's blockN. The
   * producer writes one lora_act slice per N-block, which this job's low-rank epilogue sums. */
  producer?: { layer: string; n: number; defaultBlockN: number };
}

export interface JobOptions {
  model?: string;
  resolution?: number;
  batch?: number;
  rank?: number;
  /** "MxNxK" strings; replaces the catalog. With `specs`: "MxNxK" or "LABEL=MxNxK" (tuner/spec-jobs.ts). */
  shapes?: string[];
  /** A user's DSL file's specs (tune --spec) instead of a catalog or the default spec; `file` names it in errors. */
  specs?: { file: string; specs: readonly KernelSpec[] };
}

export function parseShapes(list: string): string[] {
  return list.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Default spec of a target: its 4-bit format, bf16 where supported, bias + low-rank epilogue. */
function layerDefaults(target: Target): { format: KernelSpec['format']; dtype: KernelSpec['dtype'] } {
  const kind = defaultFormatKind(target);
  if (!kind) {
    throw new UserError(`--gpu: ${target.name} (${target.arch}) has no 4-bit tensor-core path this generator can use. ${target.notes ?? ''}`.trim());
  }
  const dtype = supportsBf16(target) ? 'bf16' : 'fp16';
  return { format: formatByKind(kind, dtype), dtype };
}

export function buildJobs(target: Target, opts: JobOptions): TuneJob[] {
  type Row = { layer: string; spec: KernelSpec; m: number; n: number; k: number; needsAct: boolean; count: number; producer?: TuneJob['producer'] };
  let rows: Row[];
  if (opts.specs) {
    // A user's own specs (tune --spec): each at its shapes; the layer quantizes its own input.
    rows = specProblems(opts.specs.specs, opts.shapes ?? [], target, opts.specs.file).map((p) => ({ ...p, needsAct: true, count: 1 }));
    return jobsOf(target, rows);
  }
  const { format, dtype } = layerDefaults(target);
  if (opts.shapes && opts.shapes.length) {
    const rank = opts.rank ?? 32;
    rows = opts.shapes.map((s) => {
      const { m: M, n: N, k: K } = parseShapeText(s, '--shapes');
      const spec = layer({ label: s, format, dtype, lowRank: rank, epilogue: ['bias', 'lowrank'] });
      return { layer: s, spec, m: M, n: N, k: K, needsAct: true, count: 1 };
    });
  } else {
    const catalog = resolveModel(opts.model ?? 'flux.1-dev');
    const shapeOpts = { resolution: opts.resolution, batch: opts.batch, rank: opts.rank };
    const shapes = shapesFor(catalog, shapeOpts).filter((s) => s.kind === 'w4a4');
    const specs = new Map(specsFor(catalog, { format, dtype, rank: opts.rank }).map((s) => [s.layer, s.spec]));
    const inputFrom = new Map(catalog.layers.filter((l) => l.inputFrom).map((l) => [l.name, l.inputFrom!]));
    const byName = new Map(catalog.layers.map((l) => [l.name, l]));
    const producerOf = (name: string): TuneJob['producer'] => {
      const from = inputFrom.get(name);
      if (!from) return undefined;
      return { layer: from, n: byName.get(from)!.n, defaultBlockN: defaultTiles(specs.get(from)!, target).gemm.blockN };
    };
    rows = shapes.map((s) => ({ layer: s.layer, spec: specs.get(s.layer)!, m: s.m, n: s.n, k: s.k, needsAct: !inputFrom.has(s.layer), count: s.count, producer: producerOf(s.layer) }));
  }
  return jobsOf(target, rows);
}

function jobsOf(target: Target, rows: readonly { layer: string; spec: KernelSpec; m: number; n: number; k: number; needsAct: boolean; count: number; producer?: TuneJob['producer'] }[]): TuneJob[] {
  const jobs = new Map<string, TuneJob>();
  for (const r of rows) {
    const bucket = mBucket(r.m);
    const family = familyOfGemmUri(gemmUri(r.spec, PROBE_TILE, target.arch));
    const id = `${family}|${r.n}|${r.k}|${bucket.hi}|${r.needsAct}`;
    const job = jobs.get(id);
    if (job) {
      job.layers.push(r.layer);
      job.countPerForward += r.count;
    } else {
      jobs.set(id, { family, spec: r.spec, layers: [r.layer], problem: { m: bucket.hi, n: r.n, k: r.k }, bucket, needsAct: r.needsAct, countPerForward: r.count, ...(r.producer ? { producer: r.producer } : {}) });
    }
  }
  return [...jobs.values()];
}

/** Any valid tile: only used to spell the family part of a URI. */
const PROBE_TILE = { blockM: 64, blockN: 64, blockK: 64, warpsM: 1, warpsN: 1, stages: 1, staging: 'reg', accum: 'f32' } as const;

export const MODEL_IDS = (): string[] => CATALOGS.map((c) => c.id);
