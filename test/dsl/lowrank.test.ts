import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../dsl/errors.js';
import { MAX_RANK, appendLoras, lowRank, padRank, rankBucket, validateLowRank } from '../../dsl/lowrank.js';
import { expectSpecError } from './expect-spec-error.js';

describe('low-rank branch', () => {
  it('accepts multiples of 16 from 0 to 1024', () => {
    for (const r of [0, 16, 32, 48, 128, 512, 1024]) expect(lowRank(r)).toEqual({ rank: r });
    expect(MAX_RANK).toBe(1024);
  });
  it('rejects ranks that are not multiples of 16, negative, too large or not integers', () => {
    expectSpecError(() => lowRank(40), 'lowRank.rank', 40, 'is not a multiple of 16');
    expect(() => lowRank(40)).toThrow('lowRank.rank: 40 is not a multiple of 16');
    expectSpecError(() => lowRank(-16), 'lowRank.rank', -16, '0 ≤ rank ≤ 1024');
    expectSpecError(() => lowRank(1040), 'lowRank.rank', 1040, '0 ≤ rank ≤ 1024');
    expectSpecError(() => lowRank(32.5), 'lowRank.rank', 32.5, 'integer multiple of 16');
    expectSpecError(() => validateLowRank({ rank: 32, scale: 1 }, 'lowRank'), 'lowRank.scale', 1, 'allowed fields: rank');
    expectSpecError(() => validateLowRank(32, 'lowRank'), 'lowRank', 32, '{ rank: number }');
  });
  it('appends user LoRAs padded to whole 16-rank groups', () => {
    const r = appendLoras(32, [
      { name: 'style', rank: 16 },
      { name: 'depth', rank: 128 },
      { name: 'odd', rank: 8 },
    ]);
    expect(r.rank).toBe(32 + 16 + 128 + 16);
    expect(r.segments.map((s) => [s.source, s.offset, s.padded])).toEqual([
      ['svd', 0, 32],
      ['style', 32, 16],
      ['depth', 48, 128],
      ['odd', 176, 16],
    ]);
    expectSpecError(() => appendLoras(512, [{ name: 'big', rank: 520 }]), 'lowRank.rank', 1040, 'exceeds the maximum 1024');
    expectSpecError(() => appendLoras(32, [{ name: 'x', rank: 0 }]), 'loras[0].rank', 0, 'positive integer');
  });
  it('pads and buckets', () => {
    expect(padRank(33)).toBe(48);
    expect(rankBucket(32)).toBe(32);
    expect(rankBucket(80)).toBe(128);
    expect(rankBucket(176)).toBe(256);
    expect(rankBucket(1024)).toBe(1024);
    expect(rankBucket(0)).toBe(0);
  });
  it('accepts exactly the multiples of 16 in [0, 1024] (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2000, max: 3000 }), (r) => {
        const ok = r % 16 === 0 && r >= 0 && r <= 1024;
        let threw: unknown;
        try {
          lowRank(r);
        } catch (e) {
          threw = e;
        }
        expect(threw === undefined).toBe(ok);
        if (threw) expect((threw as SpecError).field).toBe('lowRank.rank');
      }),
    );
  });
});
