// `inspect`: render (for a URI) → compile (build cache) → disassemble → find the main loop → counts,
// resources and predicted cycles. sm_75…sm_90 read SASS (CUDA 11.8 cuobjdump, header-rewritten copy);
// sm_120a/121a have no disassembler here, so their loop counts come from the PTX, labelled 'ptx'.
// The analysis is cached by the content hash of the cubin/PTX (and of this folder's code).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withSlowInt4 } from '../../dsl/compat.js';
import { UserError } from '../../dsl/errors.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { SmArch, Target } from '../../dsl/types.js';
import { cacheKey, cachedBuild, treeDigest } from '../cache.js';
import { generationTarget } from '../generate.js';
import { compileCuda, type PtxasReport } from '../nvcc.js';
import { planAct } from '../plan/act.js';
import { planGemm } from '../plan/gemm.js';
import { renderKernel } from '../render.js';
import { parseUri } from '../uri.js';
import { actReport, gemmReport, type ActLoopReport, type MainLoopReport } from './analyze.js';
import { occupancy, predict, type Prediction } from './predict.js';
import { parsePtx, parseSass, type AsmFunction } from './sass.js';
import { disassemblableSm, disassemble, requireDisassembler } from './tools.js';

export interface KernelInspection {
  /** The kernel URI (inspectUri) or the name given to inspectSource. */
  uri: string;
  arch: SmArch;
  /** The target whose limits and rates were used (e.g. 'rtx4090'). */
  target: string;
  kind: 'gemm' | 'act';
  /** 'sass': disassembled machine code; 'ptx': PTX-level counts (no disassembler for the arch). */
  counts: 'sass' | 'ptx';
  /** The kernel function (mangled) the numbers are for. */
  function: string;
  registers: number;
  /** Spill stores + spill loads (ptxas). */
  spillBytes: number;
  stackBytes: number;
  /** Static + dynamic shared memory per block. */
  smemBytes: number;
  staticSmemBytes: number;
  dynamicSmemBytes: number;
  threads: number | null;
  /** Resident blocks per SM from the target's limits (null when the block size is unknown). */
  blocksPerSm: number | null;
  occupancyLimiter: string | null;
  /** GEMM: the main loop per m16n8k64 (null when no loop holds a 4-bit MMA). */
  mainLoop: MainLoopReport | null;
  /** Activation kernel: the quantization loop per 64 elements of X. */
  act?: ActLoopReport | null;
  /** Predicted cycles per step on one SM sub-partition (null when there is no loop to model). */
  predicted: Prediction | null;
}

export interface InspectOptions {
  /** Leave kernel.cu, kernel.cubin and the listing (kernel.sass or kernel.ptx) in this folder. */
  keepDir?: string;
  /** The card whose limits and rates to use (its arch must be the URI's); default: the arch's default card. */
  target?: Target;
}

export interface InspectSourceOptions extends InspectOptions {
  kind?: 'gemm' | 'act';
  /** Threads per block (for blocks/SM). */
  threads?: number;
  dynamicSmemBytes?: number;
  /** Activation kernels: elements of X a thread quantizes per loop iteration (required for kind 'act'). */
  actElementsPerIteration?: number;
  /** Activation kernels: false when codes are not float→int conversions (FP4: e2m1 by comparisons). */
  actCodesByConversion?: boolean;
  /** Limits and rates (default: the arch's default target). */
  target?: Target;
  /** Extra nvcc flags (regress passes its compile-matrix flags through). */
  extraFlags?: string[];
  /** The kernel function to inspect when the unit has several: its (mangled) name, or a part of it. */
  kernel?: string;
}

/** The functions a `kernel` option selects: the exact name, else those containing it; UserError when none. */
function pick(fns: AsmFunction[], kernel: string | undefined): AsmFunction[] {
  if (kernel === undefined) return fns;
  const exact = fns.filter((f) => f.name === kernel);
  const some = exact.length > 0 ? exact : fns.filter((f) => f.name.includes(kernel));
  if (some.length === 0) throw new UserError(`kernel '${kernel}' is not in the unit; its functions: ${fns.map((f) => f.name).join(', ')}`);
  return some;
}

const INSPECT_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The target whose limits an arch's kernels are inspected with (sm_121a: planned with sm_120a limits). */
export function inspectionTarget(arch: SmArch): Target {
  return arch === 'sm_121a' ? generationTarget(arch) : resolveGpu(arch);
}

interface Analysis {
  level: 'sass' | 'ptx';
  function: string;
  mainLoop: MainLoopReport | null;
  act?: ActLoopReport | null;
}

/** Creates the --keep folder (UserError when the path is a file); call it before long work. */
export async function checkKeepDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const st = await fs.stat(abs).catch(() => undefined);
  if (st && !st.isDirectory()) throw new UserError(`--keep: '${dir}' exists and is not a folder; give a folder (created when missing)`);
  await fs.mkdir(abs, { recursive: true });
  return abs;
}

/** Compiles one translation unit for `arch` and inspects its kernel. */
export async function inspectSource(cu: string, arch: SmArch, name = 'kernel', opts: InspectSourceOptions = {}): Promise<KernelInspection> {
  const kind = opts.kind ?? (opts.actElementsPerIteration !== undefined ? 'act' : 'gemm');
  if (kind === 'act' && !(opts.actElementsPerIteration! > 0)) throw new UserError('inspectSource: kind act needs actElementsPerIteration > 0');
  const keep = opts.keepDir !== undefined ? await checkKeepDir(opts.keepDir) : undefined;
  const target = opts.target ?? inspectionTarget(arch);
  const level: 'sass' | 'ptx' = disassemblableSm(arch) !== undefined ? 'sass' : 'ptx';
  const disassembler = level === 'sass' ? requireDisassembler() : undefined; // before compiling: fail fast
  const cubin = await compileCuda({ source: cu, arch, kind: 'cubin', extraFlags: opts.extraFlags });
  const ptx = level === 'ptx' ? await compileCuda({ source: cu, arch, kind: 'ptx', extraFlags: opts.extraFlags }) : undefined;
  const code = await fs.readFile(ptx ? ptx.path : cubin.path);
  const key = cacheKey('svdq-inspect', await treeDigest(INSPECT_DIR), level, arch, kind, String(opts.actElementsPerIteration ?? 0), String(opts.actCodesByConversion ?? true), opts.kernel ?? '', code);
  let listing: string | undefined;
  const entry = await cachedBuild<Analysis>(key, async (tmp) => {
    listing = level === 'sass' ? await disassemble(cubin.path, arch, disassembler) : code.toString('utf8');
    await fs.writeFile(path.join(tmp, level === 'sass' ? 'kernel.sass' : 'kernel.ptx'), listing);
    const fns = pick(level === 'sass' ? parseSass(listing) : parsePtx(listing).filter((f) => f.instrs.length > 0), opts.kernel);
    if (kind === 'act') {
      const r = actReport(fns, opts.actElementsPerIteration!, opts.actCodesByConversion ?? true);
      return { level, function: r.fn.name, mainLoop: null, act: r.act };
    }
    const r = gemmReport(fns);
    return { level, function: r.fn.name, mainLoop: r.mainLoop };
  });
  const a = entry.meta;
  if (keep) {
    await fs.writeFile(path.join(keep, 'kernel.cu'), cu);
    await fs.copyFile(cubin.path, path.join(keep, 'kernel.cubin'));
    const listingFile = level === 'sass' ? 'kernel.sass' : 'kernel.ptx';
    await fs.copyFile(path.join(entry.dir, listingFile), path.join(keep, listingFile));
  }
  const report: PtxasReport | undefined = cubin.ptxas.find((r) => r.kernel === a.function) ?? cubin.ptxas.find((r) => r.entry);
  const registers = report?.registers ?? 0;
  const staticSmem = report?.smemBytes ?? 0;
  const dynamicSmem = opts.dynamicSmemBytes ?? 0;
  const occ = opts.threads ? occupancy(target, opts.threads, registers, staticSmem + dynamicSmem) : undefined;
  let predicted: Prediction | null = null;
  // Called routines (sm_90 s4 MMAs) issue too: they count toward the issue bound.
  if (kind === 'gemm' && a.mainLoop) predicted = predict(target, a.mainLoop.byClass, a.mainLoop.perMma + a.mainLoop.calledPerMma, 'm16n8k64');
  if (kind === 'act' && a.act) predicted = predict(target, a.act.byClass, a.act.per64, '64 elements');
  return {
    uri: name,
    arch,
    target: target.id,
    kind,
    counts: level,
    function: a.function,
    registers,
    spillBytes: (report?.spillStoreBytes ?? 0) + (report?.spillLoadBytes ?? 0),
    stackBytes: report?.stackBytes ?? 0,
    smemBytes: staticSmem + dynamicSmem,
    staticSmemBytes: staticSmem,
    dynamicSmemBytes: dynamicSmem,
    threads: opts.threads ?? null,
    blocksPerSm: occ?.blocksPerSm ?? null,
    occupancyLimiter: occ?.limiter ?? null,
    mainLoop: a.mainLoop,
    ...(kind === 'act' ? { act: a.act ?? null } : {}),
    predicted,
  };
}

/**
 * Elements of X one thread quantizes per iteration of the activation kernel's innermost K loop
 * (act/kernel.h walk_k: a batch of unitsPerBatch units × rowTilesIter row tiles of 16 rows × unitK
 * channels per warp, over 32 lanes).
 */
export function actElementsPerIteration(plan: { unitsPerBatch: number; rowTilesIter: number; unitK: number }): number {
  return (plan.unitsPerBatch * plan.rowTilesIter * 16 * plan.unitK) / 32;
}

/** Renders, compiles and inspects the kernel a URI names (the URI carries the arch). */
export async function inspectUri(uri: string, opts: InspectOptions = {}): Promise<KernelInspection> {
  const parsed = parseUri(uri);
  if (opts.target && opts.target.arch !== parsed.arch) throw new UserError(`kernel URI '${uri}' is for ${parsed.arch}, but the target ${opts.target.id} is ${opts.target.arch}`);
  const base = opts.target ?? inspectionTarget(parsed.arch);
  // sm_90 has no 4-bit MMA: plan through the labelled slow-path override, predict with the real target.
  const planTarget = parsed.arch === 'sm_90' ? withSlowInt4(base) : base;
  if (parsed.kind === 'gemm') {
    const plan = planGemm(parsed.spec, parsed.tile, planTarget);
    return inspectSource(renderKernel(plan), parsed.arch, uri, { ...opts, kind: 'gemm', threads: plan.threads, dynamicSmemBytes: plan.smemBytes, target: base });
  }
  const plan = planAct(parsed.spec, parsed.tile, planTarget);
  return inspectSource(renderKernel(plan), parsed.arch, uri, {
    ...opts,
    kind: 'act',
    threads: plan.threads,
    dynamicSmemBytes: plan.smemBytes,
    actElementsPerIteration: actElementsPerIteration(plan),
    actCodesByConversion: parsed.spec.format.kind === 'int4',
    target: base,
  });
}
