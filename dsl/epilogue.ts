// The GEMM epilogue chain: builders and order validation. The order is fixed by the data flow
// (nunchaku-kernels.md §3.5): bias → lowrank (+ (X·L1)·L2) → one activation (silu | gelu, tanh form)
// → qnext (quantize the output for the next layer, optionally with that layer's low-rank down).
import { SpecError } from './errors.js';
import { GELU_SHIFT, rejectUnknownKeys, signedActivation, unsignedActivation, validateActivation, validateFormat, withLayerScale } from './formats.js';
import { validateLowRank, validateRank } from './lowrank.js';
import type { ActivationCoding, Dtype16, EpilogueName, EpilogueOp, LowRank, QuantFormat } from './types.js';

export const EPILOGUE_NAMES: readonly EpilogueName[] = ['cscale', 'bias', 'lowrank', 'silu', 'gelu', 'qnext'];
/** Position of each step in the only allowed order (cscale: Nunchaku's NVFP4 per-channel wcscales, before bias). */
const STAGE: Record<EpilogueName, number> = { cscale: -0.5, bias: 0, lowrank: 1, silu: 2, gelu: 2, qnext: 3 };
export const EPILOGUE_ORDER_TEXT = 'cscale → bias → lowrank → (silu | gelu) → qnext, each at most once';

/** What a user may write for qnext: everything but the format has a default. */
export interface QnextInput {
  op: 'qnext';
  format: QuantFormat;
  /** Default: u4 + GELU_SHIFT for int4 after gelu (Nunchaku's fc1 → fc2 path), signed otherwise. */
  activation?: ActivationCoding;
  /** The next layer's low-rank down projection; a rank or { rank }. Default 0 (none). */
  lowRankDown?: LowRank | number;
  /** Also write the 16-bit output. Default false. */
  keepOutput?: boolean;
}
export type EpilogueInput = EpilogueOp | QnextInput | Exclude<EpilogueName, 'qnext'>;

export const bias = (): EpilogueOp => ({ op: 'bias' });
export const channelScale = (): EpilogueOp => ({ op: 'cscale' });
export const lowrankUp = (): EpilogueOp => ({ op: 'lowrank' });
export const silu = (): EpilogueOp => ({ op: 'silu' });
export const gelu = (): EpilogueOp => ({ op: 'gelu' });
export function qnext(opts: Omit<QnextInput, 'op'>): QnextInput {
  return { op: 'qnext', ...opts };
}

/** Minimum of an activation function over the reals, found numerically (golden-section on [-3, 0]). */
function minimumOf(f: (x: number) => number): number {
  let a = -3;
  let b = 0;
  const r = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 200; i++) {
    const c = b - r * (b - a);
    const d = a + r * (b - a);
    if (f(c) < f(d)) b = d;
    else a = c;
  }
  return f((a + b) / 2);
}
export const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
export const siluF = (x: number): number => x / (1 + Math.exp(-x));
/** Most negative outputs: an unsigned (u4) qnext needs shift ≥ −min so no code clips below 0. */
export const GELU_MIN = minimumOf(geluTanh); // ≈ −0.170041
export const SILU_MIN = minimumOf(siluF); // ≈ −0.278465

/** Turns builder input (strings, optional qnext fields) into canonical ops; no order checks here. */
export function normalizeEpilogue(inputs: readonly EpilogueInput[], field = 'epilogue', dtype?: Dtype16): unknown[] {
  if (!Array.isArray(inputs)) return inputs as unknown as unknown[];
  const hasGelu = inputs.some((e) => e === 'gelu' || (typeof e === 'object' && e !== null && e.op === 'gelu'));
  return inputs.map((e, i) => {
    if (typeof e === 'string') return (EPILOGUE_NAMES as readonly string[]).includes(e) && e !== 'qnext' ? { op: e } : e;
    if (typeof e !== 'object' || e === null || e.op !== 'qnext') return e;
    const q = e as QnextInput;
    for (const k of ['activation', 'lowRankDown', 'keepOutput'] as const) {
      if ((q as unknown as Record<string, unknown>)[k] === null) throw new SpecError(`${field}[${i}].${k}`, null, 'is null; omit the field to get its default');
    }
    const fmt = dtype ? withLayerScale(q.format, dtype) : q.format;
    const activation =
      q.activation ?? (fmt && fmt.kind === 'int4' && hasGelu ? unsignedActivation(GELU_SHIFT) : signedActivation());
    const down = q.lowRankDown ?? 0;
    const lowRankDown = typeof down === 'number' ? { rank: validateRank(down, `${field}[${i}].lowRankDown`) } : down;
    return { ...q, format: fmt, activation, lowRankDown, keepOutput: q.keepOutput ?? false };
  });
}

/** Validates a canonical chain; `rank` is the layer's own low-rank rank, `dtype` its 16-bit dtype. */
export function validateEpilogue(v: unknown, field: string, ctx: { rank: number; dtype: Dtype16 }): EpilogueOp[] {
  if (!Array.isArray(v)) throw new SpecError(field, v, `must be an array of steps in the order ${EPILOGUE_ORDER_TEXT}`);
  const out: EpilogueOp[] = [];
  let last = -1;
  let lastName = '';
  let activationFn: 'silu' | 'gelu' | undefined;
  v.forEach((raw, i) => {
    const f = `${field}[${i}]`;
    const step = typeof raw === 'string' ? { op: raw } : raw;
    if (typeof step !== 'object' || step === null) throw new SpecError(f, raw, `must be an epilogue step; allowed: ${EPILOGUE_NAMES.join(', ')}`);
    const op = (step as { op?: unknown }).op as EpilogueName;
    if (!EPILOGUE_NAMES.includes(op)) throw new SpecError(`${f}.op`, op, `is not an epilogue step; allowed: ${EPILOGUE_NAMES.join(', ')}`);
    if (STAGE[op] <= last) {
      const why = STAGE[op] === last ? (op === lastName ? 'appears twice' : `cannot follow ${lastName}`) : `cannot come after ${lastName}`;
      throw new SpecError(`${f}.op`, op, `${why}; allowed order: ${EPILOGUE_ORDER_TEXT}`);
    }
    last = STAGE[op];
    lastName = op;
    if (op !== 'qnext') {
      rejectUnknownKeys(step as Record<string, unknown>, ['op'], f);
      if (op === 'lowrank' && ctx.rank === 0) {
        throw new SpecError(`${f}.op`, op, 'needs lowRank.rank > 0 (the layer has no low-rank branch); remove it or set a rank');
      }
      if (op === 'silu' || op === 'gelu') activationFn = op;
      out.push({ op } as EpilogueOp);
      return;
    }
    const q = step as Record<string, unknown>;
    rejectUnknownKeys(q, ['op', 'format', 'activation', 'lowRankDown', 'keepOutput'], f);
    const format = validateFormat(q.format, `${f}.format`);
    const activation = validateActivation(q.activation, `${f}.activation`, format, ctx.dtype);
    if (activation.unsigned) {
      const min = activationFn === 'gelu' ? GELU_MIN : activationFn === 'silu' ? SILU_MIN : undefined;
      if (min === undefined) {
        throw new SpecError(`${f}.activation.unsigned`, true, 'needs a gelu or silu step before qnext (u4 codes cannot hold negative outputs); use signed codes');
      }
      if (activation.shift < -min) {
        throw new SpecError(`${f}.activation.shift`, activation.shift, `is below ${(-min).toFixed(6)}, so negative ${activationFn} outputs would clip at code 0; allowed: shift ≥ ${(-min).toFixed(6)}`);
      }
    }
    const lowRankDown = validateLowRank(q.lowRankDown, `${f}.lowRankDown`);
    if (typeof q.keepOutput !== 'boolean') throw new SpecError(`${f}.keepOutput`, q.keepOutput, 'must be true or false');
    out.push({ op: 'qnext', format, activation, lowRankDown, keepOutput: q.keepOutput });
  });
  const missing = ctx.rank > 0 && !out.some((e) => e.op === 'lowrank');
  if (missing) {
    throw new SpecError(field, v.map((e) => (typeof e === 'object' && e !== null ? (e as { op: unknown }).op : e)), `has no 'lowrank' step but lowRank.rank is ${ctx.rank}; add 'lowrank' after bias (the branch is always fused) or set rank 0`);
  }
  return out;
}

export function epilogueNames(chain: readonly EpilogueOp[]): EpilogueName[] {
  return chain.map((e) => e.op);
}
