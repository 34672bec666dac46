// dist/emu/libsvdq_emu.so: the C ABI compiled with g++ against the CPU emulator. runtime/emu/build.ts
// builds the engine as a static archive without -fPIC (programs only), so the engine's sources are
// compiled here again with its flags plus -fPIC and linked with the kernels and svdq_layer.cpp into one
// shared library. Content-addressed in the build cache: an unchanged build is a copy.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { UserError } from '../dsl/errors.js';
import { DEVICE_INCLUDE_DIR, EMU_DIR } from '../runtime/emu/build.js';
import { cacheKey, cachedBuild, treeDigest } from '../codegen/cache.js';
import { extractDiagnostics } from '../codegen/diagnostics.js';
import type { SourceFile } from './sources.js';

// runtime/emu/build.ts ENGINE_FLAGS (-ffp-contract=off keeps emulated float arithmetic bit-exact) + -fPIC.
export const EMU_LIB_FLAGS = ['-std=c++17', '-O2', '-pthread', '-fno-strict-aliasing', '-ffp-contract=off', '-fPIC'];

async function engineSources(): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(EMU_DIR, { withFileTypes: true })) if (e.isFile() && e.name.endsWith('.cpp')) out.push(path.join(EMU_DIR, e.name));
  return out.sort();
}

async function gxx(args: string[], cwd: string, what: string): Promise<void> {
  const r = await execa('g++', args, { cwd, reject: false, all: true, env: { LC_ALL: 'C' } });
  if (r.exitCode !== 0) {
    const log = r.all ?? '';
    throw new UserError(`g++ failed ${what}:\n${extractDiagnostics(log, { tmpDir: cwd, maxLines: 30 }) || log.split('\n').slice(0, 30).join('\n')}`);
  }
}

/**
 * Compiles `files` (a dist tree fragment: src/kernels/*.cu, src/svdq_kernels.h, src/svdq_layer.cpp,
 * include/**) with the emulator engine into a shared library; returns the cached library's path.
 */
export async function buildEmuSharedLibrary(files: readonly SourceFile[]): Promise<string> {
  const engine = await engineSources();
  const version = (await execa('g++', ['--version'])).stdout.split('\n')[0];
  const parts: string[] = ['svdq-export-emu-v1', version, EMU_LIB_FLAGS.join(' '), await treeDigest(EMU_DIR), await treeDigest(DEVICE_INCLUDE_DIR)];
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) parts.push(f.path, f.text);
  const entry = await cachedBuild(cacheKey(...parts), async (tmp) => {
    for (const f of files) {
      await fs.mkdir(path.dirname(path.join(tmp, f.path)), { recursive: true });
      await fs.writeFile(path.join(tmp, f.path), f.text);
    }
    const includes = [`-I${DEVICE_INCLUDE_DIR}`, `-I${EMU_DIR}`, `-I${path.join(tmp, 'include')}`, `-I${path.join(tmp, 'src')}`];
    const units = [...engine, ...files.filter((f) => /\.(cu|cpp)$/.test(f.path)).map((f) => path.join(tmp, f.path))];
    const limit = pLimit(Math.max(1, os.availableParallelism()));
    const objects = await Promise.all(
      units.map((src, i) =>
        limit(async () => {
          const obj = path.join(tmp, `obj${i}.o`);
          const lang = src.endsWith('.cu') ? ['-x', 'c++'] : [];
          await gxx([...EMU_LIB_FLAGS, ...includes, ...lang, '-c', src, '-o', obj], tmp, `compiling ${path.basename(src)} for libsvdq_emu.so`);
          return obj;
        }),
      ),
    );
    await gxx(['-shared', '-pthread', '-Wl,-soname,libsvdq_emu.so', ...objects, '-o', path.join(tmp, 'libsvdq_emu.so')], tmp, 'linking libsvdq_emu.so');
    await Promise.all(objects.map((o) => fs.rm(o)));
    return { units: units.length };
  });
  return path.join(entry.dir, 'libsvdq_emu.so');
}
