// Nunchaku checkpoints as the upstream converter writes them (test/export/pack/upstream-packer.ts, an
// independent re-implementation of DeepCompressor's convert.py + NunchakuWeightPacker): both namings,
// INT4 bf16/fp16 with padding, the u4 fc2 with its shift folded into the bias, NVFP4 with a 16-bit
// wtscale and with per-channel wcscales. Every packed tensor must decode to the known logical values.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors, type StTensorInput } from '../../../codegen/safetensors.js';
import type { LogicalLayer } from '../../../numerics/logical.js';
import { packCheckpoint } from '../../../export/pack/pack.js';
import { verifyRoundTrip } from '../../../export/pack/verify.js';
import { CASES, readPackedLayer, upstreamCase } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-upstream-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function expectSameLayer(got: LogicalLayer, want: LogicalLayer): void {
  expect([got.N, got.K, got.rank, got.dtype]).toEqual([want.N, want.K, want.rank, want.dtype]);
  expect(got.format).toEqual(want.format);
  expect(Math.fround(got.wtensorScale)).toBe(Math.fround(want.wtensorScale));
  const eq = (name: string, a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined) => {
    expect(a === undefined, `${name} presence`).toBe(b === undefined);
    if (a && b) expect(Buffer.compare(Buffer.from(Float64Array.from(a).buffer), Buffer.from(Float64Array.from(b).buffer)), name).toBe(0);
  };
  eq('qweight', got.qweight, want.qweight);
  eq('wscales', got.wscales, want.wscales);
  eq('lora_down', got.loraDown, want.loraDown);
  eq('lora_up', got.loraUp, want.loraUp);
  eq('smooth', got.smooth, want.smooth);
  eq('bias', got.bias, want.bias);
  eq('wcscales', got.channelScales, want.channelScales);
}

describe('pack --from nunchaku on upstream-converter layers', () => {
  for (const c of CASES) {
    it(`${c.name}: every tensor decodes to the known logical values`, async () => {
      const prefix = 'blocks.0.layer';
      const { expected, tensors } = upstreamCase(c, prefix);
      const input = path.join(dir, `${c.seed}.safetensors`);
      await writeSafetensors(input, [...tensors, ['pos_embed', { dtype: 'F16', shape: [2], data: new Uint16Array([1, 2]) }] as [string, StTensorInput]]);
      const output = path.join(dir, `${c.seed}-packed.safetensors`);
      const r = await packCheckpoint({ from: 'nunchaku', input, output, shapes: { [prefix]: { n: c.N, k: c.K } }, model: 'none' });
      expect(r.dropped.map((d) => d.tensor)).toEqual([`${prefix}.${c.naming === 'python' ? 'smooth_factor_orig' : 'smooth_orig'}`]);
      expect(r.passthrough).toEqual(['pos_embed']);
      const { layer, meta } = await readPackedLayer(output, prefix);
      expectSameLayer(layer, expected.layer);
      expect(meta.channel_scale).toBe(c.outer === 'wcscales');
      expect(meta.rank).toBe(c.spec.lowRank.rank);
    });
  }

  it('the round-trip check refuses a layer whose rank, smoothing or scales differ from the input', () => {
    const { expected } = upstreamCase(CASES[4], 'L');
    const l = expected.layer;
    expect(() => verifyRoundTrip('L', l, l)).not.toThrow();
    expect(() => verifyRoundTrip('L', { ...l, rank: 0, loraDown: undefined, loraUp: undefined }, l)).toThrow(/layer 'L' rank differs.*32/);
    const smooth = l.smooth!.slice();
    smooth[7] ^= 1;
    expect(() => verifyRoundTrip('L', { ...l, smooth }, l)).toThrow(/smooth differs .*element 7/);
    expect(() => verifyRoundTrip('L', { ...l, channelScales: undefined }, l)).toThrow(/wcscales differs/);
    const ws = (l.wscales as Uint8Array).slice();
    ws[3] ^= 1;
    expect(() => verifyRoundTrip('L', { ...l, wscales: ws }, l)).toThrow(/wscales differs .*element 3/);
  });
});
