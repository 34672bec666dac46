// Structural rules for tile configurations. Budgets (shared memory, registers, occupancy) are the
// pruner's job (tuner/); these rules reject tiles no kernel can be generated for, whatever the GPU.
import { SpecError } from './errors.js';
import { MMA_K } from './formats.js';
import type { ActTile, GemmTile, KernelSpec, Target } from './types.js';

/** MMA tile the warps are built from: 16 rows (A fragment) × 16 columns (two n8 B fragments). */
export const MMA_M = 16;
export const MMA_N = 16;
export const MAX_WARPS_PER_BLOCK = 8;
export const MAX_STAGES = 4;
export const GEMM_BLOCK_LIMITS = { blockM: [16, 256], blockN: [16, 256], blockK: [64, 256] } as const;
export const ACT_BLOCK_LIMITS = { blockM: [16, 256], blockK: [64, 512] } as const;
const GEMM_FIELDS: readonly (keyof GemmTile)[] = ['blockM', 'blockN', 'blockK', 'warpsM', 'warpsN', 'stages', 'staging', 'accum'];
const ACT_FIELDS: readonly (keyof ActTile)[] = ['blockM', 'blockK', 'warps'];

export const isPow2 = (x: number): boolean => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;

/** A broken rule: the same three parts a SpecError reports. */
export interface TileIssue {
  field: string;
  value: unknown;
  allowed: string;
}

function pow2Issue(v: unknown, field: string, lo: number, hi: number): TileIssue | undefined {
  if (typeof v !== 'number' || !isPow2(v) || v < lo || v > hi) return { field, value: v, allowed: `must be a power of two in [${lo}, ${hi}]` };
  return undefined;
}

function objectIssue(v: unknown, field: string, fields: readonly string[]): TileIssue | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { field, value: v, allowed: `must be an object with fields ${fields.join(', ')}` };
  for (const key of Object.keys(v)) {
    if (!fields.includes(key)) return { field: `${field}.${key}`, value: (v as Record<string, unknown>)[key], allowed: `is not a known field; allowed fields: ${fields.join(', ')}` };
  }
  return undefined;
}

/** The first structural rule a GEMM tile breaks (undefined = valid); no exceptions, for fast enumeration. */
export function gemmTileIssue(v: unknown, spec?: KernelSpec, field = 'tile'): TileIssue | undefined {
  const bad = objectIssue(v, field, GEMM_FIELDS);
  if (bad) return bad;
  const t = v as Record<string, unknown>;
  const f = (k: string) => `${field}.${k}`;
  const shape =
    pow2Issue(t.warpsM, f('warpsM'), 1, MAX_WARPS_PER_BLOCK) ??
    pow2Issue(t.warpsN, f('warpsN'), 1, MAX_WARPS_PER_BLOCK) ??
    ((t.warpsM as number) * (t.warpsN as number) > MAX_WARPS_PER_BLOCK
      ? { field: f('warpsN'), value: t.warpsN, allowed: `gives ${t.warpsM}×${t.warpsN} = ${(t.warpsM as number) * (t.warpsN as number)} warps; allowed: at most ${MAX_WARPS_PER_BLOCK} warps per block` }
      : undefined) ??
    pow2Issue(t.blockM, f('blockM'), ...GEMM_BLOCK_LIMITS.blockM) ??
    pow2Issue(t.blockN, f('blockN'), ...GEMM_BLOCK_LIMITS.blockN) ??
    pow2Issue(t.blockK, f('blockK'), ...GEMM_BLOCK_LIMITS.blockK);
  if (shape) return shape;
  const [blockM, blockN, blockK, warpsM, warpsN] = [t.blockM, t.blockN, t.blockK, t.warpsM, t.warpsN] as number[];
  if (blockM % (MMA_M * warpsM) !== 0) {
    return { field: f('blockM'), value: blockM, allowed: `is not a multiple of 16·warpsM = ${MMA_M * warpsM} (each warp needs whole 16-row MMA tiles)` };
  }
  if (blockN % (MMA_N * warpsN) !== 0) {
    return { field: f('blockN'), value: blockN, allowed: `is not a multiple of 16·warpsN = ${MMA_N * warpsN} (each warp needs whole 16-column weight tiles)` };
  }
  if (blockK % MMA_K !== 0) return { field: f('blockK'), value: blockK, allowed: `is not a multiple of ${MMA_K} (the 4-bit MMA's K)` };
  if (!Number.isInteger(t.stages) || (t.stages as number) < 1 || (t.stages as number) > MAX_STAGES) {
    return { field: f('stages'), value: t.stages, allowed: `must be an integer in [1, ${MAX_STAGES}]` };
  }
  if (t.staging !== 'reg' && t.staging !== 'smem') return { field: f('staging'), value: t.staging, allowed: "is not a staging mode; allowed: 'reg', 'smem'" };
  if (t.accum !== 'f32' && t.accum !== 'f16') return { field: f('accum'), value: t.accum, allowed: "is not an accumulation precision; allowed: 'f32', 'f16'" };
  if (spec) {
    const g = spec.format.group;
    if (blockK % g !== 0) return { field: f('blockK'), value: blockK, allowed: `is not a multiple of the ${spec.format.kind} group size ${g}` };
    if (spec.format.kind !== 'int4' && t.accum === 'f16') {
      return { field: f('accum'), value: 'f16', allowed: `is only allowed for int4; ${spec.format.kind} block-scaled MMAs accumulate in f32 (allowed: 'f32')` };
    }
  }
  return undefined;
}

/** Checks a GEMM tile; with a spec also the rules that depend on its format (group size, accumulation). */
export function validateGemmTile(v: unknown, spec?: KernelSpec, field = 'tile'): GemmTile {
  const issue = gemmTileIssue(v, spec, field);
  if (issue) throw new SpecError(issue.field, issue.value, issue.allowed);
  const t = v as GemmTile;
  return { blockM: t.blockM, blockN: t.blockN, blockK: t.blockK, warpsM: t.warpsM, warpsN: t.warpsN, stages: t.stages, staging: t.staging, accum: t.accum };
}

/** The first rule an activation-quantizer tile breaks: warps are stacked along M, each owning 16·k rows. */
export function actTileIssue(v: unknown, spec?: KernelSpec, field = 'actTile'): TileIssue | undefined {
  const bad = objectIssue(v, field, ACT_FIELDS);
  if (bad) return bad;
  const t = v as Record<string, unknown>;
  const f = (k: string) => `${field}.${k}`;
  const shape =
    pow2Issue(t.warps, f('warps'), 1, MAX_WARPS_PER_BLOCK) ??
    pow2Issue(t.blockM, f('blockM'), ...ACT_BLOCK_LIMITS.blockM) ??
    pow2Issue(t.blockK, f('blockK'), ...ACT_BLOCK_LIMITS.blockK);
  if (shape) return shape;
  const [blockM, blockK, warps] = [t.blockM, t.blockK, t.warps] as number[];
  if (blockM % (MMA_M * warps) !== 0) return { field: f('blockM'), value: blockM, allowed: `is not a multiple of 16·warps = ${MMA_M * warps}` };
  if (blockK % MMA_K !== 0) return { field: f('blockK'), value: blockK, allowed: `is not a multiple of ${MMA_K} (the GEMM's K step)` };
  if (spec && blockK % spec.format.group !== 0) {
    return { field: f('blockK'), value: blockK, allowed: `is not a multiple of the ${spec.format.kind} group size ${spec.format.group}` };
  }
  return undefined;
}

export function validateActTile(v: unknown, spec?: KernelSpec, field = 'actTile'): ActTile {
  const issue = actTileIssue(v, spec, field);
  if (issue) throw new SpecError(issue.field, issue.value, issue.allowed);
  const t = v as ActTile;
  return { blockM: t.blockM, blockK: t.blockK, warps: t.warps };
}

/** Arch rules for a tile: cp.async (smem staging) needs sm_80+. Throws SpecError naming the field. */
export function checkTileOnTarget(tile: GemmTile, target: Target, field = 'tile'): void {
  if (tile.staging === 'smem' && target.arch === 'sm_75') {
    throw new SpecError(`${field}.staging`, 'smem', `is not available on ${target.name} (${target.arch}): cp.async needs sm_80 or later; allowed: 'reg'`);
  }
}

/** Threads per block of a GEMM tile. */
export const gemmThreads = (t: GemmTile): number => 32 * t.warpsM * t.warpsN;
/** The warp's own output tile. */
export const warpTile = (t: GemmTile): { m: number; n: number } => ({ m: t.blockM / t.warpsM, n: t.blockN / t.warpsN });
