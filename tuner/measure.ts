// Ranking by measurement (a GPU, or the emulator in tests): each candidate first passes a correctness
// gate against the kernel-precision reference on a reduced problem (same kernel: N, K and M are
// run-time arguments), then is timed by the harness (CUDA events, warm-up, repetitions until the
// median is stable, cold L2 by rotating input buffers). Candidates are timed interleaved — round r
// times every candidate once — so clock drift cannot favour whoever ran first (anchors.md §1g).
import type { ActTile, GemmTile, KernelSpec, Target } from '../dsl/types.js';
import { toBits16 } from '../numerics/float16.js';
import { encodeUe4m3, encodeUe8m0 } from '../numerics/fp8.js';
import { kernelPrecisionLayer, type LayerInputs } from '../runtime/reference/layer.js';
import type { LogicalLayer } from '../numerics/logical.js';
import { createRng, randomBits16, type Rng } from '../runtime/reference/random.js';
import type { HarnessTiming } from '../runtime/harness/bundle.js';
import type { TimingRequest } from '../runtime/harness/harness.js';
import { runLayer, type Backend, type LayerRunResult } from '../runtime/harness/run-layer.js';
import type { Problem } from './cost-model.js';

/** Relative Frobenius error allowed on Y against the kernel-precision reference (docs/numerics.md). */
export const Y_TOLERANCE = 1e-2;

export interface Correctness {
  passed: boolean;
  maxAbsError: number;
  detail: string;
}

export interface MeasuredTime {
  clock: HarnessTiming['clock'];
  /** Median over rounds of each round's median: whole layer, GEMM alone, activation kernel alone. */
  medianUs: number;
  gemmMedianUs: number;
  actMedianUs: number;
  spreadUs: { min: number; p20: number; p80: number; max: number };
  repetitions: number;
}

export interface MeasureCandidate {
  id: string;
  tiles: { gemm: GemmTile; act: ActTile };
}

/** Runs one layer (the harness: build cached by content) — injectable for tests. */
export type LayerRunner = (o: { spec: KernelSpec; tiles: { gemm: GemmTile; act: ActTile }; target: Target; backend: Backend; inputs: LayerInputs; time?: TimingRequest }) => Promise<LayerRunResult>;

/** A reduced problem that exercises every code path of the tile: partial M tile, two N and K blocks. */
export function gateProblem(tile: GemmTile, problem: Problem): Problem {
  const m = Math.min(problem.m, tile.blockM + 17);
  const n = Math.min(problem.n, 2 * tile.blockN);
  const k = Math.min(problem.k, 2 * tile.blockK);
  return { m, n, k };
}

const small = (rng: Rng, n: number, dtype: KernelSpec['dtype'], std: number) => randomBits16(rng, n, dtype, std);

/** 4-bit weight codes and scales in the format's own encoding (int4: s4 + 16-bit; e2m1 + ue4m3/ue8m0). */
function randomWeights(spec: KernelSpec, N: number, K: number, G: number, rng: Rng): Pick<LogicalLayer, 'qweight' | 'wscales' | 'wtensorScale'> {
  const groups = (N * K) / G;
  if (spec.format.kind === 'int4') {
    const dtype = spec.format.scaleDtype;
    return {
      qweight: Int8Array.from({ length: N * K }, () => rng.int(-8, 7)),
      wscales: Uint16Array.from({ length: groups }, () => toBits16(0.002 + 0.01 * rng.next(), dtype)),
      wtensorScale: 1,
    };
  }
  const codes = Uint8Array.from({ length: N * K }, () => rng.int(0, 15));
  if (spec.format.kind === 'nvfp4') {
    return { qweight: codes, wscales: Uint8Array.from({ length: groups }, () => encodeUe4m3(0.5 + 2 * rng.next())), wtensorScale: 0.004 };
  }
  return { qweight: codes, wscales: Uint8Array.from({ length: groups }, () => encodeUe8m0(2 ** rng.int(-9, -7))), wtensorScale: 1 };
}

/** Random logical layer + inputs for the spec at `p` (deterministic in `seed`). */
export function randomLayerInputs(spec: KernelSpec, p: Problem, seed: number): LayerInputs {
  const rng = createRng(seed);
  const { n: N, k: K, m: M } = p;
  const G = spec.format.group;
  const R = spec.lowRank.rank;
  const layer: LogicalLayer = {
    N,
    K,
    format: spec.format,
    dtype: spec.dtype,
    ...randomWeights(spec, N, K, G, rng),
    rank: R,
    ...(R > 0 ? { loraDown: small(rng, R * K, spec.dtype, 0.05), loraUp: small(rng, N * R, spec.dtype, 0.05), loraScales: new Float32Array(R / 16).fill(1) } : {}),
    smooth: Uint16Array.from({ length: K }, () => toBits16(0.5 + rng.next(), spec.dtype)),
    bias: small(rng, N, spec.dtype, 0.1),
  };
  const q = spec.epilogue.find((e) => e.op === 'qnext');
  const x = spec.activation.unsigned
    ? Uint16Array.from({ length: M * K }, () => toBits16(Math.abs(rng.normal()) - 0.17, spec.dtype))
    : small(rng, M * K, spec.dtype, 1);
  const inputs: LayerInputs = { layer, M, x };
  if (q && q.op === 'qnext') {
    inputs.next = {
      smooth: Uint16Array.from({ length: N }, () => toBits16(0.5 + rng.next(), spec.dtype)),
      ...(q.lowRankDown.rank > 0 ? { loraDown: small(rng, q.lowRankDown.rank * N, spec.dtype, 0.05) } : {}),
    };
  }
  return inputs;
}

/** Compares a run with the kernel-precision reference: activation codes exact, Y within tolerance, no findings. */
export function checkRun(run: LayerRunResult, spec: KernelSpec, tiles: { gemm: GemmTile }, inputs: LayerInputs): Correctness {
  if (run.findings.length) {
    const f = run.findings[0];
    return { passed: false, maxAbsError: Infinity, detail: `${run.findings.length} emulator finding(s), first: ${f.kind} in ${f.kernel}: ${f.message}` };
  }
  const next = inputs.next ? { ...inputs.next, blockN: tiles.gemm.blockN } : undefined;
  const ref = kernelPrecisionLayer({ ...inputs, next }, spec, { accum: tiles.gemm.accum });
  const codeMismatch = countMismatch(run.act.codes, ref.act.codes as ArrayLike<number>);
  if (codeMismatch > 0) return { passed: false, maxAbsError: Infinity, detail: `${codeMismatch} activation code(s) differ from the reference` };
  if (run.y) {
    const { rel, maxAbs } = compareBits(run.y, ref.y, spec.dtype);
    if (!(rel <= Y_TOLERANCE)) return { passed: false, maxAbsError: maxAbs, detail: `Y relative error ${rel.toExponential(2)} > ${Y_TOLERANCE}` };
    return { passed: true, maxAbsError: maxAbs, detail: `activation codes exact; Y relative error ${rel.toExponential(2)} ≤ ${Y_TOLERANCE}` };
  }
  if (run.qnext && ref.qnext) {
    const mism = countMismatch(run.qnext.codes, ref.qnext.codes as ArrayLike<number>);
    const frac = mism / run.qnext.codes.length;
    const ok = frac <= 1e-3;
    return { passed: ok, maxAbsError: 0, detail: `next-layer codes: ${mism} of ${run.qnext.codes.length} differ (${ok ? '≤' : '>'} 0.1%: accumulation order)` };
  }
  return { passed: false, maxAbsError: Infinity, detail: 'the run produced neither Y nor next-layer codes' };
}

function countMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

function compareBits(a: Uint16Array, b: Uint16Array, dtype: KernelSpec['dtype']): { rel: number; maxAbs: number } {
  const dec = dtype === 'fp16' ? f16 : bf16;
  let num = 0;
  let den = 0;
  let maxAbs = 0;
  for (let i = 0; i < b.length; i++) {
    const x = dec(a[i]);
    const y = dec(b[i]);
    num += (x - y) ** 2;
    den += y ** 2;
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
  }
  return { rel: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num), maxAbs };
}

const bf16 = (bits: number) => new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
function f16(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Correctness gate for one candidate (reduced problem, fixed seed). */
export async function gateCandidate(run: LayerRunner, spec: KernelSpec, c: MeasureCandidate, problem: Problem, target: Target, backend: Backend): Promise<Correctness> {
  const p = gateProblem(c.tiles.gemm, problem);
  const inputs = randomLayerInputs(spec, p, 1234);
  try {
    const r = await run({ spec, tiles: c.tiles, target, backend, inputs });
    return checkRun(r, spec, c.tiles, inputs);
  } catch (e) {
    return { passed: false, maxAbsError: Infinity, detail: `run failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

export interface MeasureOptions {
  backend: Backend;
  /** Interleaved rounds (each times every candidate once); the result is the median of the rounds. */
  rounds?: number;
  timing?: TimingRequest;
  onProgress?: (done: number, total: number, id: string) => void;
}

/** Times the candidates interleaved at the real problem; returns per candidate the combined statistics. */
export async function timeCandidates(
  run: LayerRunner,
  spec: KernelSpec,
  candidates: readonly MeasureCandidate[],
  problem: Problem,
  target: Target,
  opts: MeasureOptions,
): Promise<Map<string, MeasuredTime>> {
  const rounds = opts.rounds ?? 3;
  const inputs = randomLayerInputs(spec, problem, 99);
  const samples = new Map<string, { clock: HarnessTiming['clock']; medians: number[]; gemm: number[]; act: number[]; all: number[] }>();
  const timing: TimingRequest = { l2Bytes: target.l2MiB * 1024 * 1024, ...opts.timing };
  let done = 0;
  const total = rounds * candidates.length;
  for (let r = 0; r < rounds; r++) {
    for (const c of candidates) {
      const res = await run({ spec, tiles: c.tiles, target, backend: opts.backend, inputs, time: timing });
      const t = res.timing;
      if (t) {
        const s = samples.get(c.id) ?? { clock: t.clock, medians: [], gemm: [], act: [], all: [] };
        s.medians.push(t.total.median_ms * 1000);
        s.gemm.push(t.gemm.median_ms * 1000);
        s.act.push(t.act.median_ms * 1000);
        s.all.push(t.total.min_ms * 1000, t.total.p10_ms * 1000, t.total.median_ms * 1000, t.total.p90_ms * 1000, t.total.max_ms * 1000);
        samples.set(c.id, s);
      }
      opts.onProgress?.(++done, total, c.id);
    }
  }
  const out = new Map<string, MeasuredTime>();
  for (const [id, s] of samples) {
    const q = (v: number[], f: number) => {
      const a = [...v].sort((x, y) => x - y);
      return a[Math.min(a.length - 1, Math.floor(f * (a.length - 1) + 0.5))];
    };
    out.set(id, {
      clock: s.clock,
      medianUs: q(s.medians, 0.5),
      gemmMedianUs: q(s.gemm, 0.5),
      actMedianUs: q(s.act, 0.5),
      spreadUs: { min: q(s.all, 0), p20: q(s.all, 0.2), p80: q(s.all, 0.8), max: q(s.all, 1) },
      repetitions: s.medians.length,
    });
  }
  return out;
}

export const harnessRunner: LayerRunner = (o) => runLayer(o);
