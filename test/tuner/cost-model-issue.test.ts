// The issue-aware parts of the cost model: per-MMA tensor/issue/pipe cycles from compiled counts, the
// sourced L2/L1 facts, write-only outputs out of the re-read footprint, L1 reuse of register staging,
// and the qnext lora_act slices.
import { describe, expect, it } from 'vitest';
import { planGemm } from '../../codegen/plan/gemm.js';
import { formatByKind } from '../../dsl/formats.js';
import { layer } from '../../dsl/spec.js';
import { TARGETS, cacheFacts, resolveGpu } from '../../dsl/targets.js';
import type { GemmTile } from '../../dsl/types.js';
import { mainLoopCycles, memoryTimeUs, peak4BitFlops, tensorCyclesPerMma } from '../../tuner/cost-model.js';
import { estimateGemmPlan, gemmTrafficForModel, lowRankWarpReads } from '../../tuner/estimate.js';

const ada = resolveGpu('sm_89');
const a100 = resolveGpu('sm_80');
const spec = layer({ format: formatByKind('int4', 'bf16'), dtype: 'bf16', lowRank: 32, epilogue: ['bias', 'lowrank'] });
const tile = (over: Partial<GemmTile> = {}): GemmTile => ({ blockM: 128, blockN: 128, blockK: 64, warpsM: 2, warpsN: 4, stages: 2, staging: 'smem', accum: 'f32', ...over });

describe('main-loop cycles per MMA', () => {
  it('tensor cycles from the 4-bit rate (sass-inspection.md: 4090 16, 3090 16, A100 8)', () => {
    expect(tensorCyclesPerMma(ada, peak4BitFlops(ada, 'int4'))).toBeCloseTo(16, 1);
    expect(tensorCyclesPerMma(resolveGpu('sm_86'), peak4BitFlops(resolveGpu('sm_86'), 'int4'))).toBeCloseTo(16, 0);
    expect(tensorCyclesPerMma(a100, peak4BitFlops(a100, 'int4'))).toBeCloseTo(8, 1);
  });

  it('takes the compiled kernel’s cycles; static before compiling (tensor over fragment reuse, no pipe)', () => {
    const peak = peak4BitFlops(ada, 'int4');
    const c = mainLoopCycles(ada, peak, { counts: 'sass', perMma: 25.6, cycles: { tensor: 16, issue: 25.6, pipe: 18.8, pipeClass: 'int' } }, { warpM: 64, warpN: 32 });
    expect(c).toEqual({ tensor: 16, issue: 25.6, pipe: 18.8, pipeClass: 'int', counts: 'sass', perMma: 25.6 });
    const s = mainLoopCycles(ada, peak, undefined, { warpM: 64, warpN: 32 });
    expect(s.counts).toBe('static');
    expect(s.issue).toBeCloseTo(s.tensor, 6); // 4×4 fragments reuse each load ≥ once
    expect(mainLoopCycles(ada, peak, undefined, { warpM: 16, warpN: 16 }).issue).toBeGreaterThan(s.tensor);
  });

  it('labels a GEMM with a heavy main loop issue-bound, and more instructions never predict faster', () => {
    const plan = planGemm(spec, tile(), ada);
    const p = { m: 4096, n: 3072, k: 3072 };
    const compiled = (perMma: number) => ({ uri: plan.uri, counts: 'sass' as const, mainLoop: { perMma, byClass: {}, hasMufu: false, hasDivision: false }, cycles: { tensor: 16, issue: perMma, pipe: 10, pipeClass: 'int' } });
    const lean = estimateGemmPlan(plan, p, ada, undefined, { compiled: compiled(18) });
    const fat = estimateGemmPlan(plan, p, ada, undefined, { compiled: compiled(34.8) });
    expect(fat.bound).toBe('issue');
    expect(fat.timeUs).toBeGreaterThan(lean.timeUs);
    expect(fat.issueUs / lean.issueUs).toBeCloseTo(34.8 / 18, 6);
  });
});

describe('memory levels', () => {
  it('every target has a sourced L2 bandwidth (not a multiple of DRAM) and L1 facts', () => {
    for (const t of TARGETS) {
      const f = cacheFacts(t);
      expect(f.l2BandwidthGBs, t.id).toBeGreaterThan(t.dramGBps);
      expect(f.sources.some((s) => s.startsWith('l2BandwidthGBs'))).toBe(true);
      expect(f.sources.some((s) => s.startsWith('l1SmemKiBPerSm'))).toBe(true);
    }
  });

  it('keeps write-only outputs out of the re-read footprint (N = 12288: the 100 MB output is not re-read)', () => {
    const plan = planGemm(spec, tile(), ada);
    const t = gemmTrafficForModel(plan, { m: 4096, n: 12288, k: 3072 });
    const l2 = ada.l2MiB * 1024 * 1024;
    expect(t.uniqueBytes).toBeGreaterThan(l2); // with the output the footprint would exceed L2 …
    expect(t.rereadFootprint).toBeLessThan(l2); // … the inputs alone fit, so re-reads stay in L2
    const withOutput = memoryTimeUs(ada, { ...t, rereadFootprint: t.uniqueBytes }, 2);
    expect(memoryTimeUs(ada, t, 2)).toBeLessThan(withOutput);
  });

  it('prices register staging with L1 reuse inside a block (4096×3072×3072, 256×128, 8 warps)', () => {
    const p = { m: 4096, n: 3072, k: 3072 };
    const reg = planGemm(spec, tile({ blockM: 256, warpsM: 8, warpsN: 1, staging: 'reg', accum: 'f16' }), ada);
    const smem = planGemm(spec, tile({ blockM: 256, warpsM: 8, warpsN: 1, staging: 'smem', accum: 'f16' }), ada);
    const tr = gemmTrafficForModel(reg, p, { target: ada, blocksPerSm: 1 });
    const ts = gemmTrafficForModel(smem, p, { target: ada, blocksPerSm: 1 });
    expect(tr.bytes).toBeGreaterThan(3 * ts.bytes); // every warp requests its fragments …
    expect(tr.l2Bytes).toBeCloseTo(ts.l2Bytes ?? ts.bytes, -3); // … but L2 sees the block's unique bytes
    expect(ts.l2Bytes).toBeLessThan(ts.bytes); // (the low-rank up's per-warp lora_up reads hit L1 in both)
    // The requests (loads only: stores bypass L1 reuse) are priced at L1 bandwidth.
    expect(tr.l1Bytes).toBeGreaterThan(3 * ts.bytes);
    expect(tr.l1Bytes).toBeLessThan(tr.bytes);
    const er = estimateGemmPlan(reg, p, ada);
    const es = estimateGemmPlan(smem, p, ada);
    expect(er.memoryUs / es.memoryUs).toBeLessThan(1.2);
  });

  it('counts every lora_act slice a qnext producer wrote (fc2 after a 256-wide fc1 tile: 48 slices)', () => {
    const fc2 = layer({ format: formatByKind('int4', 'bf16'), dtype: 'bf16', activation: 'unsigned', lowRank: 32, epilogue: ['bias', 'lowrank'] });
    const plan = planGemm(fc2, tile(), ada);
    const p = { m: 4096, n: 3072, k: 12288 };
    const one = gemmTrafficForModel(plan, p, { slices: 1 });
    const many = gemmTrafficForModel(plan, p, { slices: 48 });
    // lora_act: slices × (M/16 · R/16 tiles of 1 KiB) per N-block of fc2, read by every warp along N
    // for its own tiles (lowrank/up.h loads per warp, no shared memory).
    expect(plan.tile.blockN).toBe(128);
    expect(many.bytes - one.bytes).toBe(47 * (4096 / 16) * 2 * (3072 / 128) * plan.tile.warpsN * 1024);
    // L2 sees each slice once per block; the other warps' re-reads are L1 requests.
    const lr = lowRankWarpReads(plan, p, 48);
    const { warpsM, warpsN, blockM } = plan.tile;
    expect(lr.repeats).toBe(48 * (4096 / 16) * 2 * (3072 / 128) * 1024 * (warpsN - 1) + 2 * (3072 / 16) * Math.ceil(4096 / blockM) * 512 * (warpsM - 1));
    expect(many.l2Bytes).toBe(many.bytes - lr.repeats);
    expect(many.l1Bytes).toBe(lr.requested);
    expect(estimateGemmPlan(plan, p, ada, undefined, { slices: 48 }).memoryUs).toBeGreaterThan(estimateGemmPlan(plan, p, ada).memoryUs);
  });
});
