// What `pack` can prove about a layer before it writes it: the value rules `run` applies too
// (runtime/harness/validate-layer.ts: code ranges, finite non-negative scales, finite low-rank weights,
// bias and non-zero smoothing), then pack-verify's round trip against an independent decode.
import type { LogicalLayer } from '../../numerics/logical.js';
import { validateLayerValues } from '../../runtime/harness/validate-layer.js';

/** Throws on the first value outside its rule. `prefix` names the layer (tensor names are `prefix.suffix`). */
export function verifyLayer(prefix: string, l: LogicalLayer): void {
  validateLayerValues(l, (t) => `tensor '${prefix}.${t}'`); // the same rules as `run`'s
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
