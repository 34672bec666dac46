// The harness mechanics (bundle → device buffers → C ABI launchers → outputs, statuses, timing) with a
// fixture whose kernels echo their arguments; the real kernels go through run-layer.test.ts.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHarness, runHarness, type BuiltHarness, type HarnessSources } from '../../../runtime/harness/harness.js';
import { readOutput, type Bundle } from '../../../runtime/harness/bundle.js';
import { UserError } from '../../../dsl/errors.js';

const fixture = readFileSync(new URL('./fixtures/echo_layer.cu', import.meta.url), 'utf8');
const units: HarnessSources = {
  act: { name: 'echo_act.cu', source: fixture, symbol: 'echo_act_launcher' },
  gemm: { name: 'echo_gemm.cu', source: '#include <cstdint>\n', symbol: 'echo_gemm_launcher' },
};
const M = 5, N = 16, K = 64, R = 16;

function bundle(alpha = 1): Bundle {
  const x = Uint16Array.from({ length: M * K }, (_, i) => 1000 + i);
  const wq = Uint8Array.from({ length: (N * K) / 2 }, (_, i) => (i * 7) & 0xff);
  const bias = Uint16Array.from({ length: N }, (_, n) => n * 3);
  return {
    scalars: { M, N, K, rank: R, alpha, shift: 0.5 },
    buffers: [
      { name: 'x', data: x },
      { name: 'wq', data: wq },
      { name: 'bias', data: bias },
      { name: 'aq', bytes: (M * K) / 2, output: true },
      { name: 'ascales', bytes: 2 * M },
      { name: 'lora_act', bytes: 4 * M * R, output: true },
      { name: 'y', bytes: 2 * M * N, output: true },
    ],
  };
}

function expectedY(): number[] {
  const out: number[] = [];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const ascale = 1000 + m * K;
      const w = ((n * (K / 2)) * 7) & 0xff;
      const a = (m + 1) & 0xff;
      out.push((ascale + w + a + n * 3) & 0xffff);
    }
  }
  return out;
}

let emu: BuiltHarness;
beforeAll(async () => {
  emu = await buildHarness('emu', 'sm_89', units);
});

describe('layer harness on the emulator', () => {
  it('routes every buffer and scalar through the C ABI and returns the outputs', async () => {
    const run = await runHarness(emu, bundle());
    expect(run.result).toMatchObject({ emulated: true, act_status: 0, gemm_status: 0, cuda_error: 'cudaSuccess', act_launcher: 'echo_act_launcher' });
    expect([...new Uint16Array(await readOutput(run.outDir, 'y'))]).toEqual(expectedY());
    const lora = new Float32Array(await readOutput(run.outDir, 'lora_act'));
    expect(lora[3 * R + 7]).toBe(7.5); // shift + r
    expect(new Uint8Array(await readOutput(run.outDir, 'aq'))[2 * (K / 2) + 5]).toBe(7);
    expect(run.launches.map((l) => l.kernel)).toEqual(['echo_act', 'echo_gemm']);
    expect(run.launches.every((l) => l.reports.length === 0)).toBe(true);
    expect(run.launches[1].counters.global.store.bytes).toBe(2 * M * N);
  });

  it('reports a launcher refusal as its status and writes no outputs', async () => {
    const run = await runHarness(emu, bundle(2));
    expect(run.result).toMatchObject({ act_status: 0, gemm_status: 1 });
    await expect(readOutput(run.outDir, 'y')).rejects.toThrow(UserError);
  });

  it('time mode: warm-up, batches, rotation sized from the L2, labelled emulator clock', async () => {
    const b = bundle();
    const run = await runHarness(emu, b, { time: { warmup: 1, batch: 2, minReps: 2, maxReps: 4, samples: true, l2Bytes: 4096 } });
    const t = run.result.timing!;
    expect(t.clock).toBe('emulator-wall');
    expect(t.total.reps).toBeGreaterThanOrEqual(2);
    expect(t.total.reps).toBeLessThanOrEqual(4);
    expect(t.samples_ms).toHaveLength(t.total.reps);
    const setBytes = M * K * 2 + (N * K) / 2 + N * 2 + (M * K) / 2 + 2 * M + 4 * M * R + 2 * M * N;
    expect(t.set_bytes).toBe(setBytes);
    expect(t.rotation_sets).toBe(Math.floor((2 * 4096) / setBytes) + 1);
    expect(t.total.min_ms).toBeLessThanOrEqual(t.total.median_ms);
    // 1 correctness run + warm-up + samples, two kernels each
    expect(run.launches).toHaveLength(2 * (1 + 1 + t.total.reps));
  });

  it('buffers missing from the bundle reach the launchers as null pointers', async () => {
    const run = await runHarness(emu, { scalars: bundle().scalars, buffers: [{ name: 'x', data: new Uint16Array(M * K) }] });
    expect(run.result.act_status).toBe(1); // aq/ascales absent → the fixture launcher refuses
    expect(run.launches).toEqual([]);
  });
});

describe('layer harness for a GPU', () => {
  it('builds with nvcc for sm_89 (runs only where there is a GPU)', async () => {
    const gpu = await buildHarness('gpu', 'sm_89', units);
    expect(gpu.exe).toMatch(/program$/);
    expect(gpu.ptxas.map((p) => p.kernel).sort()).toEqual(expect.arrayContaining([expect.stringContaining('echo_act'), expect.stringContaining('echo_gemm')]));
  });
});
