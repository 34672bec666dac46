// What `pack` can prove about a layer before it writes it: code ranges, scale ranges (finite,
// non-negative, no NaN codes), finite low-rank weights, bias and smoothing (non-zero, since the
// activation kernel divides by it). Each failure is a UserError naming the tensor, the element, the
// value and the rule.
import { UserError } from '../../dsl/errors.js';
import type { Dtype16 } from '../../dsl/types.js';
import { fromBits16 } from '../../numerics/float16.js';
import { UE4M3_NAN, UE8M0_NAN } from '../../numerics/fp8.js';
import type { LogicalLayer } from '../../numerics/logical.js';

function at(i: number, cols: number): string {
  return cols > 0 ? `[${Math.floor(i / cols)},${i % cols}]` : `[${i}]`;
}
function bad(prefix: string, tensor: string, i: number, cols: number, value: string, rule: string): never {
  throw new UserError(`tensor '${prefix}.${tensor}' element ${at(i, cols)} = ${value}: ${rule}`);
}

function check16(prefix: string, tensor: string, a: Uint16Array | undefined, cols: number, dtype: Dtype16, rule: 'finite' | 'nonzero' | 'nonneg'): void {
  if (!a) return;
  for (let i = 0; i < a.length; i++) {
    const v = fromBits16(a[i], dtype);
    if (!Number.isFinite(v)) bad(prefix, tensor, i, cols, String(v), `must be finite (${dtype})`);
    if (rule === 'nonzero' && v === 0) bad(prefix, tensor, i, cols, '0', 'smoothing factors divide the input and must be non-zero');
    if (rule === 'nonneg' && v < 0) bad(prefix, tensor, i, cols, String(v), 'quantization scales must be >= 0');
  }
}

/** Throws on the first value outside its rule. `prefix` names the layer (tensor names are `prefix.suffix`). */
export function verifyLayer(prefix: string, l: LogicalLayer): void {
  const { K, format, dtype } = l;
  const q = l.qweight;
  const [lo, hi, what] = format.kind === 'int4' ? [-8, 7, 's4 codes are -8..7'] : [0, 15, 'e2m1 codes are 0..15'];
  for (let i = 0; i < q.length; i++) if (q[i] < lo || q[i] > hi) bad(prefix, 'qweight', i, K, String(q[i]), what);
  const groups = K / format.group;
  if (format.kind === 'int4') {
    check16(prefix, 'wscales', l.wscales as Uint16Array, groups, format.scaleDtype, 'nonneg');
  } else {
    const s = l.wscales as Uint8Array;
    for (let i = 0; i < s.length; i++) {
      if (format.kind === 'nvfp4' && (s[i] & 0x80) !== 0) bad(prefix, 'wscales', i, groups, `0x${s[i].toString(16)}`, 'ue4m3 scales have no sign bit (bit 7 must be 0)');
      if (format.kind === 'nvfp4' && s[i] === UE4M3_NAN) bad(prefix, 'wscales', i, groups, '0x7f', 'ue4m3 0x7f is NaN');
      if (format.kind === 'mxfp4' && s[i] === UE8M0_NAN) bad(prefix, 'wscales', i, groups, '0xff', 'ue8m0 0xff is NaN');
    }
  }
  if (!Number.isFinite(l.wtensorScale) || l.wtensorScale <= 0) {
    throw new UserError(`tensor '${prefix}.wtensor_scale' = ${l.wtensorScale}: the per-tensor scale must be finite and > 0`);
  }
  check16(prefix, 'lora_down', l.loraDown, K, dtype, 'finite');
  check16(prefix, 'lora_up', l.loraUp, l.rank, dtype, 'finite');
  if (l.loraScales) {
    for (let i = 0; i < l.loraScales.length; i++) if (!Number.isFinite(l.loraScales[i])) bad(prefix, 'lora_scales', i, 0, String(l.loraScales[i]), 'must be finite');
  }
  check16(prefix, 'smooth', l.smooth, 0, dtype, 'nonzero');
  check16(prefix, 'bias', l.bias, 0, dtype, 'finite');
}

/**
 * pack-verify: the packed layer, decoded back to logical values (codegen/layouts.ts unpackLayer), must
 * equal an independent decode of the input — for Nunchaku layers the upstream-style reading of
 * export/pack/upstream-decode.ts, for logical layers the input tensors themselves. Rank, smoothing,
 * bias, every scale and every code are compared; a difference is a bug in pack, reported with the element.
 */
export function verifyRoundTrip(prefix: string, decoded: LogicalLayer, input: Omit<LogicalLayer, 'format'>): void {
  const differ = (what: string, detail: string): never => {
    throw new Error(`pack-verify: layer '${prefix}' ${what} differs from the input's (${detail}); the packed layer would not compute the input layer — this is a bug in pack`);
  };
  if (decoded.N !== input.N || decoded.K !== input.K) differ('shape', `${decoded.N}x${decoded.K} vs ${input.N}x${input.K}`);
  if (decoded.rank !== input.rank) differ('rank', `${decoded.rank} vs ${input.rank}`);
  if (Math.fround(decoded.wtensorScale) !== Math.fround(input.wtensorScale)) differ('per-tensor scale', `${decoded.wtensorScale} vs ${input.wtensorScale}`);
  const same = (what: string, a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined, fill?: number) => {
    if (!a && !b) return;
    const n = (a ?? b)!.length;
    if ((a && b && a.length !== b.length) || (!a && fill === undefined) || (!b && fill === undefined)) differ(what, `${a ? a.length : 'absent'} vs ${b ? b.length : 'absent'} values`);
    for (let i = 0; i < n; i++) {
      const x = a ? a[i] : fill!;
      const y = b ? b[i] : fill!;
      if (x !== y) differ(what, `element ${i}: ${x} vs ${y}`);
    }
  };
  same('qweight', decoded.qweight, input.qweight);
  same('wscales', decoded.wscales, input.wscales);
  same('lora_down', decoded.loraDown, input.loraDown);
  same('lora_up', decoded.loraUp, input.loraUp);
  same('smooth', decoded.smooth, input.smooth);
  same('bias', decoded.bias, input.bias);
  const one = decoded.dtype === 'fp16' ? 0x3c00 : 0x3f80; // absent per-channel scales mean 1.0
  same('wcscales', decoded.channelScales, input.channelScales, one);
}
