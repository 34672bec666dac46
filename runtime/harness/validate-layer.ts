// Value checks every layer passes before a kernel sees it, the same for `run` (a user's logical file)
// and `pack` (export/pack/verify.ts calls this; test/runtime/harness/validate-layer.test.ts checks the
// two commands agree): codes in range, scales finite and ≥ 0 (NaN-free fp8 codes), a finite per-tensor
// scale > 0, finite low-rank weights, lora_scales, bias, and non-zero finite smoothing (the activation
// kernel divides by it: a 0 makes every output NaN). Each failure is a UserError naming the source, the
// tensor, the element, the value and the rule.
import { UserError } from '../../dsl/errors.js';
import { MAX_RANK } from '../../dsl/lowrank.js';
import type { Dtype16 } from '../../dsl/types.js';
import { fromBits16 } from '../../numerics/float16.js';
import { UE4M3_NAN, UE8M0_NAN } from '../../numerics/fp8.js';
import type { LogicalLayer } from '../../numerics/logical.js';

const at = (i: number, cols: number): string => (cols > 0 ? `[${Math.floor(i / cols)},${i % cols}]` : `[${i}]`);

/** `source` is what the user named: `file.safetensors: tensor 'smooth'` or `tensor 'blocks.0.smooth'`. */
export function validateLayerValues(l: LogicalLayer, tensorName: (t: string) => string): void {
  const bad = (tensor: string, i: number, cols: number, value: string, rule: string): never => {
    throw new UserError(`${tensorName(tensor)} element ${at(i, cols)} = ${value}: ${rule}`);
  };
  const check16 = (tensor: string, a: Uint16Array | undefined, cols: number, dtype: Dtype16, rule: 'finite' | 'nonzero' | 'nonneg'): void => {
    if (!a) return;
    for (let i = 0; i < a.length; i++) {
      const v = fromBits16(a[i], dtype);
      if (!Number.isFinite(v)) bad(tensor, i, cols, String(v), `must be finite (${dtype})`);
      if (rule === 'nonzero' && v === 0) bad(tensor, i, cols, '0', 'smoothing factors divide the input and must be non-zero');
      if (rule === 'nonneg' && v < 0) bad(tensor, i, cols, String(v), 'quantization scales must be >= 0');
    }
  };
  const { K, format, dtype } = l;
  if (!Number.isInteger(l.rank) || l.rank < 0 || l.rank > MAX_RANK) {
    throw new UserError(`${tensorName('lora_down')}: rank ${l.rank} is out of range; allowed: 0 ≤ rank ≤ ${MAX_RANK}`);
  }
  const q = l.qweight;
  const [lo, hi, what] = format.kind === 'int4' ? [-8, 7, 's4 codes are -8..7'] : [0, 15, 'e2m1 codes are 0..15'];
  for (let i = 0; i < q.length; i++) if (q[i] < lo || q[i] > hi) bad('qweight', i, K, String(q[i]), what);
  const groups = K / format.group;
  if (format.kind === 'int4') {
    check16('wscales', l.wscales as Uint16Array, groups, format.scaleDtype, 'nonneg');
  } else {
    const s = l.wscales as Uint8Array;
    for (let i = 0; i < s.length; i++) {
      if (format.kind === 'nvfp4' && (s[i] & 0x80) !== 0) bad('wscales', i, groups, `0x${s[i].toString(16)}`, 'ue4m3 scales have no sign bit (bit 7 must be 0)');
      if (format.kind === 'nvfp4' && s[i] === UE4M3_NAN) bad('wscales', i, groups, '0x7f', 'ue4m3 0x7f is NaN');
      if (format.kind === 'mxfp4' && s[i] === UE8M0_NAN) bad('wscales', i, groups, '0xff', 'ue8m0 0xff is NaN');
    }
  }
  if (!Number.isFinite(l.wtensorScale) || l.wtensorScale <= 0) {
    throw new UserError(`${tensorName('wtensor_scale')} = ${l.wtensorScale}: the per-tensor scale must be finite and > 0`);
  }
  check16('lora_down', l.loraDown, K, dtype, 'finite');
  check16('lora_up', l.loraUp, l.rank, dtype, 'finite');
  if (l.loraScales) {
    for (let i = 0; i < l.loraScales.length; i++) if (!Number.isFinite(l.loraScales[i])) bad('lora_scales', i, 0, String(l.loraScales[i]), 'must be finite');
  }
  check16('smooth', l.smooth, 0, dtype, 'nonzero');
  check16('bias', l.bias, 0, dtype, 'finite');
}

/** Float weights `run` quantizes itself must be finite (a NaN or Inf would poison a whole group's scale). */
export function validateFloatWeights(w: Float64Array, K: number, tensorName: string): void {
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i])) throw new UserError(`${tensorName} element ${at(i, K)} = ${w[i]}: must be finite`);
  }
}

/**
 * An --act-config must describe the file's layer (format, activation, dtype, rank) as --config must:
 * otherwise `run` would silently run a different kernel than the one named.
 */
export function actConfigProblems(act: { format: unknown; activation: unknown; dtype: string; lowRank: { rank: number } }, spec: { format: unknown; activation: unknown; dtype: string; lowRank: { rank: number } }): string[] {
  const p: string[] = [];
  if (act.dtype !== spec.dtype) p.push(`dtype ${act.dtype} but the layer is ${spec.dtype}`);
  if (JSON.stringify(act.format) !== JSON.stringify(spec.format)) p.push(`format ${JSON.stringify(act.format)} but the layer is ${JSON.stringify(spec.format)}`);
  if (act.lowRank.rank !== spec.lowRank.rank) p.push(`rank ${act.lowRank.rank} but the layer's rank is ${spec.lowRank.rank}`);
  if (JSON.stringify(act.activation) !== JSON.stringify(spec.activation)) p.push(`activation ${JSON.stringify(act.activation)} but the layer's is ${JSON.stringify(spec.activation)}`);
  return p;
}
