// 4-bit quantization formats: builders, constants and validation. A format says how codes and scales
// are stored (nunchaku-kernels.md §2, docs/layouts.md); the activation coding says whether a layer's
// input is quantized signed or as u4 with an additive shift (used after GELU, nunchaku-kernels.md §1.3).
import { SpecError } from './errors.js';
import type {
  ActivationCoding,
  Dtype16,
  FormatKind,
  Int4Format,
  Mxfp4Format,
  Nvfp4Format,
  QuantFormat,
} from './types.js';

/** Shift Nunchaku adds to GELU outputs before quantizing them as u4 (nunchaku-kernels.md §1.3, §3.6). */
export const GELU_SHIFT = 0.171875;
/** K of the 4-bit MMA (m16n8k64): every quantized K extent is a multiple of this. */
export const MMA_K = 64;
export const FORMAT_KINDS: readonly FormatKind[] = ['int4', 'nvfp4', 'mxfp4'];
export const INT4_GROUPS: readonly Int4Format['group'][] = [32, 64, 128];
export const DTYPES16: readonly Dtype16[] = ['fp16', 'bf16'];
/** Magnitudes an e2m1 code can hold (sign in bit 3); ptx-fragments.md §4.6. */
export const E2M1_MAGNITUDES: readonly number[] = [0, 0.5, 1, 1.5, 2, 3, 4, 6];

/** Marks an int4() whose scale dtype was not given: layer() then uses the layer's dtype. */
const SCALE_FOLLOWS_LAYER = Symbol.for('svdq-codegen.int4.scaleFollowsLayer');

/**
 * INT4 (s4 weights; s4 or u4 activations), group 64 by default. Scales are fp16 or bf16; when not
 * given they follow the layer's dtype inside layer()/qnext(), and are bf16 elsewhere.
 */
export function int4(opts: { group?: number; scaleDtype?: Dtype16 } = {}): Int4Format {
  const f = validateFormat({ kind: 'int4', group: opts.group ?? 64, scaleDtype: opts.scaleDtype ?? 'bf16' }, 'format') as Int4Format;
  if (opts.scaleDtype === undefined) Object.defineProperty(f, SCALE_FOLLOWS_LAYER, { value: true, enumerable: false });
  return f;
}

/** Resolves int4()'s unspecified scale dtype to the layer's dtype; other formats pass through. */
export function withLayerScale<T>(format: T, dtype: Dtype16): T {
  if (typeof format === 'object' && format !== null && (format as Record<symbol, unknown>)[SCALE_FOLLOWS_LAYER] === true) {
    return { ...format, scaleDtype: dtype };
  }
  return format;
}
/** NVFP4: e2m1 codes, groups of 16, ue4m3 micro-scales, plus one fp32 per-tensor scale at run time. */
export function nvfp4(): Nvfp4Format {
  return { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' };
}
/** MXFP4 (OCP microscaling): e2m1 codes, groups of 32, ue8m0 (power-of-two) scales. */
export function mxfp4(): Mxfp4Format {
  return { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' };
}

/** A format by name with defaults: 'int4' takes `int4Scale` as its scale dtype. */
export function formatByKind(kind: FormatKind, int4Scale: Dtype16 = 'bf16'): QuantFormat {
  if (kind === 'int4') return int4({ scaleDtype: int4Scale });
  if (kind === 'nvfp4') return nvfp4();
  if (kind === 'mxfp4') return mxfp4();
  throw new SpecError('format', kind, `is not a format; allowed: ${FORMAT_KINDS.join(', ')}`);
}

/** Signed codes, no shift (every format). */
export function signedActivation(): ActivationCoding {
  return { unsigned: false, shift: 0 };
}
/** u4 codes after adding `shift` (INT4 only); Nunchaku's post-GELU coding by default. */
export function unsignedActivation(shift: number = GELU_SHIFT): ActivationCoding {
  return { unsigned: true, shift };
}

/** Short stable name, e.g. 'int4g64' (scale dtype omitted: it follows from the kind or the layer). */
export function formatName(f: QuantFormat): string {
  return `${f.kind}g${f.group}`;
}

/** Largest code magnitude the quantizer maps amax to: 7 (s4), 15 (u4), 6 (e2m1). */
export function codeMax(f: QuantFormat, unsigned: boolean): number {
  if (f.kind === 'int4') return unsigned ? 15 : 7;
  return 6;
}

/** Bytes of codes plus scales per quantized element (weights or activations), for traffic models. */
export function bytesPerElement(f: QuantFormat): number {
  const scaleBytes = f.kind === 'int4' ? 2 : 1;
  return 0.5 + scaleBytes / f.group;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function rejectUnknownKeys(v: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key)) {
      throw new SpecError(field ? `${field}.${key}` : key, v[key], `is not a known field; allowed fields: ${allowed.join(', ')}`);
    }
  }
}

/** Checks a format object (from JSON or a builder) and returns it; errors name `field`.sub-field. */
export function validateFormat(v: unknown, field: string): QuantFormat {
  if (typeof v === 'string') {
    throw new SpecError(field, v, `must be a format object; write int4(), nvfp4() or mxfp4() (allowed kinds: ${FORMAT_KINDS.join(', ')})`);
  }
  if (!isObject(v)) throw new SpecError(field, v, `must be a format object { kind, group, scaleDtype }`);
  if (!FORMAT_KINDS.includes(v.kind as FormatKind)) {
    throw new SpecError(`${field}.kind`, v.kind, `is not a format; allowed: ${FORMAT_KINDS.join(', ')}`);
  }
  rejectUnknownKeys(v, ['kind', 'group', 'scaleDtype'], field);
  if (v.kind === 'int4') {
    if (!INT4_GROUPS.includes(v.group as Int4Format['group'])) {
      throw new SpecError(`${field}.group`, v.group, `is not an int4 group size; allowed: ${INT4_GROUPS.join(', ')}`);
    }
    if (!DTYPES16.includes(v.scaleDtype as Dtype16)) {
      throw new SpecError(`${field}.scaleDtype`, v.scaleDtype, `is not an int4 scale dtype; allowed: fp16, bf16`);
    }
    return { kind: 'int4', group: v.group as Int4Format['group'], scaleDtype: v.scaleDtype as Dtype16 };
  }
  const fixed = v.kind === 'nvfp4' ? nvfp4() : mxfp4();
  if (v.group !== fixed.group) {
    throw new SpecError(`${field}.group`, v.group, `is not allowed for ${fixed.kind}; allowed: ${fixed.group}`);
  }
  if (v.scaleDtype !== fixed.scaleDtype) {
    throw new SpecError(`${field}.scaleDtype`, v.scaleDtype, `is not allowed for ${fixed.kind}; allowed: ${fixed.scaleDtype}`);
  }
  return fixed;
}

/** True when x is exactly representable in the 16-bit dtype (finite, no rounding). */
export function exactIn(dtype: Dtype16, x: number): boolean {
  if (!Number.isFinite(x)) return false;
  if (x === 0) return true;
  const bits = dtype === 'fp16' ? 11 : 8; // significand bits incl. the implicit one
  const minExp = dtype === 'fp16' ? -14 : -126;
  const maxFinite = dtype === 'fp16' ? 65504 : 3.3895313892515355e38;
  const a = Math.abs(x);
  if (a > maxFinite) return false;
  const e = Math.max(Math.floor(Math.log2(a)), minExp);
  const ulp = 2 ** (e - (bits - 1));
  return Number.isInteger(a / ulp);
}

/** Checks an activation coding against its format; `dtype` is where the shift is added (a half2 add). */
export function validateActivation(v: unknown, field: string, format: QuantFormat, dtype: Dtype16): ActivationCoding {
  if (!isObject(v)) throw new SpecError(field, v, 'must be { unsigned: boolean, shift: number }');
  rejectUnknownKeys(v, ['unsigned', 'shift'], field);
  if (typeof v.unsigned !== 'boolean') throw new SpecError(`${field}.unsigned`, v.unsigned, 'must be true or false');
  if (typeof v.shift !== 'number' || !Number.isFinite(v.shift)) {
    throw new SpecError(`${field}.shift`, v.shift, 'must be a finite number');
  }
  if (v.unsigned && format.kind !== 'int4') {
    throw new SpecError(`${field}.unsigned`, true, `is only allowed for int4 (u4 codes); ${format.kind} codes are signed e2m1`);
  }
  if (!v.unsigned && v.shift !== 0) {
    throw new SpecError(`${field}.shift`, v.shift, 'must be 0 for signed codes; a shift exists only with unsigned: true (u4)');
  }
  if (v.unsigned && (v.shift < 0 || v.shift > 1)) {
    throw new SpecError(`${field}.shift`, v.shift, `is out of range; allowed: 0 ≤ shift ≤ 1 (Nunchaku uses ${GELU_SHIFT} after GELU)`);
  }
  if (!exactIn(dtype, v.shift)) {
    throw new SpecError(`${field}.shift`, v.shift, `is not exactly representable in ${dtype}; the kernel adds it in ${dtype}`);
  }
  return { unsigned: v.unsigned, shift: v.shift + 0 }; // -0 → 0 (JSON round trip)
}
