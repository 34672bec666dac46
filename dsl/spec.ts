// KernelSpec: the builder users write (`layer({...})`) and the validator every other stage trusts
// (`validateSpec(unknown)`). Errors name the exact field path, the value and what is allowed.
import { SpecError } from './errors.js';
import { normalizeEpilogue, type EpilogueInput } from './epilogue.js';
import { validateEpilogue } from './epilogue.js';
import { DTYPES16, formatByKind, rejectUnknownKeys, signedActivation, unsignedActivation, validateActivation, validateFormat, withLayerScale } from './formats.js';
import { DEFAULT_RANK, validateLowRank } from './lowrank.js';
import type { ActivationCoding, Dtype16, FormatKind, KernelSpec, LowRank, QuantFormat } from './types.js';

export const SPEC_FIELDS = ['label', 'format', 'activation', 'dtype', 'lowRank', 'epilogue'] as const;

/** What a user writes; everything but nothing is required. Defaults are listed per field. */
export interface LayerInput {
  label?: string;
  /** Default int4 (group 64) with scales in `dtype`; a kind name picks that format's defaults. */
  format?: QuantFormat | FormatKind;
  /** Default 'signed'. 'unsigned' = u4 + GELU_SHIFT (a layer fed by gelu → qnext, int4 only). */
  activation?: ActivationCoding | 'signed' | 'unsigned';
  /** Default 'bf16'. */
  dtype?: Dtype16;
  /** Default 32 (Nunchaku's shipped rank). A number or { rank }. */
  lowRank?: LowRank | number;
  /** Default ['bias', 'lowrank'] (['bias'] when rank is 0). */
  epilogue?: EpilogueInput[];
}

/** Builds and validates one layer's KernelSpec; throws SpecError naming the offending field. */
export function layer(input: LayerInput): KernelSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SpecError('spec', input, `must be an object with optional fields ${SPEC_FIELDS.join(', ')}`);
  }
  rejectUnknownKeys(input as Record<string, unknown>, SPEC_FIELDS, '');
  rejectNulls(input as Record<string, unknown>, '');
  const dtype = input.dtype ?? 'bf16';
  if (!DTYPES16.includes(dtype)) throw new SpecError('dtype', dtype, 'is not a 16-bit dtype; allowed: fp16, bf16');
  const format = typeof input.format === 'string' ? formatByKind(input.format, dtype) : withLayerScale(input.format ?? formatByKind('int4', dtype), dtype);
  const activation =
    input.activation === 'signed' || input.activation === undefined
      ? signedActivation()
      : input.activation === 'unsigned'
        ? unsignedActivation()
        : input.activation;
  const lowRank = typeof input.lowRank === 'number' ? { rank: input.lowRank } : (input.lowRank ?? { rank: DEFAULT_RANK });
  const rank = typeof lowRank === 'object' && lowRank !== null && typeof lowRank.rank === 'number' ? lowRank.rank : 0; // validated below
  const epilogue = normalizeEpilogue(input.epilogue ?? (rank > 0 ? ['bias', 'lowrank'] : ['bias']), 'epilogue', dtype);
  const spec: Record<string, unknown> = { format, activation, dtype, lowRank, epilogue };
  if (input.label !== undefined) spec.label = input.label;
  return validateSpec(spec);
}

/** `null` is not "omitted": a field written as null is a mistake, not a request for the default. */
export function rejectNulls(o: Record<string, unknown>, field: string): void {
  for (const [k, v] of Object.entries(o)) {
    if (v === null) throw new SpecError(field ? `${field}.${k}` : k, null, 'is null; omit the field to get its default');
  }
}

/** Alias of `layer` for files that describe one kernel pair. */
export const defineKernel = layer;

/** Several layers at once, e.g. `export default layers({ qkv: {...}, fc1: {...} })`; labels default to the keys. */
export function layers(inputs: Record<string, LayerInput>): KernelSpec[] {
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new SpecError('layers', inputs, 'must be an object of named layers, e.g. layers({ qkv: {...}, fc1: {...} })');
  }
  return Object.entries(inputs).map(([name, input]) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SpecError(name, input, 'must be a layer object');
    try {
      return layer({ label: name, ...input });
    } catch (e) {
      // Prefix the key so the error (and load.ts's file:line search) names the right layer.
      if (e instanceof SpecError && !e.location) throw new SpecError(`${name}.${e.field}`, e.value, e.allowed);
      throw e;
    }
  });
}

/** Checks any value (JSON, a user's export, a decoded URI) and returns a canonical KernelSpec. */
export function validateSpec(v: unknown, field = ''): KernelSpec {
  const at = (f: string) => (field ? `${field}.${f}` : f);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SpecError(field || 'spec', v, `must be an object with fields ${SPEC_FIELDS.join(', ')}`);
  }
  const o = v as Record<string, unknown>;
  rejectUnknownKeys(o, SPEC_FIELDS, field);
  if (o.label !== undefined && typeof o.label !== 'string') throw new SpecError(at('label'), o.label, 'must be a string');
  if (!DTYPES16.includes(o.dtype as Dtype16)) throw new SpecError(at('dtype'), o.dtype, 'is not a 16-bit dtype; allowed: fp16, bf16');
  const dtype = o.dtype as Dtype16;
  const format = validateFormat(o.format, at('format'));
  const activation = validateActivation(o.activation, at('activation'), format, dtype);
  const lowRank = validateLowRank(o.lowRank, at('lowRank'));
  const epilogue = validateEpilogue(o.epilogue, at('epilogue'), { rank: lowRank.rank, dtype });
  const spec: KernelSpec = { format, activation, dtype, lowRank, epilogue };
  if (typeof o.label === 'string') spec.label = o.label;
  return spec;
}

/** True when two specs describe the same kernels (labels are not part of a kernel's identity). */
export function sameKernel(a: KernelSpec, b: KernelSpec): boolean {
  const strip = ({ label: _label, ...rest }: KernelSpec) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}
