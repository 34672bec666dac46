// Kernel outputs against the references (docs/numerics.md "Tolerances"): activation codes and scales
// bit-identical; X·L1 and Y within a bound made of one unit in the last place of the stored value
// plus a small multiple of Σ|terms| (PTX leaves the 16-bit MMA's summation order open; f16 cross-group
// accumulation gets a looser multiple); qnext codes bit-identical when recomputed from the kernel's own
// Y; the next layer's X·L1 against the layer recomputed from the kernel's own X·L1, within the Y bound
// propagated through |L1|. The float64 layer's error is reported, never gated.
import type { KernelSpec } from '../../dsl/types.js';
import { fromBits16 } from '../../numerics/float16.js';
import { kernelPrecisionLayer, matmulNT, referenceLayer, type LayerInputs } from '../reference/layer.js';
import { dequantize, quantizeActivations } from '../reference/quantize.js';
import type { LayerRunResult } from './run-layer.js';

export interface Check {
  name: string;
  passed: boolean;
  /** Elements compared and elements outside the bound. */
  count: number;
  mismatches: number;
  /** Largest |Δ| / bound (≤ 1 passes); 0 when bit-identical. */
  worst: number;
  detail: string;
}

export interface Comparison {
  passed: boolean;
  checks: Check[];
  /** ‖y − y64‖ / ‖y64‖ against the float64 layer (reported, not gated). */
  relErrorVsFloat64: number;
  /** Fraction of Y elements bit-identical to the kernel-precision reference. */
  yBitExact: number;
}

function exact(name: string, a: ArrayLike<number>, b: ArrayLike<number>): Check {
  let mismatches = 0;
  let first = -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      mismatches++;
      if (first < 0) first = i;
    }
  }
  if (a.length !== b.length) mismatches += Math.abs(a.length - b.length);
  const detail = mismatches === 0 ? 'bit-identical' : `${mismatches} differ (first at ${first}: kernel ${a[first]}, reference ${b[first]})`;
  return { name, passed: mismatches === 0, count: n, mismatches, worst: mismatches ? Infinity : 0, detail };
}

function bounded(name: string, got: ArrayLike<number>, want: ArrayLike<number>, bound: (i: number) => number): Check {
  let mismatches = 0;
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (d === 0) continue;
    const r = Number.isFinite(d) ? d / bound(i) : Infinity;
    if (!(r <= 1)) mismatches++;
    if (!(r <= worst)) {
      worst = r;
      worstAt = i;
    }
  }
  const detail =
    worstAt < 0 ? 'bit-identical' : `${mismatches} outside the bound; worst at ${worstAt}: kernel ${got[worstAt]}, reference ${want[worstAt]} (${worst.toFixed(3)}× the bound)`;
  return { name, passed: mismatches === 0, count: want.length, mismatches, worst, detail };
}

const ulp16 = (v: number, dtype: KernelSpec['dtype']): number => {
  const a = Math.abs(v);
  const mbits = dtype === 'fp16' ? 10 : 7;
  const emin = dtype === 'fp16' ? -14 : -126;
  const e = a > 0 ? Math.max(Math.floor(Math.log2(a)), emin) : emin;
  return 2 ** (e - mbits);
};

const abs = (v: ArrayLike<number>): Float64Array => Float64Array.from(v, Math.abs);

/** The slices one after another (no spread: outputs reach millions of values). */
export function concat(slices: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(slices.reduce((n, s) => n + s.length, 0));
  let o = 0;
  for (const s of slices) for (let i = 0; i < s.length; i++) out[o++] = s[i];
  return out;
}

/** max |v[i]| by a loop (`Math.max(...v)` overflows the stack on large outputs). */
export function maxAbs(v: ArrayLike<number>, floor = 0): number {
  let m = floor;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > m) m = a;
  }
  return m;
}

/**
 * Bound of the qnext low-rank down `Y·L1ᵀ` per slice (slice s reads Y's columns [s·blockN, (s+1)·blockN)),
 * laid out like the concatenated slices [s][m·R + r] (docs/numerics.md "Tolerances"). The kernel
 * multiplies its own Y, which may differ from the reference's by ΔY: the difference carries
 * Σ_n |ΔY[m,n]|·|L1[r,n]|, with ΔY the measured one when Y is stored and the Y bound otherwise, plus the
 * fp32 summation-order term 2⁻²⁰·Σ_n (|Y[m,n]| + |Y′[m,n]|)·|L1[r,n]| (as for X·L1).
 */
export function nextDownBound(
  yRef: Float64Array,
  yKernel: Float64Array | undefined,
  yBound: (i: number) => number,
  down: Float64Array,
  M: number,
  N: number,
  R: number,
  blockN: number,
): Float64Array {
  const dy = Float64Array.from({ length: M * N }, (_, i) => (yKernel ? Math.abs(yKernel[i] - yRef[i]) : yBound(i)));
  const ay = Float64Array.from({ length: M * N }, (_, i) => Math.abs(yRef[i]) + (yKernel ? Math.abs(yKernel[i]) : yBound(i)));
  const slices = N / blockN;
  const out = new Float64Array(slices * M * R);
  for (let s = 0; s < slices; s++) {
    for (let m = 0; m < M; m++) {
      for (let r = 0; r < R; r++) {
        let flip = 0;
        let order = 0;
        for (let n = s * blockN; n < (s + 1) * blockN; n++) {
          const l = Math.abs(down[r * N + n]);
          flip += dy[m * N + n] * l;
          order += ay[m * N + n] * l;
        }
        out[(s * M + m) * R + r] = flip + 2 ** -20 * order + 2 ** -126;
      }
    }
  }
  return out;
}

/** Compares one run of the layer's kernels with the references. */
export function compareLayer(run: LayerRunResult, inputs: LayerInputs, spec: KernelSpec): Comparison {
  const tile = run.plan.gemm.tile;
  const next = inputs.next ? { ...inputs.next, blockN: inputs.next.blockN ?? tile.blockN } : undefined;
  const inp: LayerInputs = { ...inputs, ...(next ? { next } : {}) };
  const ref = kernelPrecisionLayer(inp, spec, { accum: tile.accum });
  const { M, layer } = inputs;
  const { N, K, rank: R, dtype } = layer;
  const checks: Check[] = [exact('act codes', run.act.codes, ref.act.codes), exact('act scales', run.act.scales, ref.act.scales)];

  const x = Float64Array.from(inputs.x, (b) => fromBits16(b, dtype));
  if (R > 0 && run.loraAct && layer.loraDown) {
    const sumAbs = matmulNT(abs(x), abs(Float64Array.from(layer.loraDown, (b) => fromBits16(b, dtype))), M, R, K);
    checks.push(bounded('X·L1 (fp32)', run.loraAct, ref.loraAct, (i) => 2 ** -20 * sumAbs[i] + 2 ** -126));
  }

  // Σ|terms| of each output: |A|·|W|ᵀ + |X·L1·s|·|L2|ᵀ + |bias|.
  const a = dequantize(ref.act);
  const w = dequantize({ rows: N, K, format: layer.format, unsigned: false, codes: layer.qweight, scales: layer.wscales, tensorScale: layer.wtensorScale });
  const terms = matmulNT(abs(a), abs(w), M, N, K);
  const ops = new Set(spec.epilogue.map((e) => e.op));
  // The low-rank activations are rounded to 16 bits before the up projection (numerics.md epilogue 2):
  // an fp32 X·L1 summed in another order can round one 16-bit step away, moving Y by ulp(a)·|L2|.
  const loTerms = new Float64Array(M * N);
  if (ops.has('lowrank') && R > 0 && layer.loraUp) {
    const lo = matmulNT(abs(ref.loraAct), abs(Float64Array.from(layer.loraUp, (b) => fromBits16(b, dtype))), M, N, R);
    const s = maxAbs(layer.loraScales ?? [], 1);
    for (let i = 0; i < M * N; i++) {
      terms[i] += lo[i] * s;
      loTerms[i] = lo[i] * s;
    }
  }
  const ulpRel16 = 2 ** -(dtype === 'fp16' ? 10 : 7);
  if (ops.has('bias') && layer.bias) for (let i = 0; i < M * N; i++) terms[i] += Math.abs(fromBits16(layer.bias[i % N], dtype));
  const sumFactor = tile.accum === 'f16' ? 2 ** -9 : 2 ** -14;
  const activation = ops.has('gelu') || ops.has('silu');

  const yRef = Float64Array.from(ref.y, (b) => fromBits16(b, dtype));
  // How far a stored Y may legitimately sit from the reference's (also what the next layer's down projection inherits).
  const yBound = (i: number): number => ulp16(yRef[i], dtype) + (activation ? 2 ** -10 * Math.abs(yRef[i]) : 0) + sumFactor * terms[i] + ulpRel16 * loTerms[i];

  let relErrorVsFloat64 = NaN;
  let yBitExact = NaN;
  if (run.y) {
    const got = Float64Array.from(run.y, (b) => fromBits16(b, dtype));
    checks.push(bounded('y', got, yRef, yBound));
    let same = 0;
    for (let i = 0; i < M * N; i++) if (run.y[i] === ref.y[i]) same++;
    yBitExact = same / (M * N);
    const y64 = referenceLayer(inp, spec);
    let num = 0;
    let den = 0;
    for (let i = 0; i < M * N; i++) {
      num += (got[i] - y64[i]) ** 2;
      den += y64[i] ** 2;
    }
    relErrorVsFloat64 = Math.sqrt(num / (den || 1));
  }

  const q = spec.epilogue.find((e) => e.op === 'qnext');
  if (q && q.op === 'qnext' && run.qnext) {
    if (run.y) {
      // The kernel's own stored Y, quantized by the reference, must give its codes exactly.
      const stored = Float64Array.from(run.y, (b) => fromBits16(b, dtype));
      const smooth = next?.smooth ? Float64Array.from(next.smooth, (b) => fromBits16(b, dtype)) : undefined;
      const own = quantizeActivations(stored, M, N, q.format, q.activation, smooth);
      checks.push(exact('qnext codes (of the kernel Y)', run.qnext.codes, own.codes), exact('qnext scales (of the kernel Y)', run.qnext.scales, own.scales));
    } else if (ref.qnext) {
      // Without Y, a code may move by one step where Y sat on a rounding boundary.
      checks.push(bounded('qnext codes', run.qnext.codes, ref.qnext.codes, () => 1));
      const gs = Float64Array.from(run.qnext.scales as Uint16Array, (b) => fromBits16(b, dtype));
      const ws = Float64Array.from(ref.qnext.scales as Uint16Array, (b) => fromBits16(b, dtype));
      checks.push(bounded('qnext scales', gs, ws, (i) => 2 * ulp16(ws[i], dtype)));
    }
    if (run.nextLoraAct && ref.nextLoraAct && next?.loraDown) {
      // The GEMM rounds the act kernel's own X·L1 to 16 bits; a reference given that X·L1 (itself checked
      // above) has no row-wide Y shift from an `a` rounded one step away, so Y's remaining freedom is one
      // final rounding, the activation's SFU tolerance and the summation orders — propagated through |L1|.
      const own = R > 0 && run.loraAct && ops.has('lowrank') ? kernelPrecisionLayer({ ...inp, loraActSlices: [run.loraAct] }, spec, { accum: tile.accum }) : ref;
      const yOwn = Float64Array.from(own.y, (b) => fromBits16(b, dtype));
      const yOwnBound = (i: number): number => ulp16(yOwn[i], dtype) + (activation ? 2 ** -10 * Math.abs(yOwn[i]) : 0) + sumFactor * terms[i];
      const stored = run.y ? Float64Array.from(run.y, (b) => fromBits16(b, dtype)) : undefined;
      const bound = nextDownBound(yOwn, stored, yOwnBound, Float64Array.from(next.loraDown, (b) => fromBits16(b, dtype)), M, N, q.lowRankDown.rank, next.blockN);
      checks.push(bounded('next X·L1 (fp32)', concat(run.nextLoraAct), concat(own.nextLoraAct!), (i) => bound[i]));
    }
  }
  if (run.findings.length > 0) {
    const f = run.findings[0];
    checks.push({ name: 'emulator checker', passed: false, count: run.findings.length, mismatches: run.findings.length, worst: Infinity, detail: `${f.kind} in ${f.kernel}: ${f.message}` });
  }
  return { passed: checks.every((c) => c.passed), checks, relErrorVsFloat64, yBitExact };
}
