// Builds the layer harness (layer_main.cpp + the two generated translation units) for the emulator
// (g++, runtime/emu/build.ts) or a GPU (nvcc, codegen/nvcc.ts), and runs it on a bundle.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cacheKey, cachedBuild, cacheRoot } from '../../codegen/cache.js';
import { compileCuda, type PtxasReport } from '../../codegen/nvcc.js';
import { UserError } from '../../dsl/errors.js';
import type { SmArch } from '../../dsl/types.js';
import { buildEmuProgram, runEmuProgram, type EmuLaunch } from '../emu/build.js';
import { readResult, writeBundle, type Bundle, type HarnessResult } from './bundle.js';
import { requireGpu } from './gpu.js';

export const HARNESS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const LAYER_MAIN = path.join(HARNESS_DIR, 'layer_main.cpp');

export type Backend = 'emu' | 'gpu';

export interface KernelUnit {
  /** File name, e.g. `<uri>.cu`. */
  name: string;
  source: string;
  /** The extern "C" launcher symbol. */
  symbol: string;
}

export interface HarnessSources {
  /** Absent: the GEMM reads activation codes produced elsewhere (the bundle supplies aq/ascales). */
  act?: KernelUnit;
  gemm: KernelUnit;
}

export interface BuiltHarness {
  backend: Backend;
  exe: string;
  /** GPU builds: the ptxas report of every kernel. */
  ptxas: PtxasReport[];
}

function defines(units: HarnessSources): Record<string, string> {
  return {
    SVDQ_GEMM_LAUNCHER: units.gemm.symbol,
    ...(units.act ? { SVDQ_ACT_LAUNCHER: units.act.symbol } : {}),
  };
}

/** Writes the kernel sources once per content under the cache (g++ needs files) and returns their paths. */
async function sourceFiles(units: KernelUnit[]): Promise<string[]> {
  const key = cacheKey('svdq-kernel-sources-v1', ...units.flatMap((u) => [u.name, u.source]));
  const entry = await cachedBuild(
    key,
    async (tmp) => {
      for (const u of units) await fs.writeFile(path.join(tmp, u.name), u.source);
      return { names: units.map((u) => u.name) };
    },
    path.join(cacheRoot(), 'sources'),
  );
  return units.map((u) => path.join(entry.dir, u.name));
}

/** Compiles the harness with the layer's kernels (cached by content on both backends). */
export async function buildHarness(backend: Backend, arch: SmArch, units: HarnessSources): Promise<BuiltHarness> {
  const list = [...(units.act ? [units.act] : []), units.gemm];
  if (backend === 'emu') {
    const files = await sourceFiles(list);
    const exe = await buildEmuProgram({ sources: [LAYER_MAIN, ...files], includeDirs: [HARNESS_DIR], defines: defines(units) });
    return { backend, exe, ptxas: [] };
  }
  const built = await compileCuda({
    sources: list.map((u) => ({ name: u.name, text: u.source })),
    files: [LAYER_MAIN],
    arch,
    kind: 'exe',
    includeDirs: [HARNESS_DIR],
    extraFlags: Object.entries(defines(units)).map(([k, v]) => `-D${k}=${v}`),
  });
  return { backend, exe: built.path, ptxas: built.ptxas };
}

export interface TimingRequest {
  warmup?: number;
  minReps?: number;
  maxReps?: number;
  /** Samples between stability checks (default 10). */
  batch?: number;
  /** Stop when a batch moves the median by less than this fraction (default 0.005). */
  relTol?: number;
  maxSeconds?: number;
  /** L2 size in bytes: buffers are rotated so one pass touches more than twice this. */
  l2Bytes?: number;
  /** Also return every sample. */
  samples?: boolean;
}

export interface HarnessRun {
  result: HarnessResult;
  /** Where the outputs (.bin) were written. */
  outDir: string;
  /** Emulator launches (findings and counters); empty on a GPU. */
  launches: EmuLaunch[];
  stderr: string;
}

function timingArgs(t: TimingRequest | undefined): string[] {
  if (!t) return [];
  const args = ['--time'];
  const num = (flag: string, v: number | undefined) => {
    if (v !== undefined) args.push(flag, String(v));
  };
  num('--warmup', t.warmup);
  num('--min-reps', t.minReps);
  num('--max-reps', t.maxReps);
  num('--batch', t.batch);
  num('--rel-tol', t.relTol);
  num('--max-seconds', t.maxSeconds);
  num('--l2-bytes', t.l2Bytes);
  if (t.samples) args.push('--samples');
  return args;
}

/** Writes the bundle under `workDir` (a fresh temp directory when omitted) and runs the harness on it. */
export async function runHarness(
  built: BuiltHarness,
  bundle: Bundle,
  options: { workDir?: string; time?: TimingRequest; timeoutMs?: number; arch?: SmArch } = {},
): Promise<HarnessRun> {
  const workDir = options.workDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-layer-')));
  const bundleDir = path.join(workDir, 'bundle');
  const outDir = path.join(workDir, 'out');
  await fs.rm(outDir, { recursive: true, force: true });
  await fs.mkdir(outDir, { recursive: true });
  await writeBundle(bundleDir, bundle);
  const args = [bundleDir, outDir, ...timingArgs(options.time)];
  let code: number;
  let stderr: string;
  let launches: EmuLaunch[] = [];
  if (built.backend === 'emu') {
    const r = await runEmuProgram(built.exe, args, { timeoutMs: options.timeoutMs, env: { SVDQ_EMU_QUIET: '1' } });
    code = r.code;
    stderr = r.stderr;
    launches = r.reports;
  } else {
    await requireGpu(options.arch);
    const r = await execa(built.exe, args, { reject: false, timeout: options.timeoutMs });
    code = typeof r.exitCode === 'number' ? r.exitCode : -1;
    stderr = String(r.stderr ?? '');
  }
  const result = await readResult(outDir);
  if (!result) {
    const why = stderr.split('\n').filter((l) => l.trim()).slice(-10).join('\n');
    throw new UserError(`the layer harness failed (exit ${code}) before writing its result:\n${why || '(no output)'}`);
  }
  return { result, outDir, launches, stderr };
}
