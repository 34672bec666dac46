// One SVDQuant layer, end to end, from logical tensors: pack (codegen/layouts.ts), plan
// (codegen/plan), render (codegen/render.ts), build (emulator or nvcc), run the harness, unpack the
// outputs back into logical tensors. The same path serves `run`, `verify` and the tuner's measurements.
import type { ActTile, GemmTile, KernelSpec, Target } from '../../dsl/types.js';
import { UserError } from '../../dsl/errors.js';
import {
  packLayer,
  packLoraDown,
  padRows16,
  unpackActivations,
  unpackAScales,
  unpackFp4Scales,
  unpackLoraAct,
} from '../../codegen/layouts.js';
import { actFillBlocks, actPartialsBytes } from '../../codegen/plan/act.js';
import { planLayer, type LayerPlan } from '../../codegen/plan/index.js';
import { renderKernel } from '../../codegen/render.js';
import type { PtxasReport } from '../../codegen/nvcc.js';
import { toBits16 } from '../../numerics/float16.js';
import type { LayerInputs } from '../reference/layer.js';
import type { EmuCounters, EmuLaunch, EmuReport } from '../emu/build.js';
import type { ActivationCoding, QuantFormat } from '../../dsl/types.js';
import { readOutput, statusName, type Bundle, type BundleBuffer, type HarnessTiming } from './bundle.js';
import { requireGpu } from './gpu.js';
import { buildHarness, runHarness, type Backend, type BuiltHarness, type TimingRequest } from './harness.js';

export type { Backend } from './harness.js';

export interface RunLayerOptions {
  spec: KernelSpec;
  tiles: { gemm: GemmTile; act: ActTile };
  target: Target;
  backend: Backend;
  /** Logical tensors (runtime/reference/layer.ts); `next` feeds a qnext epilogue. */
  inputs: LayerInputs;
  /** Bundle and outputs go here (a temp directory otherwise). */
  buildDir?: string;
  /** Measure after the correctness run (GPU: CUDA events; emulator: wall clock, labelled). */
  time?: TimingRequest;
  /** Reuse an already built harness for this plan (the tuner builds many in parallel first). */
  built?: BuiltHarness;
}

/** Codes [rows,K] (s4 Int8Array; u4/e2m1 Uint8Array) and scales [rows,K/G] as the reference holds them. */
export interface Codes {
  codes: Int8Array | Uint8Array;
  scales: Uint16Array | Uint8Array;
}

export interface LayerRunResult {
  uris: { act: string; gemm: string };
  plan: LayerPlan;
  /** [M,N] output bits in the layer dtype (absent when qnext drops the 16-bit output). */
  y?: Uint16Array;
  /** The activation kernel's outputs, unpacked: codes/scales [M,K] and X·L1 [M,R] fp32. */
  act: Codes;
  loraAct?: Float32Array;
  /** qnext: the next layer's codes/scales [M,N] and one X·L1 slice [M,Rn] per N-block. */
  qnext?: Codes;
  nextLoraAct?: Float32Array[];
  /** Emulator launches in order (act, GEMM, then any timing repetitions); empty on a GPU. */
  launches: EmuLaunch[];
  /** Every checker finding of the correctness run (out-of-bounds, races, uninitialised reads, …). */
  findings: EmuReport[];
  counters: { act?: EmuCounters; gemm?: EmuCounters };
  ptxas: PtxasReport[];
  timing?: HarnessTiming;
}

/** The launcher refused or the launch failed: the status names what went wrong. */
export class LayerRunError extends UserError {
  constructor(message: string, readonly launches: EmuLaunch[]) {
    super(message);
    this.name = 'LayerRunError';
  }
}

const has = (spec: KernelSpec, op: string): boolean => spec.epilogue.some((e) => e.op === op);
const bytes16 = (n: number): number => 2 * n;

function scaleBytes(format: QuantFormat, rows: number, K: number): number {
  const groups = rows * (K / format.group);
  return format.kind === 'int4' ? bytes16(groups) : groups;
}

function unpackCodes(aq: ArrayBuffer, scales: ArrayBuffer, M: number, K: number, format: QuantFormat, act: ActivationCoding): Codes {
  const signed = format.kind === 'int4' && !act.unsigned;
  const codes = unpackActivations(new Uint8Array(aq), M, K, signed);
  const s = format.kind === 'int4' ? unpackAScales(new Uint16Array(scales), M, K, format.group) : unpackFp4Scales(new Uint8Array(scales), M, K, format.group);
  return { codes, scales: s };
}

const ones16 = (n: number, dtype: KernelSpec['dtype']): Uint16Array => new Uint16Array(n).fill(toBits16(1, dtype));

/**
 * The bundle of one layer run. `fillBlocks`: the activation grid's fill target (actFillBlocks of the
 * target; 0 = no K split): the split counters (zeroed) and the partials scratch come with it.
 */
export function layerBundle(plan: LayerPlan, spec: KernelSpec, inputs: LayerInputs, fillBlocks = 0): Bundle {
  const { layer, M } = inputs;
  const { N, K, rank: R, format, dtype } = layer;
  if (inputs.x.length !== M * K) throw new UserError(`x: ${inputs.x.length} elements, expected [M,K] = [${M},${K}]`);
  const packed = packLayer(layer);
  const Mp = padRows16(M);
  const qnext = spec.epilogue.find((e) => e.op === 'qnext');
  const store = !qnext || (qnext.op === 'qnext' && qnext.keepOutput);
  const buffers: BundleBuffer[] = [
    { name: 'x', data: inputs.x },
    { name: 'smooth', data: packed.smooth ?? ones16(K, dtype) },
    { name: 'wq', data: packed.wq },
    { name: 'wscales', data: packed.wscales },
    { name: 'aq', bytes: (Mp * K) / 2, output: true },
    { name: 'ascales', bytes: scaleBytes(format, Mp, K), output: true },
  ];
  if (R > 0) {
    buffers.push({ name: 'lora_down', data: packed.loraDown! });
    buffers.push({ name: 'lora_act', bytes: 4 * Mp * R, output: true });
    const partials = actPartialsBytes(plan.act, M, fillBlocks);
    if (partials > 0) {
      buffers.push({ name: 'split_counters', data: new Int32Array(fillBlocks) });
      buffers.push({ name: 'lora_partials', bytes: partials });
    }
    if (has(spec, 'lowrank')) {
      buffers.push({ name: 'lora_up', data: packed.loraUp! }, { name: 'lora_scales', data: packed.loraScales! });
    }
  }
  if (has(spec, 'cscale') && packed.channelScales) buffers.push({ name: 'wcscales', data: packed.channelScales });
  if (has(spec, 'bias')) {
    if (!packed.bias) throw new UserError('bias: the kernel spec has a bias epilogue but the layer has no bias tensor');
    buffers.push({ name: 'bias', data: packed.bias });
  }
  if (store) buffers.push({ name: 'y', bytes: bytes16(M * N), output: true });
  const scalars: Record<string, number> = {
    M,
    N,
    K,
    rank: R,
    alpha: format.kind === 'nvfp4' ? Math.fround(layer.wtensorScale * (inputs.atensorScale ?? 1)) : 1,
    shift: spec.activation.unsigned ? spec.activation.shift : 0,
    lora_act_slices: 1,
    fill_blocks: fillBlocks,
    lora_partials_bytes: R > 0 ? actPartialsBytes(plan.act, M, fillBlocks) : 0,
    input_scale: format.kind === 'nvfp4' ? Math.fround(inputs.atensorScale ?? 0) : 0,
  };
  if (qnext && qnext.op === 'qnext') {
    const next = inputs.next ?? {};
    const rn = qnext.lowRankDown.rank;
    buffers.push({ name: 'next_smooth', data: next.smooth ?? ones16(N, dtype) });
    buffers.push({ name: 'next_aq', bytes: (Mp * N) / 2, output: true });
    buffers.push({ name: 'next_ascales', bytes: scaleBytes(qnext.format, Mp, N), output: true });
    if (rn > 0) {
      if (!next.loraDown) throw new UserError(`next.loraDown: the qnext epilogue fuses a rank-${rn} down projection; pass the next layer's lora_down [${rn},${N}]`);
      const slices = Math.ceil(N / plan.gemm.tile.blockN);
      buffers.push({ name: 'next_lora_down', data: packLoraDown(next.loraDown, rn, N) });
      buffers.push({ name: 'next_lora_act', bytes: 4 * slices * Mp * rn, output: true });
    }
    scalars.next_shift = qnext.activation.unsigned ? qnext.activation.shift : 0;
    scalars.next_rank = rn;
  }
  return { scalars, buffers };
}

/** Plans and renders the layer's two kernels and builds the harness for them. */
export async function buildLayerHarness(spec: KernelSpec, tiles: { gemm: GemmTile; act: ActTile }, target: Target, backend: Backend): Promise<{ plan: LayerPlan; built: BuiltHarness }> {
  const plan = planLayer(spec, tiles, target);
  const built = await buildHarness(backend, target.arch, {
    act: { name: `${plan.act.uri}.cu`, source: renderKernel(plan.act), symbol: plan.act.symbol },
    gemm: { name: `${plan.gemm.uri}.cu`, source: renderKernel(plan.gemm), symbol: plan.gemm.symbol },
  });
  return { plan, built };
}

export async function runLayer(o: RunLayerOptions): Promise<LayerRunResult> {
  if (o.backend === 'gpu') await requireGpu(o.target.arch); // before an nvcc build that could not run here
  const plan = planLayer(o.spec, o.tiles, o.target);
  const built = o.built ?? (await buildLayerHarness(o.spec, o.tiles, o.target, o.backend)).built;
  const bundle = layerBundle(plan, o.spec, o.inputs, actFillBlocks(o.target));
  const run = await runHarness(built, bundle, { workDir: o.buildDir, time: o.time, arch: o.target.arch });
  const r = run.result;
  const uris = { act: plan.act.uri, gemm: plan.gemm.uri };
  const firstRun = run.launches.slice(0, 2);
  if (r.act_status !== 0 || r.gemm_status !== 0 || r.cuda_error !== 'cudaSuccess') {
    const which = r.act_status !== 0 ? `activation launcher ${uris.act} returned ${statusName(r.act_status)}` : r.gemm_status !== 0 ? `GEMM launcher ${uris.gemm} returned ${statusName(r.gemm_status)}` : `the launch failed with ${r.cuda_error}`;
    const finding = firstRun.flatMap((l) => l.reports)[0];
    throw new LayerRunError(`layer run failed: ${which}${finding ? ` (first finding: ${finding.kind} in ${finding.kernel}: ${finding.message})` : ''}`, run.launches);
  }
  const { M, layer } = o.inputs;
  const { N, K, rank: R, format } = layer;
  const out = (name: string) => readOutput(run.outDir, name);
  const names = new Set(bundle.buffers.filter((b) => b.output).map((b) => b.name));
  const result: LayerRunResult = {
    uris,
    plan,
    act: unpackCodes(await out('aq'), await out('ascales'), M, K, format, o.spec.activation),
    launches: run.launches,
    findings: firstRun.flatMap((l) => l.reports),
    counters: { act: firstRun[0]?.counters, gemm: firstRun[1]?.counters },
    ptxas: built.ptxas,
    timing: r.timing,
  };
  if (names.has('y')) result.y = new Uint16Array(await out('y'));
  if (names.has('lora_act')) result.loraAct = unpackLoraAct(new Float32Array(await out('lora_act')), 1, M, R)[0];
  const qnext = o.spec.epilogue.find((e) => e.op === 'qnext');
  if (qnext && qnext.op === 'qnext') {
    result.qnext = unpackCodes(await out('next_aq'), await out('next_ascales'), M, N, qnext.format, qnext.activation);
    if (names.has('next_lora_act')) {
      const slices = Math.ceil(N / plan.gemm.tile.blockN);
      result.nextLoraAct = unpackLoraAct(new Float32Array(await out('next_lora_act')), slices, M, qnext.lowRankDown.rank);
    }
  }
  return result;
}
