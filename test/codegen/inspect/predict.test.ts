// What inspect predicts from the issue model (dsl/targets.ts; its facts: test/dsl/issue-model.test.ts):
// per-pipe cycles, the bound, and blocks per SM from the limits.
import { describe, expect, it } from 'vitest';
import { CLASSES, occupancy, predict, type InstrClass } from '../../../codegen/inspect/index.js';
import { resolveGpu } from '../../../dsl/targets.js';

const zero = () => Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<InstrClass, number>;

describe('predict', () => {
  it('is tensor-bound under 16 instructions per MMA on sm_89, issue-bound above', () => {
    const t = resolveGpu('sm_89');
    const c = { ...zero(), tensor: 1, fp32: 4, int: 4 };
    expect(predict(t, c, 12, 'm16n8k64')).toMatchObject({ bound: 'tensor', vsTensor: 1, issueCyclesPerK64: 12 });
    // 1321.2 TOPS / 128 SMs / 2520 MHz is 4095.97 ops per SM-cycle: 16.0001 cycles
    const p = predict(t, c, 24, 'm16n8k64');
    expect(p.bound).toBe('issue');
    expect(p.vsTensor).toBeCloseTo(24 / 16, 3);
  });

  it('a 16/SM pipe takes 8 cycles per warp instruction per sub-partition', () => {
    const p = predict(resolveGpu('sm_89'), { ...zero(), conv: 4 }, 4, 'm16n8k64');
    expect(p.pipeCyclesPerK64.conv).toBe(32);
    expect(p.bound).toBe('conv');
  });
});

describe('occupancy', () => {
  it('registers, shared memory, threads or the block limit', () => {
    const t = resolveGpu('sm_89'); // 64 K regs, 100 KiB smem, 1536 threads, 24 blocks
    expect(occupancy(t, 256, 154, 17408)).toEqual({ blocksPerSm: 1, limiter: 'registers' });
    expect(occupancy(t, 128, 32, 48 * 1024)).toEqual({ blocksPerSm: 2, limiter: 'shared memory' });
    expect(occupancy(t, 1024, 32, 0).blocksPerSm).toBe(1);
    expect(occupancy(t, 32, 16, 0)).toEqual({ blocksPerSm: 24, limiter: 'blocks' });
  });
});
