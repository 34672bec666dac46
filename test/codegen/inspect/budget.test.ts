// The issue-11 budgets as a checker: synthetic inspections inside and outside each rule. (Whether the
// committed kernels meet them is the main-loop work's test; today's defaults are listed in docs/inspect.md.)
import { describe, expect, it } from 'vitest';
import { CLASSES, budgetViolations, mmasPerK64Step, type InstrClass, type KernelInspection } from '../../../codegen/inspect/index.js';

const tile = { blockM: 128, blockN: 128, warpsM: 2, warpsN: 4, accum: 'f32' as const };
const byClass = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<InstrClass, number>;

function gemm(over: Partial<NonNullable<KernelInspection['mainLoop']>> = {}, arch: KernelInspection['arch'] = 'sm_89'): KernelInspection {
  return {
    uri: 'k', arch, target: 't', kind: 'gemm', counts: 'sass', function: 'f', registers: 128, spillBytes: 0, stackBytes: 0, smemBytes: 0, staticSmemBytes: 0, dynamicSmemBytes: 0,
    threads: 256, blocksPerSm: 1, occupancyLimiter: 'registers', predicted: null,
    mainLoop: { mmas: 32, instructions: 32 * 13, perMma: 13, byClass, barriersPerIteration: 1, hasMufu: false, hasCall: false, hasDivision: false, hasBssy: false, calledPerMma: 0, ...over },
  };
}

describe('budgetViolations', () => {
  it('passes a loop inside every rule', () => {
    expect(mmasPerK64Step(tile)).toBe(16);
    expect(budgetViolations(gemm(), tile)).toEqual([]);
  });

  it('names each broken rule', () => {
    expect(budgetViolations(gemm({ perMma: 25.56 }), tile)).toEqual(['25.56 instructions per MMA > 14']);
    expect(budgetViolations(gemm({ perMma: 13 }), { ...tile, accum: 'f16' })).toEqual(['13.00 instructions per MMA > 12']);
    expect(budgetViolations(gemm({ perMma: 15.5 }, 'sm_75'), tile)).toEqual([]);
    expect(budgetViolations(gemm({ hasMufu: true, hasDivision: true, hasCall: true, hasBssy: true }), tile)).toEqual([
      'MUFU in the main loop',
      'division in the main loop',
      'CALL in the main loop',
      'BSSY/BSYNC in the main loop',
    ]);
    // 16 MMAs per iteration = one k64 step with a barrier
    expect(budgetViolations(gemm({ mmas: 16 }), tile)).toEqual(['a block barrier per 1 k64 step(s) < 2']);
    expect(budgetViolations(gemm({ mmas: 16, barriersPerIteration: 0 }), tile)).toEqual([]);
    expect(budgetViolations(gemm({ barriersPerIteration: 2 }), tile)).toEqual(['a block barrier per 1 k64 step(s) < 2']);
    // a loop unrolled over a 2-deep ring of 2-step k-blocks: 2 barriers per 4 steps
    expect(budgetViolations(gemm({ mmas: 64, barriersPerIteration: 2 }), tile)).toEqual([]);
    expect(budgetViolations(gemm({ barriersPerIteration: 2 }))).toEqual(['2 block barriers per iteration > 1']);
    expect(budgetViolations({ ...gemm(), mainLoop: null }, tile)).toEqual(['no main loop with 4-bit MMAs found']);
  });

  it('the activation kernel: at most 3 instructions per element', () => {
    const act = (perElement: number): KernelInspection => ({
      ...gemm(),
      kind: 'act',
      mainLoop: null,
      act: { elementsPerIteration: 64, instructions: 64 * perElement, perElement, per64: 64 * perElement, byClass, conversionsPerElement: 1, barriersPerIteration: 0, hasMufu: true, hasCall: false, hasDivision: false, hasBssy: false },
    });
    expect(budgetViolations(act(2.9))).toEqual([]);
    expect(budgetViolations(act(34.09))).toEqual(['34.09 instructions per element > 3']);
  });
});
