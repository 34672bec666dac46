// The main-loop budgets of issue 11 as data plus a checker, so tests (default tiles, random tiles of the
// search space) and tools state them once. Static instructions per m16n8k64 in the main-loop body, SASS
// level (sm_75 … sm_89): fp32 cross-group accumulation ≤ 14.0, f16/bf16 ≤ 12.0, Turing ≤ 16.0; no MUFU,
// division, CALL or BSSY/BSYNC in the loop; at most one block barrier per k-block of ≥ 2 k64 steps.
// Activation kernel: ≤ 3 static instructions per quantized element in its loop.
import type { GemmTile } from '../../dsl/types.js';
import type { KernelInspection } from './inspect.js';

export const MAIN_LOOP_BUDGET = {
  f32acc: 14.0,
  f16acc: 12.0,
  turing: 16.0,
  /** A block barrier needs at least this many k64 steps per loop iteration. */
  minK64StepsPerBarrier: 2,
  actInstrPerElement: 3.0,
} as const;

/** m16n8k64 MMAs one warp issues per k64 step: (warp tile M / 16) × (warp tile N / 8). */
export function mmasPerK64Step(tile: Pick<GemmTile, 'blockM' | 'blockN' | 'warpsM' | 'warpsN'>): number {
  return (tile.blockM / tile.warpsM / 16) * (tile.blockN / tile.warpsN / 8);
}

/**
 * What breaks the budget, one line each (empty = within budget). GEMM needs its tile (for k64 steps per
 * iteration); the activation kernel is checked per element.
 */
export function budgetViolations(k: KernelInspection, tile?: Pick<GemmTile, 'blockM' | 'blockN' | 'warpsM' | 'warpsN' | 'accum'>): string[] {
  const out: string[] = [];
  if (k.kind === 'act') {
    if (!k.act) return ['no quantization loop found'];
    if (k.act.perElement > MAIN_LOOP_BUDGET.actInstrPerElement) out.push(`${k.act.perElement.toFixed(2)} instructions per element > ${MAIN_LOOP_BUDGET.actInstrPerElement}`);
    return out;
  }
  const l = k.mainLoop;
  if (!l) return ['no main loop with 4-bit MMAs found'];
  const limit = k.arch === 'sm_75' ? MAIN_LOOP_BUDGET.turing : tile?.accum === 'f16' ? MAIN_LOOP_BUDGET.f16acc : MAIN_LOOP_BUDGET.f32acc;
  if (l.perMma > limit) out.push(`${l.perMma.toFixed(2)} instructions per MMA > ${limit}`);
  if (l.hasMufu) out.push('MUFU in the main loop');
  if (l.hasDivision) out.push('division in the main loop');
  if (l.hasCall) out.push('CALL in the main loop');
  if (l.hasBssy) out.push('BSSY/BSYNC in the main loop');
  // A loop unrolled over its ring holds several k-blocks: the rule is per k64 step (≥ 2 steps per barrier).
  if (l.barriersPerIteration > 0 && tile) {
    const steps = l.mmas / mmasPerK64Step(tile) / l.barriersPerIteration;
    if (steps < MAIN_LOOP_BUDGET.minK64StepsPerBarrier) out.push(`a block barrier per ${steps} k64 step(s) < ${MAIN_LOOP_BUDGET.minK64StepsPerBarrier}`);
  } else if (l.barriersPerIteration > 1) {
    out.push(`${l.barriersPerIteration} block barriers per iteration > 1`);
  }
  return out;
}
