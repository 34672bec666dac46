// The library's sources, rendered from templates/export (logic-less: every value below is decided
// here): the public header, the kernel table of one flavour (CUDA: every target's kernels; emulator:
// one target's), the C ABI implementation and the kernels' translation units.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Dtype16, EpilogueOp, SmArch } from '../dsl/types.js';
import { REPO_ROOT } from '../codegen/cache.js';
import { LAYOUT_VERSION } from '../codegen/layouts.js';
import { renderKernel, renderTemplate, TEMPLATES_DIR } from './render.js';
import type { ExportKernel, KernelSelection } from './kernels.js';

/** Bumped when svdq.h changes incompatibly. */
export const ABI_VERSION = 1;

const FORMAT_CODE = { int4: 0, nvfp4: 1, mxfp4: 2 } as const;
const DTYPE_CODE: Record<Dtype16, number> = { fp16: 0, bf16: 1 };
const EPILOGUE_FLAG: Partial<Record<EpilogueOp['op'], number>> = { bias: 1, lowrank: 2, silu: 4, gelu: 8 };

/** 'sm_89' → { sm: 89, exact: 0 }, 'sm_120a' → { sm: 120, exact: 1 }. */
export function smOf(arch: SmArch): { sm: number; exact: number } {
  const m = /^sm_(\d+)([af]?)$/.exec(arch)!;
  return { sm: Number(m[1]), exact: m[2] === 'a' ? 1 : 0 };
}

export const cFloat = (x: number): string => x.toPrecision(9);

export function epilogueFlags(ops: readonly EpilogueOp[]): number {
  return ops.reduce((a, o) => a | (EPILOGUE_FLAG[o.op] ?? 0), 0);
}

export interface SourceFile {
  /** Path relative to the dist root. */
  path: string;
  text: string;
}

export function renderHeader(): SourceFile[] {
  return [
    { path: 'include/svdq.h', text: renderTemplate('export/svdq.h.hbs', { abiVersion: ABI_VERSION, layoutVersion: LAYOUT_VERSION }) },
    { path: 'include/svdq/layer_args.h', text: readFileSync(path.join(REPO_ROOT, 'runtime', 'include', 'svdq', 'layer_args.h'), 'utf8') },
  ];
}

/** The kernel table for a subset of the selection (dispatch rows are re-indexed into the subset). */
export function renderKernelTable(sel: KernelSelection, keep: (k: ExportKernel) => boolean, flavour: 'cuda' | 'emu'): string {
  const index = new Map<number, number>();
  const kernels = sel.kernels.filter((k, i) => keep(k) && index.set(i, index.size) !== undefined);
  const rows = kernels.map((k) => {
    const f = k.spec.format;
    const { sm, exact } = smOf(k.gemm.arch);
    return {
      family: k.family,
      gemmUri: k.gemm.uri,
      actUri: k.act.uri,
      actSymbol: k.act.symbol,
      gemmSymbol: k.gemm.symbol,
      sm,
      smExact: exact,
      format: FORMAT_CODE[f.kind],
      group: f.group,
      scaleDtype: f.kind === 'int4' ? DTYPE_CODE[f.scaleDtype] : -1,
      dtype: DTYPE_CODE[k.spec.dtype],
      actUnsigned: k.spec.activation.unsigned ? 1 : 0,
      shift: cFloat(k.spec.activation.unsigned ? k.spec.activation.shift : 0),
      epilogue: epilogueFlags(k.spec.epilogue),
      rank: k.spec.lowRank.rank,
      isDefault: k.isDefault ? 1 : 0,
      blockM: k.gemm.tile.blockM,
    };
  });
  const dispatch = sel.dispatch.filter((d) => index.has(d.kernel)).map((d) => ({ ...d, kernel: index.get(d.kernel)! }));
  const buildInfo = JSON.stringify({
    abiVersion: ABI_VERSION,
    layoutVersion: LAYOUT_VERSION,
    flavour,
    targets: [...new Set(kernels.map((k) => k.target.id))],
    kernels: kernels.map((k) => ({ gemm: k.gemm.uri, act: k.act.uri, default: k.isDefault })),
  });
  return renderTemplate('export/svdq_kernels.h.hbs', {
    actLaunchers: [...new Set(kernels.map((k) => k.act.symbol))],
    gemmLaunchers: [...new Set(kernels.map((k) => k.gemm.symbol))],
    kernels: rows,
    dispatch,
    buildInfo: JSON.stringify(buildInfo), // a C string literal (JSON escapes are valid C escapes here)
  });
}

/** Every distinct kernel translation unit: `src/kernels/<uri>.cu` → source, with its arch. */
export function renderKernelSources(kernels: readonly ExportKernel[]): { path: string; text: string; arch: SmArch; uri: string }[] {
  const out = new Map<string, { path: string; text: string; arch: SmArch; uri: string }>();
  for (const k of kernels) {
    for (const p of [k.act, k.gemm]) {
      const file = `src/kernels/${p.uri}.cu`;
      if (!out.has(file)) out.set(file, { path: file, text: renderKernel(p), arch: p.arch, uri: p.uri });
    }
  }
  return [...out.values()];
}

export const LAYER_CPP = path.join(TEMPLATES_DIR, 'export', 'svdq_layer.cpp');
