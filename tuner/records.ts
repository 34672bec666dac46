// Tuning records: one per tuning job (kernel family × layer shape × M bucket × GPU × toolchain × mode),
// versioned JSON validated with zod on load. A record says how its time was obtained: 'measured'
// (CUDA events on a GPU) or 'predicted' (the cost model) — never a bare number.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { bucketLabel, type MBucket } from './buckets.js';

export const DB_SCHEMA = 'svdq-codegen/tune-db';
export const DB_VERSION = 1;

export type TuneMode = 'measure' | 'model';
/** How a time was obtained; printed next to every time. */
export type TimeLabel = 'measured' | 'predicted';
/** The largest term of a prediction: tensor work ('compute'), issue slots, a non-tensor pipe, low-rank, memory, launch. */
export type Bound = 'compute' | 'issue' | 'pipe' | 'memory' | 'lowrank' | 'launch';
const BOUNDS = ['compute', 'issue', 'pipe', 'memory', 'lowrank', 'launch'] as const;

export const labelOfMode = (mode: TuneMode): TimeLabel => (mode === 'measure' ? 'measured' : 'predicted');

const positive = z.number().finite().positive();
const nonNegative = z.number().finite().nonnegative();
const int = z.number().int();

const ResourcesSchema = z.object({
  registers: int.nonnegative(),
  spillBytes: int.nonnegative(),
  smemBytes: int.nonnegative(),
  blocksPerSm: int.nonnegative(),
});
export type KernelResources = z.infer<typeof ResourcesSchema>;

const TimingSchema = z.object({
  label: z.enum(['measured', 'predicted']),
  timeUs: positive,
  tflops: nonNegative,
  /** Global-memory bytes the layer's kernels move. */
  bytes: nonNegative,
  bound: z.enum(BOUNDS),
  percentOfPeak: nonNegative,
  /** Measured only: spread of the repetitions (min, p20, p80, max) and how many there were. */
  spreadUs: z.object({ min: positive, p20: positive, p80: positive, max: positive }).optional(),
  repetitions: int.positive().optional(),
  /** Measured only: which clock. 'emulator-wall' (tests) says nothing about a GPU. */
  clock: z.enum(['cuda-events', 'emulator-wall']).optional(),
});
export type Timing = z.infer<typeof TimingSchema>;

const CandidateSchema = z.object({
  gemmUri: z.string().min(1),
  status: z.enum(['chosen', 'ok', 'spills', 'occupancy', 'compile-error', 'incorrect', 'not-compiled']),
  timeUs: positive,
  label: z.enum(['measured', 'predicted']),
  tflops: nonNegative,
  /** Arithmetic intensity (FLOP per global byte) for the roofline plot. */
  flopsPerByte: nonNegative,
  note: z.string().optional(),
});
export type CandidateSummary = z.infer<typeof CandidateSchema>;

// ---- cost-model fields (tuner issue 12), all optional so records written before them still parse.
const MainLoopSchema = z.object({
  /** Where the main-loop counts come from: disassembled SASS, or PTX where no disassembler reads the arch. */
  counts: z.enum(['sass', 'ptx']),
  instrPerMma: nonNegative,
});
const TermsSchema = z.object({
  tensorUs: nonNegative,
  issueUs: nonNegative,
  pipeUs: nonNegative,
  /** The busiest non-tensor pipe class when pipeUs > 0. */
  pipe: z.string().optional(),
  lowrankUs: nonNegative,
  memoryUs: nonNegative,
  launchUs: nonNegative,
});
const CostModelFields = {
  /** Calls per transformer forward summed over the record's layers (model totals). */
  countPerForward: int.positive().optional(),
  /** The chosen layer's predicted time (= timing.timeUs in model mode; the model's view in measure mode). */
  predictedTimeUs: positive.optional(),
  /** The chosen GEMM's predicted terms (the bound is the largest) and main-loop counts. */
  predictedTerms: TermsSchema.optional(),
  mainLoop: MainLoopSchema.nullable().optional(),
  /** The job's default tile (codegen/default-tiles.ts) and, when the choice has more instr/MMA, why. */
  defaultTile: z.object({ gemmUri: z.string().min(1), timeUs: positive, mainLoop: MainLoopSchema.nullable(), why: z.string().optional() }).optional(),
  /** The reference engine's configuration for this job, predicted by the same model. */
  baseline: z
    .object({
      label: z.literal('predicted'),
      gemmUri: z.string().min(1),
      timeUs: positive,
      /** M the reference engine runs (padded to its 256-row block). */
      paddedM: int.positive(),
      mainLoop: MainLoopSchema.nullable(),
      note: z.string().optional(),
    })
    .optional(),
  /** baseline time / chosen time, both predicted (> 1: the tuned choice is faster). */
  vsBaseline: positive.optional(),
};
// ---- end of cost-model fields

export const TuneRecordSchema = z.object({
  ...CostModelFields,
  key: z.string().min(1),
  /** Kernel family: the gemm URI with the tile fields removed (format, dtype, rank, arch, epilogue). */
  family: z.string().min(1),
  /** Hash of the kernel generator's sources (planner, templates, device headers). */
  sourceHash: z.string().regex(/^[0-9a-f]{16,64}$/),
  layers: z.array(z.string()).min(1),
  shape: z.object({ m: int.positive(), n: int.positive(), k: int.positive() }),
  bucket: z.object({ lo: int.nonnegative(), hi: int.positive() }),
  target: z.object({ id: z.string().min(1), arch: z.string().min(1), name: z.string().min(1) }),
  toolchain: z.string().min(1),
  mode: z.enum(['measure', 'model']),
  gemmUri: z.string().min(1),
  /** null when the previous GEMM's qnext epilogue quantizes this layer's input (no activation kernel). */
  actUri: z.string().min(1).nullable(),
  timing: TimingSchema,
  resources: z.object({ gemm: ResourcesSchema, act: ResourcesSchema.nullable() }),
  correctness: z
    .object({ backend: z.enum(['emu', 'gpu']), passed: z.boolean(), maxAbsError: nonNegative, detail: z.string() })
    .optional(),
  candidates: z.array(CandidateSchema),
  createdAt: z.string().datetime(),
});
export type TuneRecord = z.infer<typeof TuneRecordSchema>;

export const TuneDbSchema = z.object({
  schema: z.literal(DB_SCHEMA),
  version: z.literal(DB_VERSION),
  records: z.array(TuneRecordSchema),
});
export type TuneDb = z.infer<typeof TuneDbSchema>;

export interface JobKeyParts {
  family: string;
  n: number;
  k: number;
  bucket: MBucket;
  targetId: string;
  toolchain: string;
  mode: TuneMode;
  sourceHash: string;
  /** False when the job has no activation kernel (its input comes from a qnext epilogue). */
  withAct: boolean;
}

/** The record key: everything that, when it changes, makes an old result invalid (anchors.md §7). */
export function recordKey(p: JobKeyParts): string {
  const act = p.withAct ? 'act' : 'noact';
  return [p.family, act, `n${p.n}k${p.k}`, bucketLabel(p.bucket), p.targetId, p.toolchain, p.mode, p.sourceHash.slice(0, 16)].join('|');
}

/** Family token: the gemm URI without its tile fields, e.g. w4a4_int4g64_bf16_r32_sm89_bias-lora-gelu. */
export function familyOfGemmUri(gemmUri: string): string {
  const parts = gemmUri.split('_');
  // w4a4 fmt dtype rank | tile warps stages staging accum | arch epilogue
  return [...parts.slice(0, 4), ...parts.slice(9)].join('_');
}

export function emptyDb(): TuneDb {
  return { schema: DB_SCHEMA, version: DB_VERSION, records: [] };
}

/** Records sorted by key: the on-disk order, so equal contents give equal files. */
export function sortRecords(records: readonly TuneRecord[]): TuneRecord[] {
  return [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
