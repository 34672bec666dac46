// The adapter from the kernel inspector's report to what the cost model reads.
import { describe, expect, it } from 'vitest';
import { predict } from '../../codegen/inspect/index.js';
import { resolveGpu } from '../../dsl/targets.js';
import { toCompiledCounts } from '../../tuner/compiled-counts.js';

const byClass = { tensor: 1, ldg: 0, ldgsts: 0.5, lds: 1, sts: 0, bar: 0.1, conv: 4, fp32: 8, fp16x2: 0, mufu: 0, int: 9.4, branch: 0.5, move: 1.1, other: 0 };
const mainLoop = { mmas: 16, instructions: 409, perMma: 25.6, byClass, barriersPerIteration: 1, hasMufu: false, hasCall: false, hasDivision: false, hasBssy: false, calledPerMma: 0 };

describe('compiled counts (adapter to codegen/inspect)', () => {
  it('keeps the per-MMA counts and takes the busiest pipe from the inspector’s prediction', () => {
    const target = resolveGpu('sm_80');
    const predicted = predict(target, byClass, 25.6, 'm16n8k64');
    const c = toCompiledCounts({ uri: 'u', counts: 'sass', mainLoop, predicted });
    expect(c.mainLoop!.perMma).toBe(25.6);
    expect(c.cycles!.tensor).toBeCloseTo(8, 1); // A100: 8 tensor cycles per m16n8k64
    expect(c.cycles!.issue).toBe(25.6);
    // 4 conversions per MMA on the 16-lane pipe: 4 × 32 / 4 = 32 cycles, the largest pipe.
    expect(c.cycles!.pipeClass).toBe('conv');
    expect(c.cycles!.pipe).toBe(32);
  });

  it('has no cycles without a main loop (no 4-bit MMA in any loop)', () => {
    const c = toCompiledCounts({ uri: 'u', counts: 'ptx', mainLoop: null, predicted: null });
    expect(c).toEqual({ uri: 'u', counts: 'ptx', mainLoop: null, cycles: null });
  });
});
