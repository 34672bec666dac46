// Which layer specs `regress` checks: every distinct spec of the chosen catalogs on every chosen
// target, with its default tiles (what `gen` commits). `--budget quick` narrows the defaults to one
// target and one catalog (a fixed, small subset that fits the CI budget); `--budget full` defaults to
// every committed catalog on every committed arch (INT4 on sm_80/86/89, NVFP4 and MXFP4 on sm_120a/121a:
// the variants `gen` renders per arch). Explicit --gpu/--catalog always win.
import { ALL_GENERATED_ARCHS, GENERATED_CATALOGS, catalogVariants, generationTarget } from '../codegen/generate.js';
import { defaultTiles } from '../codegen/default-tiles.js';
import { planLayer } from '../codegen/plan/index.js';
import { resolveModel, specsFor } from '../dsl/models/index.js';
import { resolveGpu } from '../dsl/targets.js';
import { UserError } from '../dsl/errors.js';
import type { ModelCatalog, SmArch, Target } from '../dsl/types.js';
import type { Budget, RegressSubject } from './types.js';

/** The quick budget's fixed subset: the three FLUX.1-dev layer specs on sm_89 (rtx4090). */
export const QUICK_GPUS: readonly string[] = ['sm_89'];
export const QUICK_CATALOGS: readonly string[] = ['flux.1-dev'];

/** The tile tokens of a GEMM URI (`_m128n128k64_w2x4_s2_smem_f32acc`): removed, the rest names the spec. */
const TILE_TOKENS = /_m\d+n\d+k\d+_w\d+x\d+_s\d+_(?:reg|smem)_(?:f32|f16)acc/;

/** The baseline key of a spec on a target: stable when the default tile changes, so a tile change shows as a diff. */
export function subjectId(target: Target, gemmUri: string): string {
  return `${target.id}/${gemmUri.replace(TILE_TOKENS, '')}`;
}

export interface SubjectSelection {
  gpus?: readonly string[];
  catalogs?: readonly string[];
  budget: Budget;
}

export function resolveSelection(o: SubjectSelection): { targets: Target[]; catalogs: ModelCatalog[] } {
  const explicit = o.gpus && o.gpus.length > 0;
  const gpus = explicit ? o.gpus! : o.budget === 'quick' ? QUICK_GPUS : ALL_GENERATED_ARCHS;
  const catalogIds = o.catalogs && o.catalogs.length > 0 ? o.catalogs : o.budget === 'quick' ? QUICK_CATALOGS : GENERATED_CATALOGS.map((c) => c.id);
  const targets: Target[] = [];
  for (const g of gpus) {
    // the committed archs are planned as `gen` plans them (sm_121a has no card in dsl/targets.ts yet)
    const t = (ALL_GENERATED_ARCHS as readonly string[]).includes(g) ? generationTarget(g as SmArch) : resolveGpu(g);
    if (!targets.some((x) => x.id === t.id)) targets.push(t);
  }
  const catalogs: ModelCatalog[] = [];
  for (const id of catalogIds) {
    let c: ModelCatalog;
    try {
      c = resolveModel(id);
    } catch (e) {
      throw new UserError((e as Error).message.replace('--model', '--catalog'));
    }
    if (!catalogs.includes(c)) catalogs.push(c);
  }
  return { targets, catalogs };
}

/** Every distinct (target, spec) of the selection, in a deterministic order (target, then subject id). */
export function selectSubjects(o: SubjectSelection): RegressSubject[] {
  const { targets, catalogs } = resolveSelection(o);
  const out: RegressSubject[] = [];
  for (const target of targets) {
    const byId = new Map<string, RegressSubject>();
    for (const catalog of catalogs) {
      for (const { layer, spec } of catalogVariants(target.arch).flatMap((v) => specsFor(catalog, v))) {
        const tiles = defaultTiles(spec, target);
        const plan = planLayer(spec, tiles, target);
        const id = subjectId(target, plan.gemm.uri);
        let s = byId.get(id);
        if (!s) {
          s = { id, arch: target.arch, target, spec, tiles, layers: [], catalogs: [] };
          byId.set(id, s);
        }
        s.layers.push(`${catalog.id}/${layer}`);
        if (!s.catalogs.includes(catalog)) s.catalogs.push(catalog);
      }
    }
    const list = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
    for (const s of list) s.layers.sort();
    out.push(...list);
  }
  return out;
}
