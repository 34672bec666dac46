// `svdq-codegen build --gpu sm_89[,sm_120a] --out dist/`: the package other runtimes import.
//   dist/include/   svdq.h (the C ABI) + svdq/layer_args.h
//   dist/src/       the kernels, the kernel table and the ABI implementation (what was compiled)
//   dist/lib/       libsvdq.so + libsvdq.a, nvcc, one SASS per requested target
//   dist/emu/       libsvdq_emu.so, the same ABI on the CPU emulator
//   dist/cmake/     find_package(svdq) config (+ share/cmake/svdq for CMAKE_PREFIX_PATH)
//   dist/torch/svdq PyTorch extension + loader (`import svdq` with dist/torch on sys.path)
//   dist/manifest.json
//   dist/embed/     with --embed: <family>.h + <family>.cpp, cubins embedded (export/embed.ts)
// Every file is rendered or built first, then the whole tree replaces the old one in one rename.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { checkReplaceableDir, OWNED_MARKER } from '../codegen/paths.js';
import { UserError } from '../dsl/errors.js';
import { resolveModel } from '../dsl/models/index.js';
import { catalogSpecs } from '../codegen/generate.js';
import { resolveGpu } from '../dsl/targets.js';
import type { GemmTile, KernelSpec, Target } from '../dsl/types.js';
import type { TuneRecord } from '../tuner/records.js';
import { renderCmakeFiles } from './cmake.js';
import { buildEmuSharedLibrary } from './emu-lib.js';
import { renderEmbedded } from './embed.js';
import { selectKernels, type KernelSelection } from './kernels.js';
import { writeManifest } from './manifest.js';
import { buildCudaLibraries } from './nvcc-lib.js';
import { LAYER_CPP, renderHeader, renderKernelSources, renderKernelTable, type SourceFile } from './sources.js';
import { renderTorchFiles } from './torch.js';

export interface BuildOptions {
  /** GPU targets (arch or card id), e.g. ['sm_89', 'sm_120a']. */
  gpus: readonly string[];
  out: string;
  /** Layer specs to export (default: the model catalog's). */
  specs?: readonly KernelSpec[];
  /**
   * Model catalog id whose layer specs are exported when `specs` is absent (default flux.1-dev), per
   * target in its native 4-bit formats (codegen/generate.ts catalogSpecs).
   */
  model?: string;
  /** Extra GEMM tiles per spec besides the default (the tuned records add theirs). */
  extraTiles?: readonly GemmTile[];
  records?: readonly TuneRecord[];
  /** Build dist/lib with nvcc (default true). */
  cuda?: boolean;
  /** Build dist/emu with g++ (default true). */
  emu?: boolean;
  onStep?: (step: string) => void;
  /** Replace `out` even when it is a non-empty folder svdq-codegen did not create. */
  force?: boolean;
  /** Also write dist/embed/: a header + source pair per kernel family with its cubins embedded (export/embed.ts). */
  embed?: boolean;
}

export interface BuildResult {
  out: string;
  selection: KernelSelection;
  targets: Target[];
  files: string[];
}

async function writeTree(root: string, files: readonly SourceFile[]): Promise<void> {
  for (const f of files) {
    const p = path.join(root, f.path);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, f.text);
  }
}

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(root, p).split(path.sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

export async function buildPackage(o: BuildOptions): Promise<BuildResult> {
  if (o.gpus.length === 0) throw new UserError('--gpu: give at least one target, e.g. --gpu sm_89');
  // Before any work: never replace what the user owns (a folder of theirs, an input file), and fail
  // now, not after compiling, when the folder cannot be written.
  checkReplaceableDir(o.out, '--out', o.force ?? false);
  const targets = o.gpus.map((g) => resolveGpu(g));
  const catalog = o.specs ? undefined : resolveModel(o.model ?? 'flux.1-dev');
  const specs = o.specs ?? ((t: Target) => catalogSpecs(catalog!, t.arch));
  const step = o.onStep ?? (() => undefined);
  const selection = selectKernels({ specs, targets, extraTiles: o.extraTiles, records: o.records });

  const out = path.resolve(o.out);
  const stage = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await fs.mkdir(stage, { recursive: true });
  try {
    const kernelSources = renderKernelSources(selection.kernels);
    const layerCpp: SourceFile = { path: 'src/svdq_layer.cpp', text: await fs.readFile(LAYER_CPP, 'utf8') };
    const header = renderHeader();
    const cudaTable: SourceFile = { path: 'src/svdq_kernels.h', text: renderKernelTable(selection, () => true, 'cuda') };
    await writeTree(stage, [...header, ...kernelSources, layerCpp, cudaTable]);

    let emuTarget: Target | undefined;
    if (o.emu ?? true) {
      // The emulator runs any target's kernels; one target's set keeps the library small.
      emuTarget = targets[0];
      const mine = selection.kernels.filter((k) => k.target.id === emuTarget!.id);
      const emuTable: SourceFile = { path: 'src/svdq_kernels.h', text: renderKernelTable(selection, (k) => k.target.id === emuTarget!.id, 'emu') };
      const emuKernels = renderKernelSources(mine);
      step(`emu: compiling ${emuKernels.length} kernel(s) and the emulator with g++`);
      const lib = await buildEmuSharedLibrary([...header, ...emuKernels, layerCpp, emuTable]);
      await fs.mkdir(path.join(stage, 'emu'), { recursive: true });
      await fs.copyFile(lib, path.join(stage, 'emu', 'libsvdq_emu.so'));
      await writeTree(stage, [{ path: 'emu/svdq_kernels.h', text: emuTable.text }]);
    }
    let cuda: Awaited<ReturnType<typeof buildCudaLibraries>> | undefined;
    if (o.cuda ?? true) {
      step(`lib: compiling ${kernelSources.length} kernel(s) with nvcc for ${targets.map((t) => t.arch).join(', ')}`);
      cuda = await buildCudaLibraries({ root: stage, kernelSources, targets });
    }
    if (o.embed) {
      const embedded = await renderEmbedded(selection, step);
      await writeTree(stage, [...embedded.files, { path: 'embed/index.json', text: `${JSON.stringify({ families: embedded.families }, null, 2)}\n` }]);
    }
    await writeTree(stage, renderCmakeFiles({ targets, cuda: Boolean(cuda), emu: Boolean(emuTarget) }));
    await writeTree(stage, renderTorchFiles());
    await writeManifest(stage, { selection, targets, emuTarget, cuda });
    await fs.writeFile(path.join(stage, OWNED_MARKER), 'made by svdq-codegen build; a later build may replace this folder\n');

    await fs.rm(`${out}.old`, { recursive: true, force: true });
    const existed = await fs.stat(out).then(() => true, () => false);
    if (existed) await fs.rename(out, `${out}.old`);
    await fs.rename(stage, out);
    if (existed) await fs.rm(`${out}.old`, { recursive: true, force: true });
    return { out, selection, targets, files: await listTree(out) };
  } catch (e) {
    await fs.rm(stage, { recursive: true, force: true });
    throw e;
  }
}
