// The 16-bit low-rank branch: a rank that is a multiple of 16 (one run-time scale per 16 ranks), up to
// 1024 (Nunchaku's MAX_RANK, a 64-entry scale array; nunchaku-kernels.md §3.5). User LoRAs are
// appended to the SVD branch, each padded to whole 16-rank groups so it keeps its own scales
// (models-gpus-users.md §2; docs/layouts.md "lora_scales").
import { SpecError } from './errors.js';
import type { LowRank } from './types.js';

export const RANK_STEP = 16;
export const MAX_RANK = 1024;
/** The SVD rank Nunchaku ships for most models (models-gpus-users.md §2). */
export const DEFAULT_RANK = 32;
/** Rank buckets the tuner tunes for; a layer runs the kernel of the smallest bucket ≥ its rank.
 * Values from models-gpus-users.md §2 ("32, 48, 64, 128, 160, 256 and up to about 512"), extended to MAX_RANK. */
export const RANK_BUCKETS: readonly number[] = [0, 32, 48, 64, 128, 160, 256, 512, 1024];

export function lowRank(rank: number): LowRank {
  return { rank: validateRank(rank, 'lowRank.rank') };
}

export function validateRank(rank: unknown, field: string): number {
  if (typeof rank !== 'number' || !Number.isInteger(rank)) {
    throw new SpecError(field, rank, `must be an integer multiple of ${RANK_STEP} in [0, ${MAX_RANK}]`);
  }
  if (rank < 0 || rank > MAX_RANK) throw new SpecError(field, rank, `is out of range; allowed: 0 ≤ rank ≤ ${MAX_RANK}`);
  if (rank % RANK_STEP !== 0) throw new SpecError(field, rank, `is not a multiple of ${RANK_STEP}`);
  return rank + 0; // -0 → 0: a validated spec survives a JSON round trip
}

export function validateLowRank(v: unknown, field: string): LowRank {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SpecError(field, v, 'must be { rank: number }');
  for (const key of Object.keys(v)) {
    if (key !== 'rank') throw new SpecError(`${field}.${key}`, (v as Record<string, unknown>)[key], 'is not a known field; allowed fields: rank');
  }
  return { rank: validateRank((v as { rank: unknown }).rank, `${field}.rank`) };
}

export function padRank(rank: number): number {
  return Math.ceil(rank / RANK_STEP) * RANK_STEP;
}

/** One slice of the composed branch: its first rank, its padded width and where it came from. */
export interface RankSegment {
  source: string;
  offset: number;
  rank: number;
  padded: number;
}

/**
 * Appends user LoRAs to an SVD branch of `baseRank`: each LoRA is padded to whole 16-rank groups so
 * the per-16-rank scales can weight it on its own. Throws if the total exceeds MAX_RANK.
 */
export function appendLoras(baseRank: number, loras: Array<{ name: string; rank: number }>): { rank: number; segments: RankSegment[] } {
  validateRank(baseRank, 'baseRank');
  const segments: RankSegment[] = [{ source: 'svd', offset: 0, rank: baseRank, padded: baseRank }];
  let offset = baseRank;
  for (const [i, lora] of loras.entries()) {
    if (!Number.isInteger(lora.rank) || lora.rank <= 0) {
      throw new SpecError(`loras[${i}].rank`, lora.rank, 'must be a positive integer');
    }
    const padded = padRank(lora.rank);
    segments.push({ source: lora.name, offset, rank: lora.rank, padded });
    offset += padded;
  }
  if (offset > MAX_RANK) {
    throw new SpecError('lowRank.rank', offset, `(base ${baseRank} + LoRAs padded to 16) exceeds the maximum ${MAX_RANK}`);
  }
  return { rank: offset, segments };
}

/** The smallest tuned bucket that holds `rank`. */
export function rankBucket(rank: number): number {
  validateRank(rank, 'rank');
  return RANK_BUCKETS.find((b) => b >= rank) ?? MAX_RANK;
}
