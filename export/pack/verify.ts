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
