// dist/manifest.json: what the package holds — kernels (URIs, targets, which is each family's default,
// ptxas resources), the tuned dispatch rows and their provenance (measured or predicted), the layout
// and ABI versions, the toolchains. Deterministic (no timestamps): the same build gives the same file.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Target } from '../dsl/types.js';
import { LAYOUT_VERSION } from '../codegen/layouts.js';
import { TOOL_VERSION } from './pack/pack.js';
import type { KernelSelection } from './kernels.js';
import type { CudaBuild } from './nvcc-lib.js';
import { ABI_VERSION } from './sources.js';

export async function writeManifest(root: string, o: { selection: KernelSelection; targets: readonly Target[]; emuTarget?: Target; cuda?: CudaBuild }): Promise<void> {
  const gxx = await execa('g++', ['--version']).then((r) => r.stdout.split('\n')[0], () => null);
  const ptxas = new Map((o.cuda?.kernels ?? []).map((k) => [k.uri, k.ptxas]));
  const labels = new Set(o.selection.dispatch.map((d) => d.label));
  const manifest = {
    generator: `svdq-codegen build ${TOOL_VERSION}`,
    abiVersion: ABI_VERSION,
    layoutVersion: LAYOUT_VERSION,
    targets: o.targets.map((t) => ({ id: t.id, arch: t.arch, name: t.name })),
    toolchain: { nvcc: o.cuda?.toolchain ?? null, gxx, emulatorTarget: o.emuTarget?.id ?? null },
    libraries: {
      shared: o.cuda ? o.cuda.shared : null,
      static: o.cuda ? o.cuda.static : null,
      emu: o.emuTarget ? 'emu/libsvdq_emu.so' : null,
      header: 'include/svdq.h',
      cmake: 'cmake/svdqConfig.cmake',
      torch: 'torch/svdq/__init__.py',
    },
    tuning: {
      provenance: labels.size === 0 ? 'none (default tiles only)' : [...labels].sort().join('+'),
      dispatch: o.selection.dispatch.map((d) => ({ gemm: o.selection.kernels[d.kernel].gemm.uri, n: d.n, k: d.k, mLo: d.mLo, mHi: d.mHi, provenance: d.provenance })),
    },
    kernels: o.selection.kernels.map((k) => ({
      family: k.family,
      target: k.target.id,
      arch: k.gemm.arch,
      gemm: k.gemm.uri,
      act: k.act.uri,
      default: k.isDefault,
      inEmu: o.emuTarget?.id === k.target.id,
      ptxas: { gemm: ptxas.get(k.gemm.uri) ?? null, act: ptxas.get(k.act.uri) ?? null },
    })),
    skipped: o.selection.skipped,
  };
  await fs.writeFile(path.join(root, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
