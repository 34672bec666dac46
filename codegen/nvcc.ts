// The nvcc driver: flags per target (ptx-fragments.md §8: explicit `-gencode` forms), compilation through
// execa into the content-addressed cache, the ptxas resource report parsed, and failures cut down to
// the lines that matter (CompileError). Diagnostics are parsed in the C locale so quotes stay ASCII.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { UserError } from '../dsl/errors.js';
import type { SmArch } from '../dsl/types.js';
import { REPO_ROOT, cacheKey, cachedBuild, treeDigest } from './cache.js';
import { extractDiagnostics } from './diagnostics.js';

export const DEVICE_INCLUDE_DIR = path.join(REPO_ROOT, 'runtime', 'include');

/** The nvcc executable: `$SVDQ_NVCC` or `nvcc` on PATH. */
export function nvccPath(): string {
  return process.env.SVDQ_NVCC && process.env.SVDQ_NVCC.length > 0 ? process.env.SVDQ_NVCC : 'nvcc';
}

/** 'sm_89' → '89', 'sm_120a' → '120a'. */
function archNumber(arch: SmArch | string): string {
  const m = /^sm_(\d+[af]?)$/.exec(arch);
  if (!m) throw new UserError(`GPU architecture '${arch}' is not valid; expected sm_<number>[a|f], e.g. sm_89`);
  return m[1];
}

/**
 * Flags every kernel build uses. `--fmad=false`: nvcc must not contract `a*b+c` into an FMA on its own,
 * because g++ (the emulator build) never does and the reference rounds each operation
 * (docs/numerics.md); kernels that want an FMA write `__fmaf_rn`, so the GPU and emulator bits agree.
 */
export function nvccFlags(arch: SmArch | string): string[] {
  return [...kernelCodeFlags(arch), '-Xptxas', '-v', '-I', DEVICE_INCLUDE_DIR];
}

/** The flags that decide the generated code (no diagnostics, no include path): what a user's own build of
 * the kernels must pass to get the same binary (gen --spec's CMakeLists.txt and compile line). */
export function kernelCodeFlags(arch: SmArch | string): string[] {
  const n = archNumber(arch);
  return ['-gencode', `arch=compute_${n},code=sm_${n}`, '-std=c++17', '-O3', '--fmad=false'];
}

export interface PtxasReport {
  /** Function name as ptxas prints it (mangled unless the kernel is `extern "C"`). */
  kernel: string;
  arch: string;
  /** False for a non-inlined device function ptxas reports separately. */
  entry: boolean;
  registers: number;
  spillStoreBytes: number;
  spillLoadBytes: number;
  smemBytes: number;
  /** Stack frame bytes (cumulative stack size when ptxas reports it, which includes callees). */
  stackBytes: number;
  cmemBytes: number;
  barriers: number;
}

/** Parses `-Xptxas -v` output (any mix of archs and kernels) into one report per function and arch. */
export function parsePtxas(output: string): PtxasReport[] {
  const reports: PtxasReport[] = [];
  let entry: { kernel: string; arch: string } | undefined;
  let current: PtxasReport | undefined;
  let lastArch = ''; // ptxas reports one target at a time: device functions belong to the last one named
  const fresh = (kernel: string, arch: string, isEntry: boolean): PtxasReport => ({
    kernel, arch, entry: isEntry, registers: 0, spillStoreBytes: 0, spillLoadBytes: 0, smemBytes: 0, stackBytes: 0, cmemBytes: 0, barriers: 0,
  });
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    let m = /^ptxas info\s*: Compiling entry function '([^']+)' for '([^']+)'/.exec(line);
    if (m) {
      entry = { kernel: m[1], arch: m[2] };
      lastArch = m[2];
      current = undefined;
      continue;
    }
    m = /^ptxas info\s*: Function properties for (\S+)/.exec(line);
    if (m) {
      const isEntry = entry?.kernel === m[1];
      current = fresh(m[1], lastArch, isEntry);
      reports.push(current);
      if (!isEntry) entry = undefined;
      continue;
    }
    m = /^(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/.exec(line);
    if (m && current) {
      current.stackBytes = Number(m[1]);
      current.spillStoreBytes = Number(m[2]);
      current.spillLoadBytes = Number(m[3]);
      continue;
    }
    m = /^ptxas info\s*: Used (\d+) registers(.*)$/.exec(line);
    if (m) {
      if (!current && entry) {
        current = fresh(entry.kernel, entry.arch, true);
        reports.push(current);
      }
      if (!current) continue;
      current.registers = Number(m[1]);
      const rest = m[2];
      const num = (re: RegExp): number | undefined => {
        const r = re.exec(rest);
        return r ? Number(r[1]) : undefined;
      };
      current.barriers = num(/used (\d+) barriers/) ?? 0;
      current.smemBytes = num(/(\d+) bytes smem/) ?? 0;
      current.cmemBytes = num(/(\d+) bytes cmem\[0\]/) ?? 0;
      current.stackBytes = Math.max(current.stackBytes, num(/(\d+) bytes cumulative stack size/) ?? 0);
      current = undefined;
    }
  }
  return reports;
}

/** A build that failed; `message` holds the diagnostics that matter, `log` the whole compiler output. */
export class CompileError extends UserError {
  constructor(
    readonly tool: string,
    readonly summary: string,
    readonly log: string,
    readonly command: string,
  ) {
    super(`${tool} failed:\n${summary}`);
    this.name = 'CompileError';
  }
}

let versionPromise: Promise<{ version: string; raw: string }> | undefined;

async function nvccVersionInfo(): Promise<{ version: string; raw: string }> {
  versionPromise ??= (async () => {
    let raw: string;
    try {
      raw = (await execa(nvccPath(), ['--version'], { env: { LC_ALL: 'C' } })).stdout;
    } catch (e) {
      versionPromise = undefined;
      throw new UserError(`nvcc not found or not runnable ('${nvccPath()}': ${(e as Error).message.split('\n')[0]}); install the CUDA toolkit or set $SVDQ_NVCC`);
    }
    const m = /release [\d.]+, V([\d.]+)/.exec(raw);
    return { version: m ? m[1] : raw.trim().split('\n').pop() ?? 'unknown', raw };
  })();
  return versionPromise;
}

/** The installed nvcc's version, e.g. '13.0.88' (throws UserError when nvcc is missing). */
export async function nvccVersion(): Promise<string> {
  return (await nvccVersionInfo()).version;
}

export type CudaArtifactKind = 'cubin' | 'ptx' | 'object' | 'shared' | 'exe';

export interface CudaSource {
  /** File name inside the build directory (shown in diagnostics), e.g. 'gemm.cu'. */
  name: string;
  text: string;
}

export interface CompileCudaOptions {
  /** One translation unit as text (written as `kernel.cu`), or `sources`/`files` for several. */
  source?: string;
  sources?: CudaSource[];
  /** Existing files compiled in place (their content is part of the cache key). */
  file?: string;
  files?: string[];
  arch: SmArch | string;
  kind: CudaArtifactKind;
  /** Extra nvcc flags (e.g. `-DSVDQ_ACT_LAUNCHER=…`, `-lineinfo`). */
  extraFlags?: string[];
  /** Extra include directories; their whole content is hashed into the key. */
  includeDirs?: string[];
  /** Cache root override (tests). */
  cacheDir?: string;
}

export interface CompileResult {
  /** The artifact inside the cache entry. */
  path: string;
  ptxas: PtxasReport[];
  /** Warning diagnostics of a successful build (concise form). */
  warnings: string;
  key: string;
  cached: boolean;
}

interface CompileMeta {
  artifact: string;
  ptxas: PtxasReport[];
  warnings: string;
  command: string;
}

const ARTIFACT: Record<CudaArtifactKind, { file: string; flags: string[] }> = {
  cubin: { file: 'kernel.cubin', flags: ['-cubin'] },
  ptx: { file: 'kernel.ptx', flags: ['-ptx'] },
  object: { file: 'kernel.o', flags: ['-c'] },
  shared: { file: 'libkernel.so', flags: ['-shared', '-Xcompiler', '-fPIC'] },
  exe: { file: 'program', flags: [] },
};

/** Compiles CUDA sources for one target into the build cache; identical requests reuse the artifact. */
export async function compileCuda(options: CompileCudaOptions): Promise<CompileResult> {
  const texts: CudaSource[] = [...(options.sources ?? [])];
  if (options.source !== undefined) texts.push({ name: 'kernel.cu', text: options.source });
  const files = [...(options.files ?? []), ...(options.file !== undefined ? [options.file] : [])].map((f) => path.resolve(f));
  const inputs = texts.length + files.length;
  if (inputs === 0) throw new UserError('compileCuda: no source given (source, sources, file or files)');
  if (inputs > 1 && (options.kind === 'cubin' || options.kind === 'ptx' || options.kind === 'object')) {
    throw new UserError(`compileCuda: kind '${options.kind}' takes one translation unit, got ${inputs}`);
  }
  for (const t of texts) {
    if (!/^[\w.-]+$/.test(t.name)) throw new UserError(`compileCuda: source name '${t.name}' must be a plain file name`);
  }
  const { raw: versionRaw } = await nvccVersionInfo();
  const flags = [...nvccFlags(options.arch), ...(options.extraFlags ?? [])];
  for (const dir of options.includeDirs ?? []) flags.push('-I', path.resolve(dir));
  const artifact = ARTIFACT[options.kind];

  const keyParts: Array<string | Uint8Array> = ['nvcc', versionRaw, options.kind, flags.join('\u0001'), await treeDigest(DEVICE_INCLUDE_DIR)];
  for (const dir of options.includeDirs ?? []) keyParts.push(await treeDigest(path.resolve(dir)));
  for (const t of texts) keyParts.push(t.name, t.text);
  for (const f of files) keyParts.push(f, await fs.readFile(f));
  const key = cacheKey(...keyParts);

  const entry = await cachedBuild<CompileMeta>(
    key,
    async (tmp) => {
      const inputPaths = [...files];
      for (const t of texts) {
        await fs.writeFile(path.join(tmp, t.name), t.text);
        inputPaths.push(t.name); // relative (cwd = tmp) so diagnostics name the source plainly
      }
      // .cpp inputs hold host code that calls the CUDA runtime: compile them as CUDA too.
      const args = [...flags, ...artifact.flags, '-x', 'cu', ...inputPaths, '-o', path.join(tmp, artifact.file)];
      const command = [nvccPath(), ...args].join(' ');
      const run = await execa(nvccPath(), args, { cwd: tmp, reject: false, all: true, env: { LC_ALL: 'C' } });
      const log = run.all ?? '';
      await fs.writeFile(path.join(tmp, 'build.log'), `${command}\n${log}\n`);
      if (run.exitCode !== 0 || run.failed) {
        const summary = extractDiagnostics(log, { tmpDir: tmp }) || log.split('\n').slice(-20).join('\n') || (run.shortMessage ?? 'unknown failure');
        throw new CompileError('nvcc', summary, log, command);
      }
      return {
        artifact: artifact.file,
        ptxas: parsePtxas(log),
        warnings: extractDiagnostics(log, { tmpDir: tmp, severity: 'warning' }),
        command,
      };
    },
    options.cacheDir,
  );
  return { path: path.join(entry.dir, entry.meta.artifact), ptxas: entry.meta.ptxas, warnings: entry.meta.warnings, key, cached: entry.hit };
}
