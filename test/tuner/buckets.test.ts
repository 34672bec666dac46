import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bucketLabel, mBucket, mBucketHi } from '../../tuner/buckets.js';

describe('M buckets', () => {
  it('puts real token counts in the expected buckets', () => {
    expect(mBucketHi(1)).toBe(16);
    expect(mBucketHi(512)).toBe(512);
    expect(mBucketHi(513)).toBe(1024);
    expect(mBucketHi(4096)).toBe(4096);
    expect(mBucketHi(4608)).toBe(4608);
    expect(mBucketHi(6889)).toBe(7168);
    expect(mBucketHi(16896)).toBe(18432);
    expect(bucketLabel(mBucket(4608))).toBe('m(4096,4608]');
  });

  it('buckets tile the M axis: every m lies in (lo, hi] and consecutive buckets touch', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (m) => {
        const b = mBucket(m);
        expect(m > b.lo && m <= b.hi).toBe(true);
        if (b.lo > 0) expect(mBucket(b.lo).hi).toBe(b.lo);
        expect(mBucket(b.hi)).toEqual(b);
      }),
    );
  });

  it('rejects a non-positive M with a message naming it', () => {
    expect(() => mBucketHi(0)).toThrow(/M: 0 is not valid/);
  });
});
