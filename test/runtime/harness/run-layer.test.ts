// A real layer (generated kernels, packed by codegen/layouts.ts) on the emulator through the harness,
// against the kernel-precision reference.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseUri } from '../../../codegen/uri.js';
import { defaultTiles } from '../../../codegen/default-tiles.js';
import { resolveGpu } from '../../../dsl/targets.js';
import { kernelPrecisionLayer } from '../../../runtime/reference/layer.js';
import { buildLayerHarness, LayerRunError, runLayer, type LayerRunResult } from '../../../runtime/harness/run-layer.js';
import type { BuiltHarness } from '../../../runtime/harness/harness.js';
import { compareLayer } from '../../../runtime/harness/compare.js';
import { randomInputs } from '../../../runtime/harness/verify.js';

// Also used by test/bin/cli.test.ts, so the emulator build is reused from the cache.
const TEST_URI = 'w4a4_int4g64_bf16_r32_m64n64k64_w2x2_s2_smem_f32acc_sm89_bias-lora';
const target = resolveGpu('sm_89');
const parsed = parseUri(TEST_URI);
if (parsed.kind !== 'gemm') throw new Error('unreachable');
const spec = parsed.spec;
const tiles = { gemm: parsed.tile, act: defaultTiles(spec, target).act };
const M = 37, N = 128, K = 256;
const inputs = randomInputs(spec, M, N, K, 7);

let built: BuiltHarness;
let run: LayerRunResult;
beforeAll(async () => {
  built = (await buildLayerHarness(spec, tiles, target, 'emu')).built;
  run = await runLayer({ spec, tiles, target, backend: 'emu', inputs, built });
});

describe('runLayer on the emulator', () => {
  it('returns unpacked logical outputs that match the reference', () => {
    const ref = kernelPrecisionLayer(inputs, spec);
    expect(run.uris.gemm).toBe(TEST_URI);
    expect(run.findings).toEqual([]);
    expect(run.act.codes).toEqual(ref.act.codes);
    expect(run.act.scales).toEqual(ref.act.scales);
    expect(run.y).toHaveLength(M * N);
    expect(run.loraAct).toHaveLength(M * 32);
    const cmp = compareLayer(run, inputs, spec);
    expect(cmp.checks.filter((c) => !c.passed)).toEqual([]);
    expect(cmp.yBitExact).toBeGreaterThan(0.95);
    expect(cmp.relErrorVsFloat64).toBeLessThan(0.05);
  });

  it('reports the emulator counters of both kernels', () => {
    expect(run.launches).toHaveLength(2);
    expect(run.counters.act?.global.load.bytes).toBeGreaterThanOrEqual(M * K * 2);
    expect(run.counters.gemm?.global.store.bytes).toBe(M * N * 2);
  });

  it('the comparison catches a corrupted output', () => {
    const y = run.y!.slice();
    y[5 * N + 3] ^= 0x0040; // flip an exponent bit
    const cmp = compareLayer({ ...run, y }, inputs, spec);
    expect(cmp.passed).toBe(false);
    expect(cmp.checks.find((c) => c.name === 'y')).toMatchObject({ passed: false, mismatches: 1 });
    const codes = run.act.codes.slice();
    codes[0] = codes[0] === 7 ? 6 : codes[0] + 1;
    expect(compareLayer({ ...run, act: { ...run.act, codes } }, inputs, spec).checks[0]).toMatchObject({ name: 'act codes', passed: false });
  });

  it('a launcher refusal (layer rank ≠ compiled rank) is a LayerRunError naming the status', async () => {
    const rank16 = randomInputs({ ...spec, lowRank: { rank: 16 } }, 5, N, K, 3);
    const err = await runLayer({ spec, tiles, target, backend: 'emu', inputs: rank16, built }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerRunError);
    expect((err as Error).message).toMatch(/launcher act_\S+ returned SVDQ_ERR_INVALID_ARG/);
  });

  it('--backend gpu without a GPU fails with the clear message', async () => {
    await expect(runLayer({ spec, tiles, target, backend: 'gpu', inputs, built: { ...built, backend: 'gpu' } })).rejects.toThrow(
      /no CUDA GPU found \(.*\); use --backend emu/,
    );
  });

  it('time mode on the emulator is labelled as the emulator clock', async () => {
    const timed = await runLayer({ spec, tiles, target, backend: 'emu', inputs, built, time: { warmup: 0, batch: 1, minReps: 1, maxReps: 1, l2Bytes: 72 << 20 } });
    expect(timed.timing?.clock).toBe('emulator-wall');
    expect(timed.timing?.total.reps).toBe(1);
    expect(timed.timing?.rotation_sets).toBeGreaterThan(1);
    expect(timed.y).toEqual(run.y);
  });
});

