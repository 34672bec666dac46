// dist/lib: every kernel compiled by nvcc for its own target (SASS only, one cubin per target inside the
// fatbin of its object; cached by content through codegen/nvcc.ts), the ABI implementation compiled as
// host code, then linked into libsvdq.so (against the shared CUDA runtime, so the caller's device
// pointers and streams are the library's) and archived into libsvdq.a.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { UserError } from '../dsl/errors.js';
import type { SmArch, Target } from '../dsl/types.js';
import { cacheKey, cacheRoot } from '../codegen/cache.js';
import { compileCuda, nvccPath, nvccVersion, type PtxasReport } from '../codegen/nvcc.js';

export interface CudaBuild {
  toolchain: string;
  shared: string;
  static: string;
  kernels: { uri: string; arch: SmArch; ptxas: PtxasReport[] }[];
}

/** Headers the ABI implementation includes, at a path named by their content (so compiles cache). */
async function stableIncludeDir(root: string): Promise<string> {
  const files = ['include/svdq.h', 'include/svdq/layer_args.h', 'src/svdq_kernels.h'];
  const texts = await Promise.all(files.map((f) => fs.readFile(path.join(root, f), 'utf8')));
  const dir = path.join(cacheRoot(), 'export-includes', cacheKey('svdq-export-includes-v1', ...files.flatMap((f, i) => [f, texts[i]])));
  for (let i = 0; i < files.length; i++) {
    const p = path.join(dir, path.basename(path.dirname(files[i])) === 'svdq' ? 'svdq' : '', path.basename(files[i]));
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, texts[i]);
  }
  return dir;
}

export async function buildCudaLibraries(o: { root: string; kernelSources: readonly { text: string; arch: SmArch; uri: string }[]; targets: readonly Target[] }): Promise<CudaBuild> {
  const toolchain = `nvcc ${await nvccVersion()}`;
  const pic = ['-Xcompiler', '-fPIC'];
  const limit = pLimit(2);
  const kernels = await Promise.all(
    o.kernelSources.map((k) =>
      limit(async () => {
        const r = await compileCuda({ sources: [{ name: `${k.uri}.cu`, text: k.text }], arch: k.arch, kind: 'object', extraFlags: pic });
        return { uri: k.uri, arch: k.arch, ptxas: r.ptxas, object: r.path };
      }),
    ),
  );
  const includes = await stableIncludeDir(o.root);
  const layer = await compileCuda({
    sources: [{ name: 'svdq_layer.cpp', text: await fs.readFile(path.join(o.root, 'src', 'svdq_layer.cpp'), 'utf8') }],
    arch: o.targets[0].arch,
    kind: 'object',
    extraFlags: pic,
    includeDirs: [includes],
  });
  const lib = path.join(o.root, 'lib');
  await fs.mkdir(lib, { recursive: true });
  const objects = [...kernels.map((k) => k.object), layer.path];
  const shared = path.join(lib, 'libsvdq.so');
  const link = await execa(nvccPath(), ['-shared', '-cudart', 'shared', '-Xlinker', '-soname,libsvdq.so', ...objects, '-o', shared], { reject: false, all: true });
  if (link.exitCode !== 0) throw new UserError(`nvcc failed linking libsvdq.so:\n${(link.all ?? '').split('\n').slice(0, 30).join('\n')}`);
  const archive = path.join(lib, 'libsvdq.a');
  const ar = await execa('ar', ['rcs', archive, ...objects], { reject: false, all: true });
  if (ar.exitCode !== 0) throw new UserError(`ar failed creating libsvdq.a:\n${ar.all ?? ''}`);
  return { toolchain, shared: 'lib/libsvdq.so', static: 'lib/libsvdq.a', kernels: kernels.map(({ uri, arch, ptxas }) => ({ uri, arch, ptxas })) };
}
