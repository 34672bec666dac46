// `svdq-codegen gen`: renders the built-in catalogs' kernels (FLUX.1-dev and Qwen-Image layer specs:
// INT4 fp16 on sm_75, INT4 on sm_80, sm_86 and sm_89, NVFP4 and MXFP4 on sm_120a and sm_121a; default tiles) into
// generated/kernels/<arch>/<uri>.cu plus
// generated/manifest.json. Output is a pure function of the sources (sorted, no timestamps), written
// atomically; files of generated/kernels/ that the catalog no longer produces are removed. `check`
// compares without writing, so CI can fail on a stale generated/. generated/dispatch/ belongs to the tuner.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { REPO_ROOT } from './cache.js';
import { defaultTiles } from './default-tiles.js';
import { LAYOUT_VERSION } from './layouts.js';
import { planLayer } from './plan/index.js';
import { renderKernel } from './render.js';
import { formatByKind } from '../dsl/formats.js';
import { FLUX_DEV, QWEN_IMAGE, specsFor, type SpecOptions } from '../dsl/models/index.js';
import { resolveGpu } from '../dsl/targets.js';
import type { KernelSpec, ModelCatalog, SmArch, Target } from '../dsl/types.js';

/** The archs of the committed INT4 catalog (regress iterates these with the catalog's INT4 specs). */
export const GENERATED_ARCHS: readonly SmArch[] = ['sm_80', 'sm_86', 'sm_89'];
/** The archs of the committed FP4 catalog (NVFP4 and MXFP4). */
export const GENERATED_FP4_ARCHS: readonly SmArch[] = ['sm_120a', 'sm_121a'];
/**
 * The archs of the committed Turing catalog: INT4 with fp16 activations and scales, register staging
 * (no cp.async), the rank-32 low-rank branch on two mma.m16n8k8 f16 per k16 step (arch/mma_fp.h).
 */
export const GENERATED_TURING_ARCHS: readonly SmArch[] = ['sm_75'];
/** Every arch `gen` writes by default. */
export const ALL_GENERATED_ARCHS: readonly SmArch[] = [...GENERATED_TURING_ARCHS, ...GENERATED_ARCHS, ...GENERATED_FP4_ARCHS];

/** The catalog variants per arch: the formats (and 16-bit dtype) that arch runs natively. */
export function catalogVariants(arch: SmArch): SpecOptions[] {
  if (arch === 'sm_120a' || arch === 'sm_121a') {
    return [{ dtype: 'bf16', format: formatByKind('nvfp4') }, { dtype: 'bf16', format: formatByKind('mxfp4') }];
  }
  if (arch === 'sm_75') return [{ dtype: 'fp16', format: formatByKind('int4', 'fp16') }];
  return [{}];
}

/**
 * The target a generated arch is planned for. sm_121a (GB10, DGX Spark: dsl/targets.ts `gb10`) is planned
 * with the sm_120a target's facts and the arch token sm_121a: the per-block limits are the same CC 12.x
 * family values (gb10 assumes CC 12.0's), so the kernels are identical, and the committed catalog and
 * regression baseline keep their `rtx5090-limits-sm121a` keys. `build --gpu sm_121a` plans for gb10 itself.
 */
export function generationTarget(arch: SmArch): Target {
  if (arch === 'sm_121a') {
    const base = resolveGpu('sm_120a');
    return { ...base, id: `${base.id}-limits-sm121a`, name: `sm_121a (planned with ${base.name} limits)`, arch };
  }
  return resolveGpu(arch);
}
export const GENERATED_CATALOGS: readonly ModelCatalog[] = [FLUX_DEV, QWEN_IMAGE];

/**
 * A catalog's layer specs in the formats a target runs natively (catalogVariants): what `build` exports
 * for that target when no specs are given — INT4 on sm_80/86/89, INT4 fp16 on sm_75, NVFP4 and MXFP4 on
 * sm_120a/121a.
 */
export function catalogSpecs(catalog: ModelCatalog, arch: SmArch): KernelSpec[] {
  return catalogVariants(arch).flatMap((v) => specsFor(catalog, v).map((s) => s.spec));
}

export interface GenerateOptions {
  /** Output root (default <repo>/generated). */
  outDir?: string;
  /** Compare only; nothing is written. */
  check?: boolean;
  catalogs?: readonly ModelCatalog[];
  archs?: readonly SmArch[];
}

export interface GenerateResult {
  outDir: string;
  /** Every file this generator owns, relative to outDir, sorted. */
  files: string[];
  /** Written (or, with check, that would be written) because missing or different. */
  changed: string[];
  /** Owned files present on disk that the catalog no longer produces (removed unless check). */
  stale: string[];
  /** True when generated/ already matched. */
  upToDate: boolean;
}

interface ManifestKernel {
  uri: string;
  kind: 'act' | 'gemm';
  arch: SmArch;
  target: string;
  file: string;
  symbol: string;
  /** Catalog layers (`<model>/<layer>`) served by this kernel. */
  layers: string[];
}

/** The files of the generated catalog: relative path → content. */
export function renderCatalog(catalogs: readonly ModelCatalog[] = GENERATED_CATALOGS, archs: readonly SmArch[] = ALL_GENERATED_ARCHS): Map<string, string> {
  const files = new Map<string, string>();
  const kernels = new Map<string, ManifestKernel>();
  for (const arch of archs) {
    const target = generationTarget(arch);
    for (const catalog of catalogs) {
      for (const { layer, spec } of catalogVariants(arch).flatMap((v) => specsFor(catalog, v))) {
        const plan = planLayer(spec, defaultTiles(spec, target), target);
        for (const k of [plan.act, plan.gemm]) {
          const file = `kernels/${arch}/${k.uri}.cu`;
          let entry = kernels.get(file);
          if (!entry) {
            files.set(file, renderKernel(k));
            entry = { uri: k.uri, kind: k.kind, arch, target: target.id, file, symbol: k.symbol, layers: [] };
            kernels.set(file, entry);
          }
          entry.layers.push(`${catalog.id}/${layer}`);
        }
      }
    }
  }
  const list = [...kernels.values()].sort((a, b) => a.file.localeCompare(b.file));
  for (const k of list) k.layers.sort();
  const manifest = {
    generator: 'svdq-codegen gen',
    note: 'Generated by `svdq-codegen gen`; do not edit. Regenerate after changing templates, planners or catalogs.',
    layoutVersion: LAYOUT_VERSION,
    catalogs: catalogs.map((c) => c.id),
    archs: [...archs],
    kernels: list,
  };
  files.set('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
  return new Map([...files.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** Files under generated/kernels/ now (relative to outDir). */
async function ownedOnDisk(outDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(outDir, p).split(path.sep).join('/'));
    }
  };
  await walk(path.join(outDir, 'kernels'));
  return out.sort();
}

export async function generateCatalog(options: GenerateOptions = {}): Promise<GenerateResult> {
  const outDir = path.resolve(options.outDir ?? path.join(REPO_ROOT, 'generated'));
  const files = renderCatalog(options.catalogs, options.archs);
  const changed: string[] = [];
  for (const [rel, content] of files) {
    const current = await fs.readFile(path.join(outDir, rel), 'utf8').catch(() => undefined);
    if (current !== content) changed.push(rel);
  }
  const stale = (await ownedOnDisk(outDir)).filter((rel) => !files.has(rel));
  if (!options.check) {
    for (const rel of changed) {
      const target = path.join(outDir, rel);
      await fs.mkdir(path.dirname(target), { recursive: true });
      await writeFileAtomic(target, files.get(rel)!);
    }
    for (const rel of stale) await fs.rm(path.join(outDir, rel), { force: true });
    await removeEmptyDirs(path.join(outDir, 'kernels'));
  }
  return { outDir, files: [...files.keys()], changed, stale, upToDate: changed.length === 0 && stale.length === 0 };
}

async function removeEmptyDirs(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return;
  for (const e of entries) if (e.isDirectory()) await removeEmptyDirs(path.join(dir, e.name));
  const left = await fs.readdir(dir).catch(() => ['?']);
  if (left.length === 0) await fs.rmdir(dir).catch(() => undefined);
}
