// The committed baseline (generated/regress-baseline.json): per subject, the ptxas resources of both
// kernels, the emulator's traffic counters per edge-shape case, the cost model's predicted time and
// any GPU timings. Read through a zod schema (a hand-edited file fails with the field named), written
// atomically with sorted keys so a diff shows only what changed. A partial run (--gpu, --catalog)
// updates only the subjects and stages it ran; everything else is kept.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import { REPO_ROOT } from '../codegen/cache.js';
import { UserError } from '../dsl/errors.js';

export const BASELINE_VERSION = 1;
export const DEFAULT_BASELINE_FILE = path.join(REPO_ROOT, 'generated', 'regress-baseline.json');

const count = z.number().int().nonnegative();

export const ResourcesSchema = z.strictObject({
  registers: count,
  spillStoreBytes: count,
  spillLoadBytes: count,
  /** Static shared memory ptxas reports. */
  smemBytes: count,
  /** The plan's dynamic shared memory (what the launcher requests). */
  dynamicSmemBytes: count,
  stackBytes: count,
});
export type Resources = z.infer<typeof ResourcesSchema>;

export const TrafficSchema = z.strictObject({
  globalLoadBytes: count,
  globalStoreBytes: count,
  globalLoadSectors: count,
  globalStoreSectors: count,
  sharedBankConflicts: count,
});
export type Traffic = z.infer<typeof TrafficSchema>;

/** The `sass` stage's static main-loop view of one kernel (codegen/inspect; docs/inspect.md). */
export const SassSchema = z.strictObject({
  /** 'sass' (disassembled) or 'ptx' (sm_120a/121a: PTX-level counts); counts of different levels are not compared. */
  level: z.enum(['sass', 'ptx']),
  /** GEMM: static main-loop instructions per m16n8k64; activation: per 64 elements of X per thread. */
  instrPerStep: z.number().nonnegative(),
  barriersPerIteration: count,
  hasMufu: z.boolean(),
  hasCall: z.boolean(),
  hasDivision: z.boolean(),
  hasBssy: z.boolean(),
});
export type SassBaseline = z.infer<typeof SassSchema>;

export const SubjectBaselineSchema = z.strictObject({
  uris: z.strictObject({ act: z.string(), gemm: z.string() }),
  compile: z.strictObject({ act: ResourcesSchema, gemm: ResourcesSchema }).optional(),
  /** The sass stage: main-loop counts of both kernels. */
  sass: z.strictObject({ act: SassSchema, gemm: SassSchema }).optional(),
  /** Case name (e.g. `M=1 N=256 K=512`) → counters of the two kernels. */
  traffic: z.record(z.string(), z.strictObject({ act: TrafficSchema, gemm: TrafficSchema })).optional(),
  /** Catalog id → cost-model time of that catalog's layers this spec serves (sum over layers × count), µs. */
  predictedUs: z.record(z.string(), z.number().nonnegative()).optional(),
  /** GPU name → measured median µs of the edge-shape case used for timing. */
  measuredUs: z.record(z.string(), z.number().positive()).optional(),
});
export type SubjectBaseline = z.infer<typeof SubjectBaselineSchema>;

export const BaselineSchema = z.strictObject({
  version: z.literal(BASELINE_VERSION),
  note: z.string(),
  toolchain: z.strictObject({ nvcc: z.string() }),
  subjects: z.record(z.string(), SubjectBaselineSchema),
});
export type Baseline = z.infer<typeof BaselineSchema>;

export function emptyBaseline(nvcc = 'unknown'): Baseline {
  return {
    version: BASELINE_VERSION,
    note: 'Written by `svdq-codegen regress --update-baseline`; do not edit by hand (docs/regress.md).',
    toolchain: { nvcc },
    subjects: {},
  };
}

/** Reads the baseline; a missing file is an empty baseline (every case reports as new). */
export async function readBaseline(file: string = DEFAULT_BASELINE_FILE): Promise<Baseline> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyBaseline();
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message}); rewrite it with \`svdq-codegen regress --update-baseline\``);
  }
  const parsed = BaselineSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${file}: field '${issue.path.join('.') || '(root)'}' ${issue.message}; rewrite it with \`svdq-codegen regress --update-baseline\``);
  }
  return parsed.data;
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function stableStringify(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

export async function writeBaseline(baseline: Baseline, file: string = DEFAULT_BASELINE_FILE): Promise<void> {
  BaselineSchema.parse(baseline);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, stableStringify(baseline));
}

/** Flattens to `path = value` lines, for a readable diff. */
function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(value));
  }
}

/** What changed between two baselines, one line per leaf: `~ key: old → new`, `+ key: new`, `- key: old`. */
export function diffBaselines(before: Baseline, after: Baseline): string[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before, '', a);
  flatten(after, '', b);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const lines: string[] = [];
  for (const k of keys) {
    const x = a.get(k);
    const y = b.get(k);
    if (x === y) continue;
    if (x === undefined) lines.push(`+ ${k}: ${y}`);
    else if (y === undefined) lines.push(`- ${k}: ${x}`);
    else lines.push(`~ ${k}: ${x} → ${y}`);
  }
  return lines;
}
