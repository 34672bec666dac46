// The g++ driver for emulated programs. The engine (runtime/emu/*.cpp) is compiled once into a static
// library, content-addressed by its sources, the flags and the g++ version under <repo>/.cache/emu/.
// Programs (kernels + host code, .cu compiled as C++) are cached too: a recipe (sources, flags, defines)
// remembers the headers g++ reported (-MMD) and the binary is keyed by the content of all of them, so
// an edited header rebuilds and an unchanged program is reused. Publishing is one rename, so parallel
// vitest workers building the same thing both end up with one complete copy.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import writeFileAtomic from 'write-file-atomic';
import { cacheKey, cachedBuild, REPO_ROOT } from '../../codegen/cache.js';
import { extractDiagnostics } from '../../codegen/diagnostics.js';
import { UserError } from '../../dsl/errors.js';
import type { EmuLaunch } from './report.js';

export type { EmuLaunch, EmuReport, EmuSpaceCounters, EmuCounters } from './report.js';

export const EMU_DIR = path.join(REPO_ROOT, 'runtime', 'emu');
export const DEVICE_INCLUDE_DIR = path.join(REPO_ROOT, 'runtime', 'include');

/** `<repo>/.cache/emu`, or `$SVDQ_EMU_CACHE_DIR`. */
export function emuCacheRoot(): string {
  const env = process.env.SVDQ_EMU_CACHE_DIR;
  return env && env.length > 0 ? path.resolve(env) : path.join(REPO_ROOT, '.cache', 'emu');
}

// -ffp-contract=off: no FMA contraction, so emulated float arithmetic rounds where the source says (bit-exact twins).
const ENGINE_FLAGS = ['-std=c++17', '-O2', '-pthread', '-fno-strict-aliasing', '-ffp-contract=off'];

let gxxVersion: Promise<string> | undefined;
function gxx(): Promise<string> {
  gxxVersion ??= execa('g++', ['--version'], { env: { LC_ALL: 'C' } }).then(
    (r) => r.stdout.split('\n')[0] ?? 'g++',
    () => {
      throw new UserError('g++: not found on PATH; the CPU emulator needs g++ >= 11 (C++17)');
    },
  );
  return gxxVersion;
}

async function listFiles(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && keep(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

async function runGxx(args: string[], cwd: string, what: string): Promise<void> {
  const r = await execa('g++', args, { cwd, reject: false, all: true, env: { LC_ALL: 'C' } });
  if (r.exitCode !== 0) {
    const log = r.all ?? `${r.stdout}\n${r.stderr}`;
    const lines = extractDiagnostics(log, { tmpDir: cwd, maxLines: 30 }) || log.split('\n').slice(0, 30).join('\n');
    throw new UserError(`g++ failed ${what}:\n${lines}`);
  }
}

let engineLib: Promise<string> | undefined;

/** Path of the engine's static library, built on first use (runtime/emu/*.cpp and isa/**.cpp). */
export function buildEngineLibrary(): Promise<string> {
  engineLib ??= (async () => {
    let files = await listFiles(EMU_DIR, (n) => /\.(h|cpp|S)$/.test(n));
    // isa/ is header-only twins compiled into each program; its headers matter here only if it has .cpp.
    const isa = path.join(EMU_DIR, 'isa') + path.sep;
    if (!files.some((f) => f.startsWith(isa) && f.endsWith('.cpp'))) files = files.filter((f) => !f.startsWith(isa));
    const sources = files.filter((f) => f.endsWith('.cpp') || f.endsWith('.S'));
    const parts: string[] = [await gxx(), ENGINE_FLAGS.join(' ')];
    for (const f of files) parts.push(path.relative(EMU_DIR, f), await fs.readFile(f, 'utf8'));
    const key = cacheKey('svdq-emu-engine-v1', ...parts);
    const entry = await cachedBuild(
      key,
      async (tmp) => {
        const objects = await Promise.all(
          sources.map(async (src, i) => {
            const obj = path.join(tmp, `${i}_${path.basename(src)}.o`);
            await runGxx([...ENGINE_FLAGS, '-c', src, '-o', obj], tmp, `compiling the emulator engine (${path.relative(REPO_ROOT, src)})`);
            return obj;
          }),
        );
        await execa('ar', ['rcs', path.join(tmp, 'libsvdqemu.a'), ...objects]);
        await Promise.all(objects.map((o) => fs.rm(o)));
        return { sources: sources.map((s) => path.relative(REPO_ROOT, s)) };
      },
      path.join(emuCacheRoot(), 'engine'),
    );
    return path.join(entry.dir, 'libsvdqemu.a');
  })();
  engineLib.catch(() => {
    engineLib = undefined; // let a fixed source retry
  });
  return engineLib;
}

export interface EmuBuildOptions {
  /** Kernel and host sources; `.cu` files are compiled as C++. */
  sources: string[];
  includeDirs?: string[];
  defines?: Record<string, string>;
  /** Copy the binary here as well (otherwise the cached path is returned). */
  out?: string;
  /** -O2 (default) or -O0 -g for debugging. The engine library is always -O2. */
  optimize?: boolean;
}

interface ProgramMeta {
  deps: string[];
}

async function digestFiles(files: string[]): Promise<string[]> {
  const parts: string[] = [];
  for (const f of files) {
    parts.push(f);
    parts.push(await fs.readFile(f, 'utf8').catch(() => '\0missing'));
  }
  return parts;
}

function parseDeps(text: string): string[] {
  const body = text.replace(/\\\r?\n/g, ' ');
  const colon = body.indexOf(': ');
  return body
    .slice(colon + 2)
    .split(/(?<!\\)\s+/)
    .map((s) => s.replace(/\\ /g, ' '))
    .filter((s) => s.length > 0);
}

/** Compiles and links a program against the emulator; returns the binary's path. */
export async function buildEmuProgram(options: EmuBuildOptions): Promise<string> {
  if (options.sources.length === 0) throw new UserError('buildEmuProgram: sources is empty; pass at least one .cu/.cpp file');
  const sources = options.sources.map((s) => path.resolve(s));
  for (const s of sources) {
    await fs.access(s).catch(() => {
      throw new UserError(`buildEmuProgram: source '${s}' does not exist`);
    });
  }
  const lib = await buildEngineLibrary();
  const flags = [
    '-std=c++17',
    ...(options.optimize === false ? ['-O0', '-g'] : ['-O2']),
    '-pthread',
    '-fno-strict-aliasing',
    '-ffp-contract=off',
    `-I${DEVICE_INCLUDE_DIR}`,
    `-I${EMU_DIR}`,
    ...(options.includeDirs ?? []).map((d) => `-I${path.resolve(d)}`),
    ...Object.entries(options.defines ?? {}).map(([k, v]) => `-D${k}=${v}`),
  ];
  const root = path.join(emuCacheRoot(), 'programs');
  const recipe = cacheKey('svdq-emu-program-v1', await gxx(), lib, flags.join('\0'), ...(await digestFiles(sources)));
  const manifest = path.join(root, 'recipes', `${recipe}.json`);
  const fullKey = (deps: string[]) => digestFiles(deps).then((d) => cacheKey(recipe, ...d));

  let binary: string | undefined;
  const known = await fs
    .readFile(manifest, 'utf8')
    .then((t) => JSON.parse(t) as ProgramMeta)
    .catch(() => undefined);
  if (known) {
    const dir = path.join(root, 'bin', await fullKey(known.deps));
    const candidate = path.join(dir, 'program');
    if (await fs.access(candidate).then(() => true, () => false)) binary = candidate;
  }
  if (!binary) {
    // Build privately, then publish under the key of the headers g++ actually read.
    const tmp = path.join(root, 'tmp', `${recipe.slice(0, 16)}.${process.pid}.${randomBytes(6).toString('hex')}`);
    await fs.mkdir(tmp, { recursive: true });
    try {
      const deps = new Set<string>();
      const objects = await Promise.all(
        sources.map(async (src, i) => {
          const obj = path.join(tmp, `${i}.o`);
          const dep = path.join(tmp, `${i}.d`);
          const lang = src.endsWith('.cu') || src.endsWith('.cuh') ? ['-x', 'c++'] : [];
          await runGxx([...flags, '-MMD', '-MF', dep, ...lang, '-c', src, '-o', obj], tmp, `compiling ${path.relative(process.cwd(), src)}`);
          for (const d of parseDeps(await fs.readFile(dep, 'utf8'))) deps.add(path.resolve(tmp, d));
          return obj;
        }),
      );
      await runGxx([...objects, lib, '-pthread', '-o', path.join(tmp, 'program')], tmp, `linking ${sources.map((s) => path.basename(s)).join(' ')}`);
      await Promise.all(objects.map((o) => fs.rm(o)));
      const depList = [...deps].sort();
      const key = await fullKey(depList);
      const dir = path.join(root, 'bin', key);
      await fs.mkdir(path.dirname(dir), { recursive: true });
      try {
        await fs.rename(tmp, dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        await fs.rm(tmp, { recursive: true, force: true }); // an identical build won the race
      }
      await fs.mkdir(path.dirname(manifest), { recursive: true });
      await writeFileAtomic(manifest, JSON.stringify({ deps: depList } satisfies ProgramMeta));
      binary = path.join(dir, 'program');
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  if (options.out) {
    const out = path.resolve(options.out);
    await fs.mkdir(path.dirname(out), { recursive: true });
    const tmpOut = `${out}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.copyFile(binary, tmpOut);
    await fs.chmod(tmpOut, 0o755);
    await fs.rename(tmpOut, out);
    return out;
  }
  return binary;
}

export interface EmuRunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the program after this many milliseconds (default: no limit). */
  timeoutMs?: number;
  input?: string;
}

export interface EmuRunResult {
  /** Exit code; -1 if the program was killed by a signal (see `signal`). */
  code: number;
  signal?: string;
  stdout: string;
  stderr: string;
  /** Every kernel launch with its findings and counters (from SVDQ_EMU_REPORT). */
  reports: EmuLaunch[];
}

/** Runs an emulated program with SVDQ_EMU_REPORT pointed at a private file and returns its launches. */
export async function runEmuProgram(binary: string, args: string[] = [], options: EmuRunOptions = {}): Promise<EmuRunResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-emu-run-'));
  const reportPath = path.join(dir, 'report.json');
  try {
    const r = await execa(binary, args, {
      reject: false,
      cwd: options.cwd,
      input: options.input,
      timeout: options.timeoutMs,
      maxBuffer: 256 * 1024 * 1024,
      env: { ...options.env, SVDQ_EMU_REPORT: reportPath },
    });
    const text = await fs.readFile(reportPath, 'utf8').catch(() => undefined);
    const reports = text ? ((JSON.parse(text) as { launches: EmuLaunch[] }).launches ?? []) : [];
    return {
      code: typeof r.exitCode === 'number' ? r.exitCode : -1,
      signal: r.signal ?? undefined,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      reports,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
