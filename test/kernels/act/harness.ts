// Test helpers for the activation kernel: render a plan, build it with the emulator driver, run cases
// and compare with the TypeScript reference (codes/scales bit for bit, lora_act within tolerance).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../codegen/cache.js';
import { packActivations, packAScales, packFp4Scales, packLoraDown, padRows16, unpackLoraAct } from '../../../codegen/layouts.js';
import { actPartialsBytes, type ActPlan } from '../../../codegen/plan/act.js';
import { renderKernel } from '../../../codegen/render.js';
import type { Dtype16 } from '../../../dsl/types.js';
import { buildEmuProgram, runEmuProgram, type EmuLaunch } from '../../../runtime/emu/build.js';
import { fromBits16, toBits16 } from '../../../numerics/float16.js';
import { quantizeActivations } from '../../../runtime/reference/quantize.js';
import type { Rng } from '../../../runtime/reference/random.js';

const DRIVER = path.join(REPO_ROOT, 'test', 'kernels', 'act', 'driver.cpp');
const SOURCES_DIR = path.join(REPO_ROOT, '.cache', 'test-act-sources');

/** Renders the plan into a stable path (so the emulator's build cache hits) and builds the driver. */
export async function buildActDriver(plan: ActPlan): Promise<string> {
  await fs.mkdir(SOURCES_DIR, { recursive: true });
  const file = path.join(SOURCES_DIR, `${plan.uri}.cu`);
  const text = renderKernel(plan);
  const old = await fs.readFile(file, 'utf8').catch(() => '');
  if (old !== text) await fs.writeFile(file, text);
  return buildEmuProgram({
    sources: [file, DRIVER],
    defines: { SVDQ_ACT_SYMBOL: plan.symbol, SVDQ_TEST_HALF: plan.halfType, SVDQ_TEST_FMT: plan.formatType },
  });
}

export interface ActCase {
  M: number;
  K: number;
  /** Offset x and smooth by one element: the launcher must fall back to element-wise loads. */
  misalign?: boolean;
  seed?: number;
  /** svdq_act_args_t.fill_blocks (0/absent: no K split); partials sized by actPartialsBytes. */
  fill?: number;
  /** NVFP4 per-tensor activation scale (absent: none). */
  inputScale?: number;
  /** Scale X by this power of two (small-magnitude activations). */
  xScale?: number;
}

export interface CaseInputs {
  M: number;
  K: number;
  x: Uint16Array;
  smooth: Uint16Array;
  /** Logical [rank, K] bits. */
  down: Uint16Array;
  misalign: boolean;
  fill: number;
  inputScale: number;
}

/**
 * Inputs that exercise the quantizer: normal values with a few outlier channels, one all-zero group
 * (scale 0), values exactly on code boundaries (k + 0.5 multiples of a power-of-two scale), smoothing
 * factors in [0.25, 4], and exact rounding ties (see below).
 */
export function makeInputs(rng: Rng, c: ActCase, plan: ActPlan, shift: number): CaseInputs {
  const { rank, group } = plan;
  const dtype = plan.spec.dtype;
  const unsigned = plan.spec.activation.unsigned;
  const { M, K } = c;
  const x = new Uint16Array(M * K);
  const outlier = new Set([rng.int(0, K - 1), rng.int(0, K - 1)]);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let v = rng.normal() * (outlier.has(k) ? 20 : 1) * (c.xScale ?? 1);
      if (rng.next() < 0.02) v = (rng.int(-15, 15) + 0.5) / 8; // ties for cvt.rni
      x[m * K + k] = toBits16(v, dtype);
    }
  }
  const smooth = Uint16Array.from({ length: K }, () => toBits16(2 ** (rng.next() * 4 - 2), dtype));
  // The last row's first group: exact ties v ÷ scale = q + ½ under a scale that is not a power of two
  // (1.25·2^e): v × RN(1/scale) lands a hair off the tie, so only the reference's exact route (the
  // correctly rounded per-group reciprocal, then one rounded product) gives the same codes.
  const G = group;
  for (let k = 0; k < G; k++) smooth[k] = toBits16(1, dtype);
  const last = (M - 1) * K;
  for (let k = 0; k < G; k++) {
    // u4 (shift 11/64): v = (10q+5)/64, scale 10/64; s4: v = (10q+5)/32, scale 10/32; one element is amax.
    const q = unsigned ? rng.int(0, 14) : rng.int(-7, 6);
    const v = unsigned ? (10 * q + 5) / 64 : (10 * q + 5) / 32;
    const amax = unsigned ? 150 / 64 : 70 / 32;
    x[last + k] = toBits16((k === 3 ? amax : v) - (unsigned ? shift : 0), dtype);
  }
  // One all-zero group in row 0 (scale 0 → codes 0), unless row 0 is the tie row.
  if (M > 1) for (let k = 0; k < Math.min(32, K); k++) x[k] = toBits16(0, dtype);
  const down = Uint16Array.from({ length: rank * K }, () => toBits16(rng.normal() * 0.05, dtype));
  return { M, K, x, smooth, down, misalign: Boolean(c.misalign), fill: c.fill ?? 0, inputScale: c.inputScale ?? 0 };
}

export interface CaseOutputs {
  status: number;
  identical: boolean;
  /** The split counters were all 0 again after both runs. */
  countersClean: boolean;
  aq: Uint8Array;
  ascales: Uint16Array | Uint8Array;
  loraAct: Float32Array;
}

/** Runs every case through the driver (each twice: the second run checks bit-identical outputs). */
export async function runCases(
  binary: string,
  plan: ActPlan,
  cases: CaseInputs[],
  shift: number,
  mode: 'run' | 'cfrag' = 'run',
): Promise<{ outputs: CaseOutputs[]; launches: EmuLaunch[]; stderr: string }> {
  const rank = plan.rank;
  const G = plan.group;
  const scaleBytes = plan.spec.format.kind === 'int4' ? 2 : 1;
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeUInt32LE(cases.length);
  parts.push(head);
  for (const c of cases) {
    const h = Buffer.alloc(40);
    h.writeInt32LE(c.M, 0);
    h.writeInt32LE(c.K, 4);
    h.writeInt32LE(rank, 8);
    h.writeInt32LE(G, 12);
    h.writeInt32LE(scaleBytes, 16);
    h.writeInt32LE(c.misalign ? 1 : 0, 20);
    h.writeFloatLE(shift, 24);
    h.writeInt32LE(c.fill, 28);
    h.writeInt32LE(actPartialsBytes(plan, c.M, c.fill), 32);
    h.writeFloatLE(c.inputScale, 36);
    parts.push(h, Buffer.from(c.x.buffer, c.x.byteOffset, c.x.byteLength), Buffer.from(c.smooth.buffer, c.smooth.byteOffset, c.smooth.byteLength));
    if (rank > 0) {
      const packed = packLoraDown(c.down, rank, c.K);
      parts.push(Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength));
    }
  }
  const dir = await fs.mkdtemp(path.join(REPO_ROOT, '.cache', 'act-run-'));
  try {
    const inPath = path.join(dir, 'cases.bin');
    const outPath = path.join(dir, 'out.bin');
    await fs.writeFile(inPath, Buffer.concat(parts));
    const r = await runEmuProgram(binary, [mode, inPath, outPath], { env: { SVDQ_EMU_QUIET: '1' } });
    if (r.code !== 0) throw new Error(`driver exited with ${r.code}: ${r.stderr.slice(0, 2000)}`);
    const out = await fs.readFile(outPath);
    let off = 0;
    const outputs = cases.map((c): CaseOutputs => {
      const Mp = padRows16(c.M);
      const status = out.readInt32LE(off);
      const identical = out.readInt32LE(off + 4) === 1;
      const countersClean = out.readInt32LE(off + 8) === 1;
      off += 12;
      const aqBytes = (Mp * c.K) / 2;
      const aq = new Uint8Array(out.subarray(off, off + aqBytes));
      off += aqBytes;
      const scBytes = ((Mp * c.K) / G) * scaleBytes;
      const scCopy = new Uint8Array(out.subarray(off, off + scBytes));
      const ascales = scaleBytes === 2 ? new Uint16Array(scCopy.buffer) : scCopy;
      off += scBytes;
      const laBytes = Mp * rank * 4;
      const loraAct = new Float32Array(new Uint8Array(out.subarray(off, off + laBytes)).buffer);
      off += laBytes;
      return { status, identical, countersClean, aq, ascales, loraAct };
    });
    return { outputs, launches: r.reports, stderr: r.stderr };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export interface Expected {
  aq: Uint8Array;
  ascales: Uint16Array | Uint8Array;
  /** [M, rank] exact (float64) X·L1 and Σ|x·l| per element, for the tolerance. */
  loraAct: Float64Array;
  loraAbs: Float64Array;
}

/** The reference: runtime/reference/quantize.ts codes and scales, packed by codegen/layouts.ts. */
export function expected(plan: ActPlan, c: CaseInputs, shift: number): Expected {
  const { M, K } = c;
  const dtype = plan.spec.dtype;
  const xv = Float64Array.from(c.x, (b) => fromBits16(b, dtype));
  const sv = Float64Array.from(c.smooth, (b) => fromBits16(b, dtype));
  const ts = c.inputScale > 0 ? c.inputScale : 1;
  const q = quantizeActivations(xv, M, K, plan.spec.format, { unsigned: plan.spec.activation.unsigned, shift }, sv, ts);
  const R = plan.rank;
  const loraAct = new Float64Array(M * R);
  const loraAbs = new Float64Array(M * R);
  if (R > 0) {
    const dv = Float64Array.from(c.down, (b) => fromBits16(b, dtype));
    for (let m = 0; m < M; m++) {
      for (let r = 0; r < R; r++) {
        let s = 0;
        let a = 0;
        for (let k = 0; k < K; k++) {
          const p = xv[m * K + k] * dv[r * K + k];
          s += p;
          a += Math.abs(p);
        }
        loraAct[m * R + r] = s;
        loraAbs[m * R + r] = a;
      }
    }
  }
  return {
    aq: packActivations(q.codes, M, K),
    ascales:
      plan.spec.format.kind === 'int4'
        ? packAScales(q.scales as Uint16Array, M, K, plan.group)
        : packFp4Scales(q.scales as Uint8Array, M, K, plan.group),
    loraAct,
    loraAbs,
  };
}

/** First mismatching index of two arrays (−1 when equal). */
export function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * lora_act elements outside |Δ| ≤ 2⁻¹⁴·Σ|x·l| (fp32 accumulation in an order PTX leaves open,
 * docs/numerics.md) plus the fp32 rounding of the result; padded rows must be exactly 0.
 */
export function loraActErrors(plan: ActPlan, c: CaseInputs, got: Float32Array, want: Expected): string[] {
  const R = plan.rank;
  if (R === 0) return [];
  const [slice] = unpackLoraAct(got, 1, padRows16(c.M), R);
  const errs: string[] = [];
  for (let m = 0; m < padRows16(c.M); m++) {
    for (let r = 0; r < R; r++) {
      const v = slice[m * R + r];
      if (m >= c.M) {
        if (v !== 0) errs.push(`padded row ${m} rank ${r}: ${v}`);
        continue;
      }
      const w = want.loraAct[m * R + r];
      const tol = 2 ** -14 * want.loraAbs[m * R + r] + 2 ** -24 * Math.abs(w) + 1e-30;
      if (!(Math.abs(v - w) <= tol)) errs.push(`row ${m} rank ${r}: got ${v}, want ${w} (tol ${tol})`);
      if (errs.length > 5) return errs;
    }
  }
  return errs;
}
