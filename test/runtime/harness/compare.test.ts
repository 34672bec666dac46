// compareLayer's bounds (runtime/harness/compare.ts): the next layer's low-rank down inherits the legitimate
// difference of the stored Y, and large outputs do not overflow the stack.
import { beforeAll, describe, expect, it } from 'vitest';
import { edgeCases, edgeInputs, renderLayer } from '../../../regress/cases.js';
import { selectSubjects } from '../../../regress/subjects.js';
import { buildHarness } from '../../../runtime/harness/harness.js';
import { runLayer, type LayerRunResult } from '../../../runtime/harness/run-layer.js';
import { compareLayer, concat, maxAbs, nextDownBound } from '../../../runtime/harness/compare.js';
import { kernelPrecisionLayer, type LayerInputs } from '../../../runtime/reference/layer.js';

// The FLUX.1-dev catalog's GELU → qnext GEMM (keepOutput false) at M = 145, seed 1: row 92's fp32 X·L1
// rounds to a different bf16 before the up projection, which moves that whole row of Y (within the Y
// bound) and with it the next layer's X·L1 by Σ|ΔY|·|L1| — 2.7× the old flat 2⁻¹²·max bound. The check
// now compares with the layer recomputed from the kernel's own X·L1, within the Y bound through |L1|.
const subject = selectSubjects({ gpus: ['sm_89'], catalogs: ['flux.1-dev'], budget: 'quick' }).find((s) => s.id.endsWith('bias-lora-gelu-qnext.int4u4g64.r32'));
if (!subject) throw new Error('the FLUX.1-dev catalog has no GELU → qnext r32 subject on sm_89');
const edge = edgeCases(subject, 'quick').find((e) => e.name.startsWith('M=145 '));
if (!edge) throw new Error('no M = 145 edge case');
const qnextOp = edge.spec.epilogue.find((e) => e.op === 'qnext');

let inputs: LayerInputs;
let run: LayerRunResult;
beforeAll(async () => {
  const r = renderLayer(edge.spec, edge.tiles, subject);
  const built = await buildHarness('emu', subject.arch, {
    act: { name: `${r.act.uri}.cu`, source: r.act.source, symbol: r.act.symbol },
    gemm: { name: `${r.gemm.uri}.cu`, source: r.gemm.source, symbol: r.gemm.symbol },
  });
  inputs = edgeInputs(edge, 1);
  run = await runLayer({ spec: edge.spec, tiles: edge.tiles, target: subject.target, backend: 'emu', inputs, built });
}, 600_000);

describe('compareLayer on the catalog GELU → qnext chain at M = 145', () => {
  it('is the catalog chain without Y, with the next layer down fused', () => {
    expect(qnextOp).toMatchObject({ op: 'qnext', keepOutput: false, lowRankDown: { rank: 32 } });
    expect(run.y).toBeUndefined();
    expect(run.nextLoraAct?.length).toBeGreaterThan(1); // one slice per N block
  });

  it('exercises the shift: the kernel next X·L1 is off the plain reference by more than the old flat 2⁻¹²·max bound', () => {
    const ref = kernelPrecisionLayer({ ...inputs, next: { ...inputs.next!, blockN: run.plan.gemm.tile.blockN } }, edge.spec, { accum: run.plan.gemm.tile.accum });
    const got = concat(run.nextLoraAct!);
    const want = concat(ref.nextLoraAct!);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeGreaterThan(2 ** -12 * maxAbs(want));
  });

  it('passes: the next X·L1 bound carries the Y difference', () => {
    const cmp = compareLayer(run, inputs, edge.spec);
    expect(cmp.checks.filter((c) => !c.passed)).toEqual([]);
    const nextCheck = cmp.checks.find((c) => c.name === 'next X·L1 (fp32)')!;
    expect(nextCheck.count).toBe(run.nextLoraAct!.length * 145 * 32);
    expect(nextCheck.worst).toBeGreaterThan(0); // not bit-identical: the Y rows really differ
  });

  it('still catches a row of one slice computed from the wrong N block', () => {
    const slices = run.nextLoraAct!.map((s) => s.slice());
    for (let r = 0; r < 32; r++) slices[1][100 * 32 + r] = slices[0][100 * 32 + r];
    const cmp = compareLayer({ ...run, nextLoraAct: slices }, inputs, edge.spec);
    const check = cmp.checks.find((c) => c.name === 'next X·L1 (fp32)')!;
    expect(check.passed).toBe(false);
    expect(check.mismatches).toBeGreaterThan(16);
    expect(check.worst).toBeGreaterThan(2);
  });
});

describe('nextDownBound', () => {
  // M = 1, N = 4, R = 2, two slices of 2 columns.
  const down = Float64Array.from([1, -2, 3, 0.5, -1, 4, 0, 2]);
  const yRef = Float64Array.from([1, 2, 3, 4]);
  it('with the kernel Y: the measured |ΔY|·|L1| per slice plus the fp32 order term', () => {
    const yK = Float64Array.from([1, 2.5, 3, 4]);
    const b = nextDownBound(yRef, yK, () => 1e9, down, 1, 4, 2, 2);
    expect(b).toHaveLength(4);
    const order = (s: number, r: number) => 2 ** -20 * [0, 1].reduce((t, j) => t + (Math.abs(yRef[2 * s + j]) + Math.abs(yK[2 * s + j])) * Math.abs(down[r * 4 + 2 * s + j]), 0) + 2 ** -126;
    expect(b[0]).toBeCloseTo(0.5 * 2 + order(0, 0), 15);
    expect(b[1]).toBeCloseTo(0.5 * 4 + order(0, 1), 15);
    expect(b[2]).toBe(order(1, 0)); // slice 1 (columns 2, 3) saw no ΔY
    expect(b[3]).toBe(order(1, 1));
  });
  it('without the kernel Y: the Y bound propagated through |L1|', () => {
    const b = nextDownBound(yRef, undefined, (i) => (i === 3 ? 0.25 : 0), down, 1, 4, 2, 2);
    expect(b[2] - 2 ** -126).toBeGreaterThanOrEqual(0.25 * 0.5);
    expect(b[3] - 2 ** -126).toBeGreaterThanOrEqual(0.25 * 2);
    expect(b[0] - 2 ** -126).toBeLessThan(1e-4);
  });
});

describe('large outputs', () => {
  const n = 3_000_000; // beyond what a spread into Math.max survives
  const big = Float32Array.from({ length: n }, (_, i) => (i === n - 7 ? -9 : Math.sin(i)));
  it('a spread of this size overflows the stack (what compare.ts used to do)', () => {
    expect(() => Math.max(...big)).toThrow(RangeError);
  });
  it('maxAbs and concat handle millions of values', () => {
    expect(maxAbs(big)).toBe(9);
    expect(maxAbs([], 1)).toBe(1);
    const c = concat([big, big.subarray(0, 5)]);
    expect(c).toHaveLength(n + 5);
    expect(c[n - 7]).toBe(-9);
    expect(c[n + 4]).toBe(big[4]);
  });
});
