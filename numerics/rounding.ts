// Exact rounding primitives shared by every number format of the reference. All work on float64
// values, which hold every fp32/fp16/bf16/fp8/fp4 value and every product of two of them exactly.

/** Round half to even of a double to an integer (what `cvt.rni` does). */
export function rintEven(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.floor(v);
  const d = v - f; // exact: v and f share the exponent range
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** floor(log2(a)) for a finite a > 0, exact (Math.log2 can be off by one next to powers of two). */
export function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return e;
}

/**
 * Rounds |a| to nearest-even in a binary format with `mbits` stored mantissa bits and minimum
 * normal exponent `emin` (subnormals below it), with an unbounded exponent range above: the
 * caller decides overflow. Returns a non-negative double.
 */
export function roundMagnitude(a: number, mbits: number, emin: number): number {
  if (a === 0 || !Number.isFinite(a)) return a;
  const e = Math.max(exponentOf(a), emin);
  const quantum = 2 ** (e - mbits);
  return rintEven(a / quantum) * quantum; // both scalings by powers of two are exact
}

/**
 * Bits (exponent field << mbits | mantissa) of a non-negative value already representable in a
 * format with `mbits` mantissa bits, minimum normal exponent `emin` (exponent bias 1 − emin).
 */
export function encodeMagnitude(v: number, mbits: number, emin: number): number {
  if (v === 0) return 0;
  const e = exponentOf(v);
  if (e < emin) return v / 2 ** (emin - mbits); // subnormal: exponent field 0
  const mant = v / 2 ** (e - mbits) - 2 ** mbits;
  return ((e - emin + 1) << mbits) | mant;
}

/** Inverse of encodeMagnitude for finite codes. */
export function decodeMagnitude(bits: number, mbits: number, emin: number): number {
  const ef = bits >> mbits;
  const m = bits & ((1 << mbits) - 1);
  if (ef === 0) return m * 2 ** (emin - mbits);
  return (2 ** mbits + m) * 2 ** (ef - 1 + emin - mbits);
}

/**
 * round(a + b) with a single rounding, for a round-to-nearest-even `round` into a format much
 * narrower than float64: the sum is split exactly (TwoSum) and a tie at the double level is
 * resolved by the sign of the lost low part. Used for fma (a = an exact product) and accumulation.
 */
export function roundSum(a: number, b: number, round: (x: number) => number): number {
  const s = a + b;
  if (!Number.isFinite(s)) return round(s);
  const bb = s - a;
  const lo = a - (s - bb) + (b - bb);
  const r1 = round(s);
  if (lo === 0 || r1 === s) return r1;
  const r2 = 2 * s - r1; // the other neighbour if s is exactly a midpoint
  if (r2 === r1 || round(r2) !== r2 || (r1 + r2) / 2 !== s) return r1;
  return lo > 0 ? Math.max(r1, r2) : Math.min(r1, r2);
}

/** fp32 fma with one rounding (`__fmaf_rn`): a·b of two fp32 values is exact in float64. */
export function fmaF32(a: number, b: number, c: number): number {
  return roundSum(a * b, c, Math.fround);
}

/** fp32 add, multiply, divide: float64 then fround is correctly rounded for fp32 operands. */
export function addF32(a: number, b: number): number {
  return Math.fround(a + b);
}
export function mulF32(a: number, b: number): number {
  return Math.fround(a * b);
}
export function divF32(a: number, b: number): number {
  return Math.fround(a / b);
}
