// Shared by the export tests: the small kernel set (one spec, two GEMM tiles), a checkpoint packed by
// `pack` with its adapter, inputs, and the comparison of a consumer's Y with the reference.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { packLoraDown, packLoraUp } from '../../codegen/layouts.js';
import { packCheckpoint } from '../../export/pack/pack.js';
import type { GemmTile, KernelSpec } from '../../dsl/types.js';
import { fromBits16 } from '../../numerics/float16.js';
import { kernelPrecisionLayer } from '../../runtime/reference/layer.js';
import type { LogicalLayer } from '../../numerics/logical.js';
import { createRng, randomBits16 } from '../../runtime/reference/random.js';
import { makeLayer, writeLogicalCheckpoint } from './fixtures.js';

export const SPEC: KernelSpec = {
  format: { kind: 'int4', group: 64, scaleDtype: 'bf16' },
  activation: { unsigned: false, shift: 0 },
  dtype: 'bf16',
  lowRank: { rank: 32 },
  epilogue: [{ op: 'bias' }, { op: 'lowrank' }],
};
export const SMALL_TILE: GemmTile = { blockM: 64, blockN: 64, blockK: 64, warpsM: 2, warpsN: 2, stages: 2, staging: 'reg', accum: 'f32' };

export interface Checkpoint {
  file: string;
  /** rank 32: the kernels' rank. */
  q: LogicalLayer;
  /** rank 16: padded to the kernel's 32 by the library; the adapter fills the rest. */
  k: LogicalLayer;
  adapter: { rank: number; down: Uint16Array; up: Uint16Array };
}

/** A logical checkpoint packed by `pack`, with a rank-16 adapter for `k` stored beside it. */
export async function makeCheckpoint(dir: string): Promise<Checkpoint> {
  const q = makeLayer({ N: 64, K: 128, rank: 32, format: SPEC.format, dtype: 'bf16', seed: 11 });
  const k = makeLayer({ N: 48, K: 128, rank: 16, format: SPEC.format, dtype: 'bf16', seed: 12 });
  const rng = createRng(13);
  const adapter = { rank: 16, down: randomBits16(rng, 16 * 128, 'bf16', 0.1), up: randomBits16(rng, 48 * 16, 'bf16', 0.1) };
  const logical = path.join(dir, 'logical.safetensors');
  await writeLogicalCheckpoint(logical, { 'blocks.0.attn.to_q': q, 'blocks.0.attn.to_k': k }, [
    ['adapters.style.lora_down', { dtype: 'BF16', shape: [16, 128], data: packLoraDown(adapter.down, 16, 128) }],
    ['adapters.style.lora_up', { dtype: 'BF16', shape: [48, 16], data: packLoraUp(adapter.up, 48, 16) }],
  ]);
  const file = path.join(dir, 'packed.safetensors');
  await packCheckpoint({ from: 'logical', input: logical, output: file });
  return { file, q, k, adapter };
}

/** The layer with the adapter appended after its own ranks, the appended groups scaled by `scale`. */
export function withAdapter(l: LogicalLayer, a: Checkpoint['adapter'], scale: number): LogicalLayer {
  const R = l.rank + a.rank;
  const down = new Uint16Array(R * l.K);
  down.set(l.loraDown!);
  down.set(a.down, l.rank * l.K);
  const up = new Uint16Array(l.N * R);
  for (let n = 0; n < l.N; n++) {
    up.set(l.loraUp!.subarray(n * l.rank, (n + 1) * l.rank), n * R);
    up.set(a.up.subarray(n * a.rank, (n + 1) * a.rank), n * R + l.rank);
  }
  const scales = Float32Array.from([...l.loraScales!, ...new Array(a.rank / 16).fill(scale)]);
  return { ...l, rank: R, loraDown: down, loraUp: up, loraScales: scales };
}

export async function writeInput(file: string, M: number, K: number, seed: number): Promise<Uint16Array> {
  const x = randomBits16(createRng(seed), M * K, 'bf16', 1);
  await fs.writeFile(file, x);
  return x;
}

export function referenceY(l: LogicalLayer, M: number, x: Uint16Array): Uint16Array {
  return kernelPrecisionLayer({ layer: l, M, x }, { ...SPEC, lowRank: { rank: l.rank } }).y;
}

/**
 * Y within the kernels' stated tolerance of the reference (docs/numerics.md): a 16-bit rounding step
 * plus fp32 summation-order differences, bounded by 2^-12 of the largest output.
 */
export function compareY(got: Uint16Array, want: Uint16Array): { maxErr: number; tol: number; bitExact: number } {
  const g = Array.from(got, (b) => fromBits16(b, 'bf16'));
  const w = Array.from(want, (b) => fromBits16(b, 'bf16'));
  const scale = Math.max(...w.map(Math.abs));
  const tol = 2 ** -7 * scale;
  let maxErr = 0;
  let same = 0;
  for (let i = 0; i < w.length; i++) {
    const e = Math.abs(g[i] - w[i]);
    if (!(e <= 2 * 2 ** -7 * Math.abs(w[i]) + 2 ** -12 * scale)) maxErr = Math.max(maxErr, Number.isNaN(e) ? Infinity : e);
    if (got[i] === want[i]) same++;
  }
  return { maxErr, tol, bitExact: same / w.length };
}
