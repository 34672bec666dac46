// dist/lib built with nvcc and consumed by a CMake project through find_package(svdq), compiled with
// nvcc (no GPU is needed to build; nothing here runs on a GPU).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, type BuildResult } from '../../export/build.js';
import { nvccPath } from '../../codegen/nvcc.js';
import { SPEC } from './helpers.js';

const HERE = path.dirname(new URL(import.meta.url).pathname);
let dir: string;
let dist: BuildResult;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-export-cmake-'));
  dist = await buildPackage({ gpus: ['sm_89'], out: path.join(dir, 'dist'), specs: [SPEC], emu: false });
}, 600_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('dist/lib and find_package(svdq)', () => {
  it('ships shared and static libraries exporting the C ABI, with SASS for the target', async () => {
    expect(dist.files).toEqual(expect.arrayContaining(['lib/libsvdq.so', 'lib/libsvdq.a', 'cmake/svdqConfig.cmake', 'share/cmake/svdq/svdqConfig.cmake']));
    const syms = (await execa('nm', ['-D', '--defined-only', path.join(dist.out, 'lib', 'libsvdq.so')])).stdout;
    for (const s of ['svdq_layer_create', 'svdq_layer_run', 'svdq_layer_append_lora', 'svdq_layer_set_lora_scales', 'svdq_layer_workspace_size', 'svdq_last_error']) {
      expect(syms).toMatch(new RegExp(` T ${s}$`, 'm'));
    }
    const m = JSON.parse(await fs.readFile(path.join(dist.out, 'manifest.json'), 'utf8'));
    expect(m.toolchain.nvcc).toMatch(/^nvcc \d+\.\d+/);
    expect(m.libraries).toMatchObject({ shared: 'lib/libsvdq.so', static: 'lib/libsvdq.a', emu: null });
    // ptxas reported each kernel's resources for sm_89
    expect(m.kernels[0].ptxas.gemm[0]).toMatchObject({ arch: 'sm_89' });
    const elf = await execa('readelf', ['-S', path.join(dist.out, 'lib', 'libsvdq.so')]);
    expect(elf.stdout).toContain('.nv_fatbin');
  });

  it('a CMake project finds the package (svdq_DIR and CMAKE_PREFIX_PATH) and builds with nvcc', async () => {
    for (const [i, how] of [`-Dsvdq_DIR=${path.join(dist.out, 'cmake')}`, `-DCMAKE_PREFIX_PATH=${dist.out}`].entries()) {
      const build = path.join(dir, `build${i}`);
      const configure = await execa('cmake', ['-S', path.join(HERE, 'cmake-consumer'), '-B', build, `-DCMAKE_CUDA_COMPILER=${nvccPath()}`, '-DCMAKE_CUDA_ARCHITECTURES=89', how], { reject: false, all: true });
      expect(configure.all).toContain('svdq targets: sm_89');
      expect(configure.exitCode).toBe(0);
      if (i > 0) continue; // finding it both ways is the point; building once is enough
      const make = await execa('cmake', ['--build', build, '-j', '2'], { reject: false, all: true });
      expect(make.exitCode, make.all).toBe(0);
      const ldd = await execa('readelf', ['-d', path.join(build, 'consumer_shared')]);
      expect(ldd.stdout).toContain('libsvdq.so');
      await fs.access(path.join(build, 'consumer_static'));
    }
  }, 300_000);

  it('refuses a package version from another major series', async () => {
    const proj = path.join(dir, 'bad-version');
    await fs.mkdir(proj, { recursive: true });
    await fs.writeFile(path.join(proj, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.18)\nproject(p LANGUAGES NONE)\nfind_package(svdq 7.0 REQUIRED)\n');
    const r = await execa('cmake', ['-S', proj, '-B', path.join(proj, 'build'), `-Dsvdq_DIR=${path.join(dist.out, 'cmake')}`], { reject: false, all: true });
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toMatch(/svdq.*version/is);
  });
});
