// `svdq-codegen gen --spec FILE --gpu G`: renders the kernels of a user's own DSL file (a .ts loaded
// without a build step) for one GPU, with the target's default tiles, into a folder of its own.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { checkSpecOnTarget } from '../dsl/compat.js';
import { loadUserSpecFile } from '../dsl/load.js';
import { resolveGpu } from '../dsl/targets.js';
import { defaultTiles } from './default-tiles.js';
import { planLayer } from './plan/index.js';
import { renderLayerSources } from './render.js';

export interface UserKernel {
  label: string;
  file: string;
  uri: string;
}

export async function generateUserSpecs(o: { specFile: string; gpu: string; outDir: string }): Promise<UserKernel[]> {
  const target = resolveGpu(o.gpu);
  const specs = await loadUserSpecFile(o.specFile);
  // Plan everything first, so a spec the target cannot run leaves no half-written folder behind.
  const rendered = specs.map((spec, i) => {
    const label = spec.label ?? `spec${i}`;
    checkSpecOnTarget(spec, target);
    const plan = planLayer(spec, defaultTiles(spec, target), target);
    return { label, sources: renderLayerSources(plan) };
  });
  await mkdir(o.outDir, { recursive: true });
  const written: UserKernel[] = [];
  for (const { label, sources } of rendered) {
    for (const [name, text] of sources) {
      const file = path.join(o.outDir, name);
      await writeFileAtomic(file, text);
      written.push({ label, file, uri: name.replace(/\.cu$/, '') });
    }
  }
  return written;
}
