// `svdq-codegen run`: one layer from a safetensors file (layer-io.ts) through the kernels on the
// emulator or a GPU; y [M,N] written in x's dtype. Without --config the kernel spec follows the file
// (dtype, group, rank, bias) and the tiles are the target's defaults; a --config URI must agree with it.
import { defaultTiles } from '../../codegen/default-tiles.js';
import { SafetensorsFile } from '../../codegen/safetensors.js';
import { parseUri } from '../../codegen/uri.js';
import { UserError } from '../../dsl/errors.js';
import { validateSpec } from '../../dsl/spec.js';
import { defaultFormatKind, resolveGpu } from '../../dsl/targets.js';
import { checkSpecOnTarget, withSlowInt4 } from '../../dsl/compat.js';
import { SpecError } from '../../dsl/errors.js';
import type { ActTile, EpilogueOp, FormatKind, GemmTile, KernelSpec, Target } from '../../dsl/types.js';
import { toBits16 } from '../../numerics/float16.js';
import { toFloat64 } from '../../numerics/tensors.js';
import type { HarnessTiming } from './bundle.js';
import { requireGpu } from './gpu.js';
import type { Backend, TimingRequest } from './harness.js';
import { readLayerFile, writeLayerOutput, type LayerFile } from './layer-io.js';
import { runLayer } from './run-layer.js';
import { actConfigProblems, validateLayerValues } from './validate-layer.js';

export interface RunFileOptions {
  gpu: string;
  backend: Backend;
  input: string;
  output: string;
  /** A GEMM URI (w4a4_…); its spec must match the file. */
  config?: string;
  /** An activation-kernel URI (act_…); default tile otherwise. */
  actConfig?: string;
  /** Format for quantizing a float `weight` (default: the target's native format, dsl/targets.ts). */
  format?: FormatKind;
  /** INT4 group for quantizing a float `weight` (default 64; NVFP4 16 and MXFP4 32 are fixed). */
  group?: number;
  time?: TimingRequest;
  /** sm_90 only: build the INT4 m16n8k64 path although Hopper has no 4-bit fast path (labelled slow). */
  allowSlowInt4?: boolean;
}

export interface RunFileResult {
  gemmUri: string;
  actUri: string;
  M: number;
  N: number;
  K: number;
  rank: number;
  backend: Backend;
  weights: LayerFile['weights'];
  timing?: HarnessTiming;
  /** Emulator counters of the two kernels (global bytes and sectors, shared bank conflicts…). */
  counters?: unknown;
}

/** The spec a file implies when no --config is given: its dtype, format and rank; bias and low-rank when present. */
export function specFromFile(f: LayerFile): KernelSpec {
  const epilogue: EpilogueOp[] = [];
  if (f.inputs.layer.channelScales) epilogue.push({ op: 'cscale' });
  if (f.hasBias) epilogue.push({ op: 'bias' });
  if (f.inputs.layer.rank > 0) epilogue.push({ op: 'lowrank' });
  const l = f.inputs.layer;
  return validateSpec({ format: l.format, activation: f.activation ?? { unsigned: false, shift: 0 }, dtype: l.dtype, lowRank: { rank: l.rank }, epilogue });
}

/** A --config URI must agree with the file: each disagreement named. */
export function checkAgainstFile(spec: KernelSpec, f: LayerFile, uri: string, file: string): void {
  const l = f.inputs.layer;
  const problems: string[] = [];
  if (spec.dtype !== l.dtype) problems.push(`dtype ${spec.dtype} but x is ${l.dtype}`);
  const fmt = (q: KernelSpec['format']): string => `${q.kind} (group ${q.group}, ${q.scaleDtype} scales)`;
  if (fmt(spec.format) !== fmt(l.format)) problems.push(`format ${fmt(spec.format)} but the weights are ${fmt(l.format)}`);
  if (spec.lowRank.rank !== l.rank) problems.push(`rank ${spec.lowRank.rank} but lora_down/lora_up give ${l.rank}${f.fileRank !== l.rank ? ` (${f.fileRank} padded to a multiple of 16)` : ''}`);
  const hasBias = spec.epilogue.some((e) => e.op === 'bias');
  if (hasBias && !f.hasBias) problems.push("a bias epilogue but the file has no 'bias'");
  if (!hasBias && f.hasBias) problems.push("no bias epilogue but the file has 'bias'");
  const hasCscale = spec.epilogue.some((e) => e.op === 'cscale');
  if (hasCscale !== Boolean(l.channelScales)) problems.push(hasCscale ? "a cscale epilogue but the file has no 'wcscales'" : "no cscale epilogue but the file has 'wcscales'");
  const act = f.activation ?? { unsigned: false, shift: 0 };
  if (spec.activation.unsigned !== act.unsigned) problems.push(`${spec.activation.unsigned ? 'u4' : 'signed'} activations but the file records ${act.unsigned ? `u4 + shift ${act.shift}` : 'signed'} ones`);
  if (problems.length) throw new UserError(`--config ${uri} does not fit ${file}: the config has ${problems.join('; ')}`);
}

function tilesFor(spec: KernelSpec, target: Target, gemm: GemmTile | undefined, actConfig: string | undefined): { gemm: GemmTile; act: ActTile } {
  const defaults = defaultTiles(spec, target);
  let act = defaults.act;
  if (actConfig) {
    const parsed = parseUri(actConfig);
    if (parsed.kind !== 'act') throw new UserError(`--act-config: '${actConfig}' is not an activation-kernel URI (act_…)`);
    if (parsed.arch !== target.arch) throw new UserError(`--act-config: '${actConfig}' is built for ${parsed.arch} but --gpu is ${target.arch}`);
    const problems = actConfigProblems(parsed.spec, spec);
    if (problems.length) throw new UserError(`--act-config ${actConfig} does not fit the layer: the config has ${problems.join('; ')}`);
    act = parsed.tile;
  }
  return { gemm: gemm ?? defaults.gemm, act };
}

/** The next layer's run-time tensors for a qnext config: next_smooth [N], next_lora_down [rn,N]. */
export async function readNext(file: string, spec: KernelSpec, f: LayerFile): Promise<void> {
  const q = spec.epilogue.find((e) => e.op === 'qnext');
  if (!q || q.op !== 'qnext') return;
  const st = await SafetensorsFile.open(file);
  try {
    const { N, dtype } = f.inputs.layer;
    const bits = async (name: string, shape: number[]): Promise<Uint16Array> => {
      const i = st.info(name);
      if (i.shape.join(',') !== shape.join(',')) throw new UserError(`${file}: tensor '${name}' has shape [${i.shape.join(',')}]; expected [${shape.join(',')}]`);
      return Uint16Array.from(toFloat64(await st.readTensor(name)), (v) => toBits16(v, dtype));
    };
    f.inputs.next = {
      ...(st.has('next_smooth') ? { smooth: await bits('next_smooth', [N]) } : {}),
      ...(q.lowRankDown.rank > 0 ? { loraDown: await bits('next_lora_down', [q.lowRankDown.rank, N]) } : {}),
    };
  } finally {
    await st.close();
  }
}

/** The file's layer must run on the target: said in terms of the file's tensors, before planning tiles. */
export function onTarget(spec: KernelSpec, target: Target, input: string, f: LayerFile): void {
  try {
    checkSpecOnTarget(spec, target);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    const v = String(e.value);
    const what: Record<string, string> = {
      'format.kind': f.weights === 'qweight' ? `its weights ('qweight', 'wscales') are ${v}, and ${v}` : `--format ${v}: ${v}`,
      dtype: `its dtype ${v} (from 'x')`,
      'format.scaleDtype': `its int4 scales ('wscales') in ${v}`,
    };
    throw new UserError(`${input}: the layer cannot run on --gpu ${target.id} (${target.arch}): ${what[e.field] ?? `${e.field} ${v}`} ${e.allowed}`);
  }
}

export async function runLayerFile(o: RunFileOptions): Promise<RunFileResult> {
  const target = o.allowSlowInt4 ? withSlowInt4(resolveGpu(o.gpu)) : resolveGpu(o.gpu);
  if (o.backend === 'gpu') await requireGpu(target.arch); // before reading or building anything
  const file = await readLayerFile(o.input, { format: o.format, group: o.group, defaultFormat: defaultFormatKind(target) });
  validateLayerValues(file.inputs.layer, (t) => `${o.input}: tensor '${t}'`); // the same rules as pack's
  let spec = specFromFile(file);
  if (!o.config) onTarget(spec, target, o.input, file);
  let gemm: GemmTile | undefined;
  if (o.config) {
    const parsed = parseUri(o.config);
    if (parsed.kind !== 'gemm') throw new UserError(`--config: '${o.config}' is an activation-kernel URI; pass the GEMM URI (w4a4_…) and use --act-config for act_…`);
    if (parsed.arch !== target.arch) throw new UserError(`--config: '${o.config}' is built for ${parsed.arch} but --gpu is ${target.id} (${target.arch})`);
    checkAgainstFile(parsed.spec, file, o.config, o.input);
    spec = parsed.spec;
    gemm = parsed.tile;
    await readNext(o.input, spec, file);
  }
  const tiles = tilesFor(spec, target, gemm, o.actConfig);
  const run = await runLayer({ spec, tiles, target, backend: o.backend, inputs: file.inputs, time: o.time });
  if (run.findings.length > 0) {
    const f = run.findings[0];
    throw new UserError(`the emulator's checker reported ${run.findings.length} finding(s) in ${run.uris.gemm}; first: ${f.kind} in ${f.kernel} block ${f.block.join(',')} thread ${f.thread.join(',')}: ${f.message}`);
  }
  const { M, layer } = file.inputs;
  const q = spec.epilogue.find((e) => e.op === 'qnext');
  await writeLayerOutput(
    o.output,
    {
      y: run.y,
      dtype: layer.dtype,
      M,
      N: layer.N,
      ...(run.qnext && q && q.op === 'qnext' ? { qnext: { ...run.qnext, group: q.format.group } } : {}),
    },
    { gemm_uri: run.uris.gemm, act_uri: run.uris.act, backend: o.backend },
  );
  return {
    gemmUri: run.uris.gemm,
    actUri: run.uris.act,
    M,
    N: layer.N,
    K: layer.K,
    rank: layer.rank,
    backend: o.backend,
    weights: file.weights,
    timing: run.timing,
    counters: run.counters,
  };
}
