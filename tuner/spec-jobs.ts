// `tune --spec FILE --shapes …`: the problems a user's own DSL specs are tuned at. A spec says what the
// kernels compute, not the layer's size, so the shapes come from `--shapes`: `MxNxK` tunes every spec
// of the file at that problem, `LABEL=MxNxK` only the spec with that label. Every spec must get one.
import { checkSpecOnTarget } from '../dsl/compat.js';
import { UserError } from '../dsl/errors.js';
import type { KernelSpec, Target } from '../dsl/types.js';
import { parseShapeText } from './shape.js';

export interface SpecProblem {
  /** The record's layer name: the spec's label (or `spec<i>`) and the shape, e.g. 'proj@256x512x1024'. */
  layer: string;
  spec: KernelSpec;
  m: number;
  n: number;
  k: number;
}

const labelOf = (spec: KernelSpec, i: number) => spec.label ?? `spec${i}`;

export function specProblems(specs: readonly KernelSpec[], shapes: readonly string[], target: Target, file: string): SpecProblem[] {
  if (shapes.length === 0) {
    throw new UserError(`--spec ${file}: also give --shapes (a spec has no layer size): MxNxK for every spec, or LABEL=MxNxK per spec, e.g. --shapes ${labelOf(specs[0], 0)}=256x3072x3072`);
  }
  const labels = specs.map(labelOf);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  const perLabel = shapes.some((s) => s.includes('='));
  if (dup !== undefined && perLabel) throw new UserError(`--spec ${file}: two specs are labelled ${JSON.stringify(dup)}; LABEL=MxNxK needs distinct labels`);
  specs.forEach((spec, i) => {
    try {
      checkSpecOnTarget(spec, target);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`--spec ${file}: ${labels[i]}: ${e.message}`);
      throw e;
    }
  });
  const out: SpecProblem[] = [];
  for (const item of shapes) {
    const eq = item.indexOf('=');
    const label = eq >= 0 ? item.slice(0, eq).trim() : undefined;
    const shape = parseShapeText(eq >= 0 ? item.slice(eq + 1).trim() : item, '--shapes');
    const chosen = label === undefined ? specs.map((_, i) => i) : labels.flatMap((l, i) => (l === label ? [i] : []));
    if (chosen.length === 0) throw new UserError(`--shapes: ${JSON.stringify(item)} names label ${JSON.stringify(label)}, which ${file} does not define; its labels: ${labels.join(', ')}`);
    for (const i of chosen) out.push({ layer: `${labels[i]}@${shape.m}x${shape.n}x${shape.k}`, spec: specs[i], ...shape });
  }
  const missing = labels.filter((_, i) => !out.some((p) => p.spec === specs[i]));
  if (missing.length > 0) throw new UserError(`--shapes: no shape for ${missing.join(', ')} of ${file}; add LABEL=MxNxK for each (or MxNxK for every spec)`);
  return out;
}
