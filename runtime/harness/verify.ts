// `svdq-codegen verify`: random layers (or the layer of a file, `--in`) through a set of kernel configs
// on the emulator (or a GPU), each compared with the references (compare.ts). The default set is in the
// target's format (INT4, INT4 fp16 on Turing, NVFP4 + MXFP4 on sm_120a/121a) and covers both dtypes
// where the target has them, u4 activations (INT4), f32 and f16 accumulation, register and cp.async
// staging, ranks 0/16/32, an activation and the qnext epilogue, and partial tiles (M = blockM + 17, two
// N blocks).
import { buildMany } from '../../codegen/cache.js';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { parseUri } from '../../codegen/uri.js';
import { UserError } from '../../dsl/errors.js';
import { layer, type LayerInput } from '../../dsl/spec.js';
import { gemmMmaFor } from '../../codegen/plan/gemm.js';
import { withSlowInt4 } from '../../dsl/compat.js';
import { formatByKind } from '../../dsl/formats.js';
import { defaultFormatKind, resolveGpu, supportsBf16 } from '../../dsl/targets.js';
import type { ActTile, FormatKind, GemmTile, KernelSpec, Target } from '../../dsl/types.js';
import { toBits16 } from '../../numerics/float16.js';
import type { LayerInputs } from '../reference/layer.js';
import { createRng, randomBits16 } from '../reference/random.js';
import { svdquantLayer } from '../reference/svdquant.js';
import { syntheticLayer } from '../reference/random.js';
import { compareLayer, type Check } from './compare.js';
import { requireGpu } from './gpu.js';
import type { Backend } from './harness.js';
import { buildLayerHarness, runLayer } from './run-layer.js';
import { readLayerFile } from './layer-io.js';
import { checkAgainstFile, onTarget, readNext, specFromFile } from './run-file.js';

export interface VerifyConfig {
  spec: KernelSpec;
  tiles: { gemm: GemmTile; act: ActTile };
}

export interface VerifyRow {
  gemmUri: string;
  actUri: string;
  M: number;
  N: number;
  K: number;
  passed: boolean;
  /** Fraction of Y bit-identical to the kernel-precision reference (NaN when Y is not written). */
  yBitExact: number;
  relErrorVsFloat64: number;
  checks: Check[];
  /** Set when the config could not be built or run at all. */
  error?: string;
}

export interface VerifyOptions {
  gpu: string;
  backend: Backend;
  /** GEMM URIs to verify (their arch must match --gpu); the default set otherwise. */
  configs?: string[];
  /** sm_90: build the INT4 m16n8k64 path anyway (dsl/compat.ts withSlowInt4; plans carry slowPath). */
  allowSlowInt4?: boolean;
  /**
   * A layer file (logical tensors, docs/cli.md `run`; int4, NVFP4 or MXFP4) to verify instead of random
   * layers: its own spec with default tiles, or the `configs`, each checked against the file.
   */
  input?: string;
  /** With `input`: the format a float `weight` is quantized to (default: the target's native one). */
  format?: FormatKind;
  /** With `input`: the int4 group for a float `weight`. */
  group?: number;
  /** Only the first `limit` default configs (ignored with `configs`). */
  limit?: number;
  seed?: number;
  /** Parallel builds (default: the cores). */
  concurrency?: number;
  onProgress?: (done: number, total: number, label: string) => void;
}

const SMALL_TILE: GemmTile = { blockM: 64, blockN: 64, blockK: 64, warpsM: 2, warpsN: 2, stages: 2, staging: 'smem', accum: 'f32' };
const REG_TILE_1WARP: GemmTile = { blockM: 32, blockN: 32, blockK: 64, warpsM: 1, warpsN: 1, stages: 1, staging: 'reg', accum: 'f32' };

type Variant = { spec: LayerInput; gemm?: Partial<GemmTile> };

/** INT4 on sm_80/86/89 (and an sm_90 slow-path target): both dtypes, u4, f16 accumulation, both stagings, qnext. */
function int4Variants(): Variant[] {
  return [
    { spec: { dtype: 'bf16', lowRank: 32, epilogue: ['bias', 'lowrank'] } },
    { spec: { dtype: 'fp16', lowRank: 32, epilogue: ['bias', 'lowrank'] }, gemm: SMALL_TILE },
    { spec: { dtype: 'bf16', lowRank: 16, activation: 'unsigned', epilogue: ['bias', 'lowrank'] }, gemm: { ...SMALL_TILE, staging: 'reg' } },
    { spec: { dtype: 'bf16', lowRank: 32, epilogue: ['bias', 'lowrank'] }, gemm: { ...SMALL_TILE, accum: 'f16' } },
    { spec: { dtype: 'fp16', lowRank: 0, epilogue: [] }, gemm: REG_TILE_1WARP },
    { spec: { dtype: 'bf16', lowRank: 32, epilogue: ['bias', 'lowrank', 'silu'] }, gemm: { ...SMALL_TILE, blockK: 128, stages: 3 } },
    {
      spec: { dtype: 'bf16', lowRank: 32, epilogue: ['bias', 'lowrank', 'gelu', { op: 'qnext', format: { kind: 'int4', group: 64, scaleDtype: 'bf16' }, lowRankDown: 32, keepOutput: true }] },
      gemm: { ...SMALL_TILE, blockN: 128, warpsN: 2 },
    },
  ];
}

/** sm_75 (Turing): INT4 with fp16 activations and scales, register staging only (no bf16, no cp.async). */
function turingVariants(): Variant[] {
  const fmt = formatByKind('int4', 'fp16');
  const reg: Partial<GemmTile> = { ...SMALL_TILE, staging: 'reg' };
  return [
    { spec: { dtype: 'fp16', format: fmt, lowRank: 32, epilogue: ['bias', 'lowrank'] }, gemm: reg },
    { spec: { dtype: 'fp16', format: fmt, lowRank: 16, activation: 'unsigned', epilogue: ['bias', 'lowrank'] }, gemm: { ...reg, accum: 'f16' } },
    { spec: { dtype: 'fp16', format: fmt, lowRank: 0, epilogue: [] }, gemm: REG_TILE_1WARP },
    {
      spec: { dtype: 'fp16', format: fmt, lowRank: 32, epilogue: ['bias', 'lowrank', 'gelu', { op: 'qnext', format: fmt, lowRankDown: 32, keepOutput: true }] },
      gemm: { ...reg, blockN: 128, warpsN: 2 },
    },
  ];
}

/** sm_120a/121a: NVFP4 and MXFP4 (bf16 data, fp32 accumulation, signed e2m1 activations), both stagings, qnext. */
function fp4Variants(): Variant[] {
  const per = (kind: 'nvfp4' | 'mxfp4'): Variant[] => [
    { spec: { dtype: 'bf16', format: kind, lowRank: 32, epilogue: ['bias', 'lowrank'] } },
    { spec: { dtype: 'fp16', format: kind, lowRank: 16, epilogue: ['bias', 'lowrank', 'silu'] }, gemm: { ...SMALL_TILE, staging: 'reg' } },
    {
      spec: { dtype: 'bf16', format: kind, lowRank: 32, epilogue: ['bias', 'lowrank', 'gelu', { op: 'qnext', format: formatByKind(kind), lowRankDown: 32, keepOutput: true }] },
      gemm: { ...SMALL_TILE, blockN: 128, warpsN: 2 },
    },
  ];
  // Interleaved (NVFP4, MXFP4, NVFP4, …) so that any prefix (`limit`) covers both formats.
  const nv = per('nvfp4');
  const mx = per('mxfp4');
  return nv.flatMap((v, i) => [v, mx[i]!]);
}

/**
 * The default configs for a target: variants of spec and tile that exercise distinct code paths, in the
 * target's own 4-bit format (dsl/targets.ts `defaultFormatKind`): INT4 on sm_80/86/89, INT4 fp16 with
 * register staging on sm_75, NVFP4 and MXFP4 on sm_120a/121a. A target with no 4-bit MMA is a UserError.
 */
export function defaultVerifyConfigs(target: Target): VerifyConfig[] {
  const kind = defaultFormatKind(target);
  if (kind === undefined) {
    const why = target.arch === 'sm_90' || target.arch === 'sm_100a' ? gemmMmaFor('int4', target) : undefined;
    const detail = why && 'problem' in why ? why.problem : `${target.name} (${target.arch}) has no 4-bit MMA`;
    const hint = target.arch === 'sm_90' ? ' (or pass --allow-slow-int4 to build the INT4 path anyway, not a fast path)' : '';
    throw new UserError(`--gpu ${target.id}: no built-in verify configs — ${detail}${hint}`);
  }
  const variants = kind !== 'int4' ? fp4Variants() : supportsBf16(target) ? int4Variants() : turingVariants();
  return variants.map(({ spec: input, gemm }) => {
    const spec = layer(input);
    const tiles = defaultTiles(spec, target);
    return { spec, tiles: { gemm: { ...tiles.gemm, ...gemm }, act: tiles.act } };
  });
}

/** Configs named by GEMM URIs; the activation kernel gets its default tile. */
export function configsFromUris(uris: readonly string[], target: Target): VerifyConfig[] {
  return uris.map((uri) => {
    const parsed = parseUri(uri);
    if (parsed.kind !== 'gemm') throw new UserError(`--configs: '${uri}' is an activation-kernel URI; pass GEMM URIs (w4a4_…)`);
    if (parsed.arch !== target.arch) throw new UserError(`--configs: '${uri}' is built for ${parsed.arch} but --gpu is ${target.id} (${target.arch})`);
    return { spec: parsed.spec, tiles: { gemm: parsed.tile, act: defaultTiles(parsed.spec, target).act } };
  });
}

/** Random logical inputs for `spec` (SVDQuant-decomposed synthetic layer, deterministic in `seed`). */
export function randomInputs(spec: KernelSpec, M: number, N: number, K: number, seed: number): LayerInputs {
  const syn = syntheticLayer({ M, N, K, seed });
  const logical = svdquantLayer({ x: syn.x, M }, syn.weight, N, K, syn.bias, {
    format: spec.format,
    dtype: spec.dtype,
    rank: spec.lowRank.rank,
    activation: spec.activation,
  });
  // u4 activations expect inputs ≥ −shift (they follow a GELU): fold x into that range.
  const xv = spec.activation.unsigned ? syn.x.map((v) => Math.max(v, -spec.activation.shift)) : syn.x;
  const inputs: LayerInputs = { layer: logical, M, x: Uint16Array.from(xv, (v) => toBits16(v, spec.dtype)) };
  if (spec.epilogue.some((e) => e.op === 'cscale')) {
    // per-channel output scales (Nunchaku NVFP4 wcscales) in [0.5, 1.5)
    const rng = createRng(seed + 2);
    logical.channelScales = Uint16Array.from({ length: N }, () => toBits16(0.5 + rng.next(), spec.dtype));
  }
  const q = spec.epilogue.find((e) => e.op === 'qnext');
  if (q && q.op === 'qnext') {
    const rng = createRng(seed + 1);
    inputs.next = {
      smooth: Uint16Array.from({ length: N }, () => toBits16(0.5 + rng.next(), spec.dtype)),
      ...(q.lowRankDown.rank > 0 ? { loraDown: randomBits16(rng, q.lowRankDown.rank * N, spec.dtype, 0.05) } : {}),
    };
  }
  return inputs;
}

/** Problem size: a partial M tile and two N blocks; K covers two GEMM and activation K steps. */
function problemFor(c: VerifyConfig): { M: number; N: number; K: number } {
  const g = c.tiles.gemm;
  const unit = Math.max(g.blockK, c.tiles.act.blockK, 64, c.spec.format.group);
  return { M: g.blockM + 17, N: 2 * g.blockN, K: Math.min(2 * unit, 512) };
}

/** The configs and inputs of `verify --in FILE`: the file's own layer, every config checked against it. */
async function fileConfigs(o: VerifyOptions, target: Target): Promise<{ configs: VerifyConfig[]; inputs: (c: VerifyConfig) => Promise<LayerInputs> }> {
  const input = o.input!;
  const file = await readLayerFile(input, { format: o.format, group: o.group, defaultFormat: defaultFormatKind(target) });
  const own = specFromFile(file);
  let configs: VerifyConfig[];
  if (o.configs && o.configs.length > 0) {
    configs = configsFromUris(o.configs, target);
    configs.forEach((c, i) => checkAgainstFile(c.spec, file, o.configs![i], input));
  } else {
    onTarget(own, target, input, file);
    configs = [{ spec: own, tiles: defaultTiles(own, target) }];
  }
  return {
    configs,
    inputs: async (c) => {
      const f = { ...file, inputs: { ...file.inputs } };
      await readNext(input, c.spec, f);
      return f.inputs;
    },
  };
}

export async function verifyConfigs(o: VerifyOptions): Promise<VerifyRow[]> {
  const target = o.allowSlowInt4 ? withSlowInt4(resolveGpu(o.gpu)) : resolveGpu(o.gpu);
  if (o.backend === 'gpu') await requireGpu(target.arch);
  const seed = o.seed ?? 1;
  const fromFile = o.input ? await fileConfigs(o, target) : undefined;
  const configs = fromFile ? fromFile.configs : o.configs && o.configs.length > 0 ? configsFromUris(o.configs, target) : defaultVerifyConfigs(target).slice(0, o.limit);
  const configsInput = new Map<VerifyConfig, LayerInputs>();
  if (fromFile) for (const c of configs) configsInput.set(c, await fromFile.inputs(c));
  const sizeOf = (c: VerifyConfig): { M: number; N: number; K: number } => {
    const file = configsInput.get(c);
    return file ? { M: file.M, N: file.layer.N, K: file.layer.K } : problemFor(c);
  };
  const jobs = configs.map((c) => ({
    label: `${c.spec.dtype} ${c.spec.epilogue.map((e) => e.op).join('-') || 'plain'}`,
    run: async (): Promise<VerifyRow> => {
      const { M, N, K } = sizeOf(c);
      const { plan, built } = await buildLayerHarness(c.spec, c.tiles, target, o.backend);
      const base = { gemmUri: plan.gemm.uri, actUri: plan.act.uri, M, N, K };
      try {
        const inputs = configsInput.get(c) ?? randomInputs(c.spec, M, N, K, seed);
        const run = await runLayer({ spec: c.spec, tiles: c.tiles, target, backend: o.backend, inputs, built });
        const cmp = compareLayer(run, inputs, c.spec);
        return { ...base, passed: cmp.passed, yBitExact: cmp.yBitExact, relErrorVsFloat64: cmp.relErrorVsFloat64, checks: cmp.checks };
      } catch (e) {
        return { ...base, passed: false, yBitExact: NaN, relErrorVsFloat64: NaN, checks: [], error: (e as Error).message };
      }
    },
  }));
  const outcomes = await buildMany(jobs, {
    concurrency: o.concurrency,
    onProgress: (done, total, last) => o.onProgress?.(done, total, last.label),
  });
  return outcomes.map((out, i) => {
    if (out.ok) return out.value;
    const c = configs[i];
    return { gemmUri: `(${c.spec.dtype} ${out.label})`, actUri: '', ...sizeOf(c), passed: false, yBitExact: NaN, relErrorVsFloat64: NaN, checks: [], error: (out.error as Error).message };
  });
}
