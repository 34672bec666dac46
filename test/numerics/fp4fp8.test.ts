import { describe, expect, it } from 'vitest';
import { decodeE2m1, E2M1_VALUES, encodeE2m1 } from '../../numerics/fp4.js';
import { decodeUe4m3, decodeUe8m0, encodeUe4m3, encodeUe8m0 } from '../../numerics/fp8.js';

// Independent formulation: nearest value by exhaustive search, ties to the even code, clamped.
function nearestCode(x: number, values: number[], codes: number[]): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    const d = Math.abs(values[i] - x);
    const bd = best < 0 ? Infinity : Math.abs(values[best] - x);
    if (d < bd || (d === bd && codes[i] % 2 === 0)) best = i;
  }
  return codes[best];
}

describe('e2m1', () => {
  it('decodes every code point to the PTX table', () => {
    expect(E2M1_VALUES).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);
    expect(Object.is(decodeE2m1(8), -0)).toBe(true);
  });
  it('encodes every code point back to itself', () => {
    for (let c = 0; c < 16; c++) expect(encodeE2m1(decodeE2m1(c))).toBe(c);
  });
  it('rounds to nearest even and saturates (grid of 1/64 steps in [-10, 10])', () => {
    const pos = E2M1_VALUES.slice(0, 8);
    const codes = [0, 1, 2, 3, 4, 5, 6, 7];
    for (let i = -640; i <= 640; i++) {
      const x = i / 64;
      const mag = nearestCode(Math.min(Math.abs(x), 6), pos, codes);
      const want = x < 0 ? mag | 8 : mag;
      expect(encodeE2m1(x), `x = ${x}`).toBe(want);
    }
  });
  it('known answers: ties, saturation, NaN', () => {
    expect(encodeE2m1(0.25)).toBe(0x0);
    expect(encodeE2m1(0.75)).toBe(0x2);
    expect(encodeE2m1(1.25)).toBe(0x2);
    expect(encodeE2m1(2.5)).toBe(0x4);
    expect(encodeE2m1(5)).toBe(0x6);
    expect(encodeE2m1(5.0001)).toBe(0x7);
    expect(encodeE2m1(1e30)).toBe(0x7);
    expect(encodeE2m1(-Infinity)).toBe(0xf);
    expect(encodeE2m1(-0.1)).toBe(0x8);
    expect(encodeE2m1(NaN)).toBe(0x7);
  });
});

describe('ue4m3', () => {
  const finite = Array.from({ length: 127 }, (_, c) => c);
  it('decodes every code point (subnormals, 1.0, max 448, NaN 0x7F)', () => {
    expect(decodeUe4m3(0x00)).toBe(0);
    expect(decodeUe4m3(0x01)).toBe(2 ** -9);
    expect(decodeUe4m3(0x07)).toBe(7 * 2 ** -9);
    expect(decodeUe4m3(0x08)).toBe(2 ** -6);
    expect(decodeUe4m3(0x38)).toBe(1);
    expect(decodeUe4m3(0x7e)).toBe(448);
    expect(decodeUe4m3(0x7f)).toBeNaN();
    for (const c of finite) {
      const e = c >> 3;
      const m = c & 7;
      const want = e === 0 ? (m / 8) * 2 ** -6 : (1 + m / 8) * 2 ** (e - 7);
      expect(decodeUe4m3(c)).toBe(want);
      expect(encodeUe4m3(want)).toBe(c);
    }
    expect(() => decodeUe4m3(0x80)).toThrow(/bit 7/);
  });
  it('rounds to nearest even and saturates at 448 (midpoints and quarter points of every step)', () => {
    const values = finite.map(decodeUe4m3);
    for (let c = 0; c < 126; c++) {
      for (const f of [0.25, 0.5, 0.75]) {
        const x = values[c] + f * (values[c + 1] - values[c]);
        expect(encodeUe4m3(x), `x = ${x}`).toBe(nearestCode(x, values, finite));
      }
    }
    expect(encodeUe4m3(464)).toBe(0x7e); // the tie with 480 would go up; 480 is not finite
    expect(encodeUe4m3(1e9)).toBe(0x7e);
    expect(encodeUe4m3(Infinity)).toBe(0x7e);
    expect(encodeUe4m3(NaN)).toBe(0x7f);
    expect(encodeUe4m3(2 ** -10)).toBe(0x00); // tie between 0 and 2^-9 → even (0)
    expect(encodeUe4m3(3 * 2 ** -10)).toBe(0x02);
    expect(() => encodeUe4m3(-1)).toThrow(/unsigned/);
  });
});

describe('ue8m0', () => {
  it('decodes every code point; 0xFF is NaN', () => {
    for (let c = 0; c < 255; c++) expect(decodeUe8m0(c)).toBe(2 ** (c - 127));
    expect(decodeUe8m0(0x7f)).toBe(1);
    expect(decodeUe8m0(0xff)).toBeNaN();
  });
  it('encodes to the smallest power of two ≥ x, floored at 2^-127, NaN/Inf → 0xFF', () => {
    for (let c = 0; c < 255; c++) {
      const v = 2 ** (c - 127);
      expect(encodeUe8m0(v)).toBe(c);
      if (c < 254) expect(encodeUe8m0(v * 1.0000001)).toBe(c + 1);
      if (c > 0) expect(encodeUe8m0(v * 0.75)).toBe(c);
    }
    expect(encodeUe8m0(0)).toBe(0);
    expect(encodeUe8m0(2 ** -140)).toBe(0);
    expect(encodeUe8m0(7 / 6)).toBe(128);
    expect(encodeUe8m0(2 ** 128)).toBe(254);
    expect(encodeUe8m0(NaN)).toBe(0xff);
    expect(encodeUe8m0(Infinity)).toBe(0xff);
  });
});
