// Which kernels an export contains and how the library finds them: per target, every layer spec's
// default tiles (the family's safe default for unseen shapes), any extra tile configs asked for, and
// every kernel the tuning records chose; the records' dispatch rows (tuner/dispatch.ts) point into
// that list. Kernels the single-layer C ABI cannot drive (qnext epilogues, which need the next layer)
// are left out and reported.
import { UserError } from '../dsl/errors.js';
import type { ActTile, GemmTile, KernelSpec, Target } from '../dsl/types.js';
import { buildDispatchTable } from '../tuner/dispatch.js';
import { familyOfGemmUri, type TuneRecord } from '../tuner/records.js';
import { defaultTiles } from '../codegen/default-tiles.js';
import { planLayer, type ActPlan, type GemmPlan } from '../codegen/plan/index.js';
import { parseUri } from '../codegen/uri.js';

export interface ExportKernel {
  family: string;
  target: Target;
  spec: KernelSpec;
  act: ActPlan;
  gemm: GemmPlan;
  isDefault: boolean;
}

export interface ExportDispatchRow {
  kernel: number;
  n: number;
  k: number;
  mLo: number;
  mHi: number;
  provenance: string;
  label: 'measured' | 'predicted';
}

export interface KernelSelection {
  kernels: ExportKernel[];
  dispatch: ExportDispatchRow[];
  /** Specs or URIs left out, with the reason. */
  skipped: { what: string; why: string }[];
}

export interface SelectOptions {
  /** The specs to export, for every target alike, or per target (e.g. each in its native 4-bit format). */
  specs: readonly KernelSpec[] | ((target: Target) => readonly KernelSpec[]);
  targets: readonly Target[];
  /** Extra GEMM tiles to compile for every spec (besides its default). */
  extraTiles?: readonly GemmTile[];
  records?: readonly TuneRecord[];
}

const key = (s: KernelSpec) => JSON.stringify({ f: s.format, a: s.activation, d: s.dtype, r: s.lowRank.rank, e: s.epilogue });

function unsupported(spec: KernelSpec): string | undefined {
  if (spec.epilogue.some((o) => o.op === 'qnext')) return 'qnext epilogues need the next layer; the single-layer ABI runs layers without them';
  return undefined;
}

export function selectKernels(o: SelectOptions): KernelSelection {
  const kernels: ExportKernel[] = [];
  const byUri = new Map<string, number>();
  const skipped: KernelSelection['skipped'] = [];
  const add = (spec: KernelSpec, gemm: GemmTile, act: ActTile, target: Target, isDefault: boolean): number => {
    const plan = planLayer(spec, { gemm, act }, target);
    const known = byUri.get(plan.gemm.uri);
    if (known !== undefined) {
      kernels[known].isDefault ||= isDefault;
      return known;
    }
    kernels.push({ family: familyOfGemmUri(plan.gemm.uri), target, spec, act: plan.act, gemm: plan.gemm, isDefault });
    byUri.set(plan.gemm.uri, kernels.length - 1);
    return kernels.length - 1;
  };
  const specsOf = (t: Target): KernelSpec[] => {
    const list = typeof o.specs === 'function' ? o.specs(t) : o.specs;
    return [...new Map(list.map((s) => [key(s), s])).values()];
  };
  for (const target of o.targets) {
    for (const spec of specsOf(target)) {
      const why = unsupported(spec);
      if (why) {
        skipped.push({ what: spec.label ?? key(spec), why });
        continue;
      }
      let tiles: ReturnType<typeof defaultTiles>;
      try {
        tiles = defaultTiles(spec, target);
        add(spec, tiles.gemm, tiles.act, target, true);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        skipped.push({ what: `${spec.label ?? key(spec)} on ${target.arch}`, why: e.message });
        continue;
      }
      for (const t of o.extraTiles ?? []) {
        try {
          add(spec, t, tiles.act, target, false);
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          skipped.push({ what: `${spec.label ?? 'spec'} with tile ${JSON.stringify(t)} on ${target.arch}`, why: e.message });
        }
      }
    }
  }
  const dispatch: ExportDispatchRow[] = [];
  for (const target of o.targets) {
    const table = buildDispatchTable(o.records ?? [], target.id);
    for (const e of table.entries) {
      const g = parseUri(e.gemmUri);
      if (g.kind !== 'gemm') continue;
      const why = unsupported(g.spec);
      if (why) {
        skipped.push({ what: e.gemmUri, why });
        continue;
      }
      // a qnext-fed layer has no activation kernel in its record; the ABI always quantizes X itself
      const a = e.actUri ? parseUri(e.actUri) : undefined;
      const actTile = a && a.kind === 'act' ? a.tile : defaultTiles(g.spec, target).act;
      const index = add(g.spec, g.tile, actTile, target, false);
      dispatch.push({ kernel: index, n: e.n, k: e.k, mLo: e.mLo, mHi: e.mHi, label: e.label, provenance: `${e.label} ${e.timeUs.toFixed(2)} us` });
    }
  }
  if (kernels.length === 0) throw new UserError(`build: no kernel to export (${skipped.map((s) => `${s.what}: ${s.why}`).join('; ') || 'no spec given'})`);
  return { kernels, dispatch, skipped };
}
