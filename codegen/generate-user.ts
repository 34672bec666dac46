// `svdq-codegen gen --spec FILE --gpu G --out DIR`: renders the kernels of a user's own DSL file (a .ts
// loaded without a build step) for one GPU, with the target's default tiles, into a folder of its own
// that compiles without this repository:
//   DIR/<uri>.cu        each spec's activation kernel and GEMM
//   DIR/include/svdq/   the device headers they include (+ DIR/emu/isa/, the scalar twins arch/ includes)
//   DIR/manifest.json   labels, URIs, launcher symbols, specs, the compile line
//   DIR/CMakeLists.txt  a static library of the kernels
//   DIR/README.md       the one-line nvcc command
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { checkSpecOnTarget } from '../dsl/compat.js';
import { loadUserSpecFile } from '../dsl/load.js';
import { resolveGpu } from '../dsl/targets.js';
import type { KernelSpec } from '../dsl/types.js';
import { REPO_ROOT } from './cache.js';
import { defaultTiles } from './default-tiles.js';
import { deviceHeaderClosure } from './device-headers.js';
import { kernelCodeFlags } from './nvcc.js';
import { planLayer } from './plan/index.js';
import { renderKernel, renderTemplateFile } from './render.js';

export interface UserKernel {
  label: string;
  file: string;
  uri: string;
}

export interface UserSpecOutput {
  kernels: UserKernel[];
  /** Every file written, relative to the output folder. */
  files: string[];
  /** The command (run in the output folder) that compiles every kernel to an object file. */
  compileLine: string;
}

interface Planned {
  label: string;
  spec: KernelSpec;
  units: { kind: 'act' | 'gemm'; uri: string; symbol: string; text: string }[];
}

/** Shell-quotes one argument for the documented command line (flags here are plain; be safe anyway). */
const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

async function generatorVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return `svdq-codegen ${pkg.version}`;
}

export async function generateUserSpecs(o: { specFile: string; gpu: string; outDir: string }): Promise<UserSpecOutput> {
  const target = resolveGpu(o.gpu);
  const specs = await loadUserSpecFile(o.specFile);
  // Plan and render everything first, so a spec the target cannot run leaves no half-written folder.
  const planned: Planned[] = specs.map((spec, i) => {
    const label = spec.label ?? `spec${i}`;
    checkSpecOnTarget(spec, target);
    const plan = planLayer(spec, defaultTiles(spec, target), target);
    return {
      label,
      spec,
      units: [
        { kind: 'act', uri: plan.act.uri, symbol: plan.act.symbol, text: renderKernel(plan.act) },
        { kind: 'gemm', uri: plan.gemm.uri, symbol: plan.gemm.symbol, text: renderKernel(plan.gemm) },
      ],
    };
  });
  // Two labels with the same kernels share one translation unit (a second copy would define the
  // launcher twice when both are linked).
  const sources = new Map<string, string>();
  for (const p of planned) for (const u of p.units) sources.set(`${u.uri}.cu`, u.text);
  const headers = deviceHeaderClosure([...sources.values()]);
  const flags = kernelCodeFlags(target.arch);
  const compileLine = ['nvcc', ...flags, '-Iinclude', '-c', '*.cu'].map((w) => (w === '*.cu' ? w : shellWord(w))).join(' ');
  const specFile = path.basename(o.specFile);
  const generator = await generatorVersion();
  const manifest = {
    generator,
    specFile,
    target: { id: target.id, arch: target.arch, name: target.name },
    compile: { command: compileLine, cwd: 'this folder', cmake: 'CMakeLists.txt' },
    kernels: planned.flatMap((p) => p.units.map((u) => ({ label: p.label, kind: u.kind, uri: u.uri, file: `${u.uri}.cu`, symbol: u.symbol, spec: p.spec }))),
    headers: headers.map((h) => h.path),
  };
  // The arch flag pair stays one CMake option (`SHELL:-gencode arch=…`), the rest one each.
  const cmakeFlags = [`${flags[0]} ${flags[1]}`, ...flags.slice(2)];
  const files: [string, string][] = [
    ...[...sources].map(([name, text]) => [name, text] as [string, string]),
    ...headers.map((h) => [h.path, h.text] as [string, string]),
    ['manifest.json', `${JSON.stringify(manifest, null, 2)}\n`],
    ['CMakeLists.txt', renderTemplateFile('user/CMakeLists.txt.hbs', { specFile, gpu: o.gpu, arch: target.arch, sources: [...sources.keys()], flags: cmakeFlags })],
    ['README.md', renderTemplateFile('user/README.md.hbs', { specFile, gpu: o.gpu, arch: target.arch, generator, compileLine })],
  ];
  for (const [name, text] of files) {
    const file = path.join(o.outDir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, text);
  }
  const kernels = planned.flatMap((p) => p.units.map((u) => ({ label: p.label, file: path.join(o.outDir, `${u.uri}.cu`), uri: u.uri })));
  return { kernels, files: files.map(([name]) => name), compileLine };
}
