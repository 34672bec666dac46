// `build --spec FILE`: the package of a user's own DSL specs. Each spec must run on every target asked
// for (a clear error naming the file and label, not a silent skip), and only the tuning records of the
// spec file's own kernel families become dispatch rows: a shared database also holds other models'
// records, whose kernels do not belong in this package.
import { checkSpecOnTarget } from '../dsl/compat.js';
import { UserError } from '../dsl/errors.js';
import type { KernelSpec, Target } from '../dsl/types.js';
import { defaultTiles } from '../codegen/default-tiles.js';
import { planGemm } from '../codegen/plan/gemm.js';
import { familyOfGemmUri, type TuneRecord } from '../tuner/records.js';

/** Kernel family of each spec on each target ('<target id>|<family>'), after checking the spec runs there. */
function familiesOf(specs: readonly KernelSpec[], targets: readonly Target[], file: string): Set<string> {
  const out = new Set<string>();
  for (const t of targets) {
    specs.forEach((spec, i) => {
      try {
        checkSpecOnTarget(spec, t);
        out.add(`${t.id}|${familyOfGemmUri(planGemm(spec, defaultTiles(spec, t).gemm, t).uri)}`);
      } catch (e) {
        if (e instanceof UserError) throw new UserError(`--spec ${file}: ${spec.label ?? `spec${i}`} on ${t.arch}: ${e.message}`);
        throw e;
      }
    });
  }
  return out;
}

/** The records that tune the spec file's kernels (tune --spec wrote them) on the targets built. */
export function recordsForSpecs(records: readonly TuneRecord[], specs: readonly KernelSpec[], targets: readonly Target[], file: string): TuneRecord[] {
  const families = familiesOf(specs, targets, file);
  return records.filter((r) => families.has(`${r.target.id}|${r.family}`));
}
