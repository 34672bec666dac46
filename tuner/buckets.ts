// M (token count) buckets. N and K are fixed per layer, M varies with resolution, batch and prompt
// length, so records and dispatch tables are keyed by an M bucket. Policy (after FlashInfer's hybrid
// buckets, anchors.md §1b): powers of two up to 1024, then steps of 512 up to 8192, then steps of
// 2048 — fine where real token counts live (512, 4096, 4608, 6032, 6889) and coarse beyond.
// A bucket is the half-open range (lo, hi]; a shape is tuned and recorded at its bucket's hi
// (round-up), so the chosen kernel has seen the largest M it will be dispatched for.
import { UserError } from '../dsl/errors.js';

export interface MBucket {
  /** Exclusive lower bound (0 for the first bucket). */
  lo: number;
  /** Inclusive upper bound: the M the bucket is tuned at. */
  hi: number;
}

const SMALLEST = 16;

/** The upper bound of the bucket holding `m` (m ≥ 1). */
export function mBucketHi(m: number): number {
  if (!Number.isInteger(m) || m < 1) throw new UserError(`M: ${m} is not valid; expected a positive integer`);
  if (m <= SMALLEST) return SMALLEST;
  if (m <= 1024) return 2 ** Math.ceil(Math.log2(m));
  if (m <= 8192) return Math.ceil(m / 512) * 512;
  return Math.ceil(m / 2048) * 2048;
}

/** The bucket holding `m`. */
export function mBucket(m: number): MBucket {
  const hi = mBucketHi(m);
  return { lo: previousHi(hi), hi };
}

function previousHi(hi: number): number {
  if (hi <= SMALLEST) return 0;
  if (hi <= 1024) return hi / 2;
  if (hi <= 8192) return hi - 512;
  return hi - 2048 <= 8192 ? 8192 : hi - 2048;
}

/** Stable text form used in record keys and reports: "m(512,1024]". */
export function bucketLabel(b: MBucket): string {
  return `m(${b.lo},${b.hi}]`;
}
