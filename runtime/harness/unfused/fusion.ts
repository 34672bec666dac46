// What fusing the low-rank branch saves, measured on the emulator for one layer shape. Three variants:
//   fused   — the generated layer with rank r: activation kernel (quantize + X·L1) and GEMM (bias + lowrank)
//   unfused — the same layer generated with rank 0, then the two separate 16-bit kernels of
//             runtime/include/svdq/unfused (lora_down re-reads X; lora_up re-reads and re-writes Y)
//   rank0   — the rank-0 layer alone (no low-rank branch at all): the floor
// The rank-0 layer runs once and serves both `unfused` and `rank0`; its y feeds lora_up, so the unfused
// chain computes the same layer. Every byte below is a per-launch emulator counter; nothing is modelled.
import { defaultTiles } from '../../../codegen/default-tiles.js';
import { layer } from '../../../dsl/spec.js';
import type { Dtype16, KernelSpec, Target } from '../../../dsl/types.js';
import type { EmuCounters } from '../../emu/build.js';
import { toBits16 } from '../../../numerics/float16.js';
import type { LayerInputs } from '../../reference/layer.js';
import type { LogicalLayer } from '../../../numerics/logical.js';
import { createRng, randomBits16 } from '../../reference/random.js';
import { buildLayerHarness, runLayer } from '../run-layer.js';
import type { BuiltHarness } from '../harness.js';
import { buildUnfused, runUnfusedLowRank } from './run-unfused.js';

export interface FusionShape {
  M: number;
  N: number;
  K: number;
  rank: number;
}

/** Global-memory traffic of one launch, from the emulator's counters. */
export interface KernelBytes {
  kernel: string;
  /** Bytes the lanes loaded / stored (Σ access sizes). */
  loadBytes: number;
  storeBytes: number;
  /** 32-byte sectors the warp requests touched, × 32 (what the memory system moves). */
  loadSectorBytes: number;
  storeSectorBytes: number;
}

export interface VariantBytes {
  kernels: KernelBytes[];
  loadBytes: number;
  storeBytes: number;
  /** loadBytes + storeBytes. */
  bytes: number;
  sectorBytes: number;
}

export interface FusionMeasurement {
  shape: FusionShape;
  dtype: Dtype16;
  uris: { fused: { act: string; gemm: string }; rank0: { act: string; gemm: string } };
  fused: VariantBytes;
  unfused: VariantBytes;
  rank0: VariantBytes;
  /** unfused.bytes / fused.bytes. */
  ratio: number;
  /** unfused.bytes − fused.bytes: what fusion saves for this layer at this M. */
  savedBytes: number;
  /** Checker findings over all launches (must be empty). */
  findings: number;
}

export function kernelBytes(kernel: string, c: EmuCounters | undefined): KernelBytes {
  if (!c) throw new Error(`no emulator counters for ${kernel}: the launch did not report`);
  const { load, store } = c.global;
  if (load.sectors === undefined || store.sectors === undefined) throw new Error(`${kernel}: the emulator report has no global sector counts`);
  return { kernel, loadBytes: load.bytes, storeBytes: store.bytes, loadSectorBytes: 32 * load.sectors, storeSectorBytes: 32 * store.sectors };
}

export function variantBytes(kernels: KernelBytes[]): VariantBytes {
  const sum = (f: (k: KernelBytes) => number) => kernels.reduce((s, k) => s + f(k), 0);
  const loadBytes = sum((k) => k.loadBytes);
  const storeBytes = sum((k) => k.storeBytes);
  return { kernels, loadBytes, storeBytes, bytes: loadBytes + storeBytes, sectorBytes: sum((k) => k.loadSectorBytes + k.storeSectorBytes) };
}

/** The layer specs of the comparison: INT4 (or the target's) format with bias + lowrank, and rank 0 with bias. */
export function fusionSpecs(dtype: Dtype16, rank: number): { fused: KernelSpec; rank0: KernelSpec } {
  return {
    fused: layer({ format: 'int4', dtype, lowRank: rank, epilogue: ['bias', 'lowrank'] }),
    rank0: layer({ format: 'int4', dtype, lowRank: 0, epilogue: ['bias'] }),
  };
}

/**
 * Random but well-formed layer inputs of any size, without the SVD of runtime/reference/svdquant.ts
 * (which would take minutes at FLUX sizes): byte counts do not depend on the values.
 */
export function randomLayerInputs(shape: FusionShape, spec: KernelSpec, seed: number): LayerInputs {
  const { M, N, K, rank } = shape;
  const { dtype, format } = spec;
  if (format.kind !== 'int4') throw new Error(`randomLayerInputs: only int4 layers, not ${format.kind}`);
  const rng = createRng(seed);
  const G = format.group;
  const qweight = Int8Array.from({ length: N * K }, () => rng.int(-8, 7));
  const wscales = Uint16Array.from({ length: (N * K) / G }, () => toBits16((0.5 + rng.next()) / (8 * Math.sqrt(K)), format.scaleDtype));
  const l: LogicalLayer = { N, K, format, dtype, qweight, wscales, wtensorScale: 1, rank, bias: randomBits16(rng, N, dtype, 0.1) };
  if (rank > 0) {
    l.loraDown = randomBits16(rng, rank * K, dtype, 1 / Math.sqrt(K));
    l.loraUp = randomBits16(rng, N * rank, dtype, 1 / Math.sqrt(rank));
    l.loraScales = Float32Array.from({ length: rank / 16 }, (_, i) => 1 - 0.25 * (i % 2));
  }
  return { layer: l, M, x: randomBits16(rng, M * K, dtype) };
}

/** Harnesses and driver binaries built once per (dtype, rank) and reused across shapes. */
export interface FusionBuilds {
  target: Target;
  dtype: Dtype16;
  rank: number;
  specs: { fused: KernelSpec; rank0: KernelSpec };
  tiles: { fused: ReturnType<typeof defaultTiles>; rank0: ReturnType<typeof defaultTiles> };
  built: { fused: BuiltHarness; rank0: BuiltHarness };
  unfusedBinary: string;
}

export async function buildFusion(target: Target, dtype: Dtype16, rank: number): Promise<FusionBuilds> {
  const specs = fusionSpecs(dtype, rank);
  const tiles = { fused: defaultTiles(specs.fused, target), rank0: defaultTiles(specs.rank0, target) };
  const [fused, rank0, unfusedBinary] = await Promise.all([
    buildLayerHarness(specs.fused, tiles.fused, target, 'emu'),
    buildLayerHarness(specs.rank0, tiles.rank0, target, 'emu'),
    buildUnfused(rank, dtype),
  ]);
  return { target, dtype, rank, specs, tiles, built: { fused: fused.built, rank0: rank0.built }, unfusedBinary };
}

/** Runs the three variants of one shape on the emulator and returns their per-launch global bytes. */
export async function measureFusion(b: FusionBuilds, shape: Omit<FusionShape, 'rank'>, seed = 1): Promise<FusionMeasurement> {
  const full: FusionShape = { ...shape, rank: b.rank };
  const inputs = randomLayerInputs(full, b.specs.fused, seed);
  const l = inputs.layer;
  const rank0Inputs: LayerInputs = { ...inputs, layer: { ...l, rank: 0, loraDown: undefined, loraUp: undefined, loraScales: undefined } };
  const fusedRun = await runLayer({ spec: b.specs.fused, tiles: b.tiles.fused, target: b.target, backend: 'emu', inputs, built: b.built.fused });
  const rank0Run = await runLayer({ spec: b.specs.rank0, tiles: b.tiles.rank0, target: b.target, backend: 'emu', inputs: rank0Inputs, built: b.built.rank0 });
  const lowrank = await runUnfusedLowRank(
    { M: shape.M, N: shape.N, K: shape.K, rank: b.rank, dtype: b.dtype, x: inputs.x, loraDown: l.loraDown!, loraUp: l.loraUp!, loraScales: l.loraScales, y: rank0Run.y! },
    { binary: b.unfusedBinary },
  );
  const rank0Kernels = [kernelBytes(`act (${rank0Run.uris.act})`, rank0Run.counters.act), kernelBytes(`gemm (${rank0Run.uris.gemm})`, rank0Run.counters.gemm)];
  const fused = variantBytes([kernelBytes(`act (${fusedRun.uris.act})`, fusedRun.counters.act), kernelBytes(`gemm (${fusedRun.uris.gemm})`, fusedRun.counters.gemm)]);
  const unfused = variantBytes([...rank0Kernels, kernelBytes('lora_down (unfused)', lowrank.launches.down.counters), kernelBytes('lora_up (unfused)', lowrank.launches.up.counters)]);
  return {
    shape: full,
    dtype: b.dtype,
    uris: { fused: fusedRun.uris, rank0: rank0Run.uris },
    fused,
    unfused,
    rank0: variantBytes(rank0Kernels),
    ratio: unfused.bytes / fused.bytes,
    savedBytes: unfused.bytes - fused.bytes,
    findings: fusedRun.findings.length + rank0Run.findings.length + lowrank.findings.length,
  };
}
