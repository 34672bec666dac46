// `build --embed`: dist/embed/<family>.h + <family>.cpp per kernel family (Triton-AOT style). Each
// kernel's translation unit is compiled to a cubin for its own target (nvcc, cached by content), the
// cubins become byte arrays in the source, and driver-API launchers (cuModuleLoadData at first use,
// cuLaunchKernel) replace the runtime-API ones — so a runtime that vendors sources needs neither
// libsvdq.so nor nvcc, only the CUDA headers and libcuda. The launchers' argument checks are the
// library's own headers, vendored into the source.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { UserError } from '../dsl/errors.js';
import { REPO_ROOT } from '../codegen/cache.js';
import { compileCuda, nvccVersion, type PtxasReport } from '../codegen/nvcc.js';
import { renderKernel, renderTemplate } from './render.js';
import type { ExportKernel, KernelSelection } from './kernels.js';
import type { SourceFile } from './sources.js';

const INCLUDE = path.join(REPO_ROOT, 'runtime', 'include', 'svdq');

/** A header's text for vendoring into another file: its own quoted includes and `#pragma once` dropped
 * (the family header provides svdq_*_args_t; a `#pragma once` in a main file is a warning). */
export function vendoredText(relPath: string): string {
  const text = readFileSync(path.join(INCLUDE, relPath), 'utf8');
  return text
    .split('\n')
    .filter((l) => !/^\s*#\s*include\s*"/.test(l) && !/^\s*#\s*pragma\s+once\b/.test(l))
    .join('\n')
    .trimEnd();
}

/** A C identifier from a family or URI ('…_sm89_bias-lora' → '…_sm89_bias_lora'). */
export const cIdent = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');

/** A cubin as C initializer lines, 16 bytes each. */
export function byteLines(bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push(Array.from(bytes.subarray(i, i + 16), (b) => `0x${b.toString(16).padStart(2, '0')},`).join(' '));
  }
  return lines;
}

interface Cubin {
  uri: string;
  bytes: Uint8Array;
  entries: PtxasReport[];
}

async function compileCubin(uri: string, text: string, arch: string): Promise<Cubin> {
  const r = await compileCuda({ sources: [{ name: `${uri}.cu`, text }], arch, kind: 'cubin' });
  const entries = r.ptxas.filter((p) => p.entry && p.arch === arch);
  return { uri, bytes: new Uint8Array(readFileSync(r.path)), entries };
}

/** The activation cubin's two entries (16-byte loads of X, and element by element), told apart by their demangled names. */
async function actEntries(c: Cubin): Promise<{ vec: string; scalar: string }> {
  const names = c.entries.map((e) => e.kernel);
  const demangled = (await execa('c++filt', [], { input: names.join('\n') })).stdout.split('\n');
  const pick = (flag: 'true' | 'false') => names.filter((_, i) => new RegExp(`act_kernel<.*, ${flag}>\\(`).test(demangled[i] ?? ''));
  const vec = pick('true');
  const scalar = pick('false');
  if (vec.length !== 1 || scalar.length !== 1) {
    throw new UserError(`build --embed: ${c.uri}: expected one act_kernel<…, true> and one <…, false> entry in its cubin, found: ${demangled.join('; ') || 'none'}`);
  }
  return { vec: vec[0], scalar: scalar[0] };
}

function gemmEntry(c: Cubin, kernelName: string): string {
  const hit = c.entries.filter((e) => e.kernel.includes(kernelName));
  if (hit.length !== 1) throw new UserError(`build --embed: ${c.uri}: expected one entry named like ${kernelName} in its cubin, found: ${c.entries.map((e) => e.kernel).join('; ') || 'none'}`);
  return hit[0].kernel;
}

export interface EmbeddedFamily {
  family: string;
  header: string;
  source: string;
  /** The cubins embedded, in the source's order (tests compare them with nvcc's own output). */
  cubins: { uri: string; bytes: number }[];
}

/** dist/embed/: one header + source pair per kernel family of the selection. */
export async function renderEmbedded(sel: KernelSelection, onStep: (s: string) => void): Promise<{ files: SourceFile[]; families: EmbeddedFamily[] }> {
  const byFamily = new Map<string, ExportKernel[]>();
  for (const k of sel.kernels) byFamily.set(k.family, [...(byFamily.get(k.family) ?? []), k]);
  const toolchain = await nvccVersion();
  const vendoredActRules = vendoredText('act/launch_rules.h');
  const vendoredGemmRules = vendoredText('gemm/launch.h');
  const layerArgs = vendoredText('layer_args.h');
  const files: SourceFile[] = [];
  const families: EmbeddedFamily[] = [];
  for (const [family, kernels] of byFamily) {
    const arch = kernels[0].gemm.arch;
    onStep(`embed: compiling ${family} (${kernels.length} GEMM kernel(s)) to cubins for ${arch}`);
    const cubins: Cubin[] = [];
    const cubinIndex = new Map<string, number>();
    const cubinOf = async (plan: { uri: string; template: string }): Promise<number> => {
      let i = cubinIndex.get(plan.uri);
      if (i === undefined) {
        cubins.push(await compileCubin(plan.uri, renderKernel(plan), arch));
        i = cubins.length - 1;
        cubinIndex.set(plan.uri, i);
      }
      return i;
    };
    const entries: { cubin: number; name: string; smemBytes: number; what: string }[] = [];
    const entryOf = (e: (typeof entries)[number]): number => {
      const known = entries.findIndex((x) => x.cubin === e.cubin && x.name === e.name);
      if (known >= 0) return known;
      entries.push(e);
      return entries.length - 1;
    };
    const rows = [];
    for (const k of kernels) {
      const a = await cubinOf(k.act);
      const names = await actEntries(cubins[a]);
      const g = await cubinOf(k.gemm);
      const gemmLauncher = `svdq_embed_${cIdent(k.gemm.uri)}`;
      rows.push({
        gemmUri: k.gemm.uri,
        actUri: k.act.uri,
        gemmLauncher,
        actLauncher: `${gemmLauncher}_act`,
        defaultNote: k.isDefault ? ' (the family default: any N, K)' : '',
        epilogue: k.spec.epilogue.map((o) => o.op).join(' → '),
        actRules: [k.act.group, k.act.unitK, k.act.rank, k.act.blockM].join(', '),
        actBlockM: k.act.blockM,
        actThreads: k.act.threads,
        actVecEntry: entryOf({ cubin: a, name: names.vec, smemBytes: k.act.smemBytes, what: `${k.act.uri}, 16-byte loads of X` }),
        actScalarEntry: entryOf({ cubin: a, name: names.scalar, smemBytes: k.act.smemBytes, what: `${k.act.uri}, element loads of X` }),
        gemmRules: k.gemm.argRules,
        nPerBlock: k.gemm.grid.nPerBlock,
        mPerBlock: k.gemm.grid.mPerBlock,
        gemmThreads: k.gemm.threads,
        gemmEntry: entryOf({ cubin: g, name: gemmEntry(cubins[g], k.gemm.kernelName), smemBytes: k.gemm.smemBytes, what: k.gemm.uri }),
      });
    }
    const base = cIdent(family);
    const headerFile = `${base}.h`;
    const sourceFile = `${base}.cpp`;
    const prefix = `svdq_embed_${base}`;
    const header = renderTemplate('export/embed/family.h.hbs', { family, arch, sourceFile, kernels: rows, guard: `SVDQ_EMBED_${base.toUpperCase()}_H`, layerArgs, prefix });
    const source = renderTemplate('export/embed/family.cpp.hbs', {
      family,
      arch,
      headerFile,
      vendoredActRules,
      vendoredGemmRules,
      prefix,
      cubins: cubins.map((c, index) => ({ index, uri: c.uri, bytes: c.bytes.length, toolchain, lines: byteLines(c.bytes) })),
      entries,
      entryCount: entries.length,
      cubinCount: cubins.length,
      kernels: rows,
    });
    files.push({ path: `embed/${headerFile}`, text: header }, { path: `embed/${sourceFile}`, text: source });
    families.push({ family, header: `embed/${headerFile}`, source: `embed/${sourceFile}`, cubins: cubins.map((c) => ({ uri: c.uri, bytes: c.bytes.length })) });
  }
  return { files, families };
}
