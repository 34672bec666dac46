// From parsed functions to the numbers of a KernelInspection: which function is the kernel, its main
// loop (GEMM: per m16n8k64) or quantization loop (activation: per 64 elements of X per thread).
import { CLASSES, type InstrClass } from './classify.js';
import { countLoop, findMainLoop, findQuantLoop, type LoopCounts } from './loops.js';
import type { AsmFunction } from './sass.js';

export interface MainLoopReport {
  /** m16n8k64 4-bit MMAs in the body. */
  mmas: number;
  /** Static instructions in the body. */
  instructions: number;
  /** instructions / mmas. */
  perMma: number;
  /** Instructions per MMA by class. */
  byClass: Record<InstrClass, number>;
  barriersPerIteration: number;
  hasMufu: boolean;
  hasCall: boolean;
  hasDivision: boolean;
  hasBssy: boolean;
  /** Instructions per MMA in routines the loop CALLs (not in `perMma`; sm_90's emulated s4 MMAs). */
  calledPerMma: number;
  /** Set when the counts need a caveat (sm_90: s4 MMAs as called IMMA.16832.S8.S8 routines). */
  note?: string;
}

export interface ActLoopReport {
  /** Elements of X one thread quantizes per loop iteration (from the plan). */
  elementsPerIteration: number;
  instructions: number;
  /** instructions / elementsPerIteration. */
  perElement: number;
  /** Instructions per 64 elements of X (per thread), total and by class. */
  per64: number;
  byClass: Record<InstrClass, number>;
  /** Code conversions (F2I/FRND/e2m1) per element: 1 when every code is rounded by a conversion. */
  conversionsPerElement: number;
  barriersPerIteration: number;
  hasMufu: boolean;
  hasCall: boolean;
  hasDivision: boolean;
  hasBssy: boolean;
  /** Set when the counts need a caveat (INT4 conversions that do not match the plan's elements). */
  note?: string;
}

const scaled = (c: Record<InstrClass, number>, k: number): Record<InstrClass, number> =>
  Object.fromEntries(CLASSES.map((cls) => [cls, c[cls] * k])) as Record<InstrClass, number>;

const flags = (c: LoopCounts) => ({ hasMufu: c.hasMufu, hasCall: c.hasCall, hasDivision: c.hasDivision, hasBssy: c.hasBssy });

/** The GEMM kernel function: the one whose main loop holds the most MMAs (a GEMM cubin has one entry). */
export function gemmReport(fns: AsmFunction[]): { fn: AsmFunction; mainLoop: MainLoopReport | null } {
  if (fns.length === 0) throw new Error('no function in the listing');
  let best: { fn: AsmFunction; counts?: LoopCounts } = { fn: fns[0] };
  for (const fn of fns) {
    const loop = findMainLoop(fn);
    if (!loop) continue;
    const counts = countLoop(fn, loop);
    if (!best.counts || counts.mmas > best.counts.mmas) best = { fn, counts };
  }
  const c = best.counts;
  if (!c) return { fn: best.fn, mainLoop: null };
  return {
    fn: best.fn,
    mainLoop: {
      mmas: c.mmas,
      instructions: c.instructions,
      perMma: c.instructions / c.mmas,
      byClass: scaled(c.byClass, 1 / c.mmas),
      barriersPerIteration: c.barriers,
      ...flags(c),
      calledPerMma: c.calledInstructions / c.mmas,
      ...(c.calledInstructions > 0 && best.fn.instrs.some((i) => /^IMMA\.16832\.S8\.S8/.test(i.opcode))
        ? { note: 'no 4-bit tensor cores: each s4 m16n8k64 is a CALL to a routine of 2 × IMMA.16832.S8.S8 plus unpacking (calledPerMma); correct, not a fast path' }
        : {}),
    },
  };
}

/**
 * The activation kernel: the instantiation for 16-byte-aligned X (`act_kernel<C, true>`, the path every
 * aligned launch takes; mangled `…Lb1EEEv…`) when present, else the first; then its quantization loop
 * (loops.ts findQuantLoop; `codesByConversion` false for FP4 formats).
 */
export function actReport(fns: AsmFunction[], elementsPerIteration: number, codesByConversion = true): { fn: AsmFunction; act: ActLoopReport | null } {
  if (fns.length === 0) throw new Error('no function in the listing');
  const fn = fns.find((f) => /Lb1EEEv/.test(f.name)) ?? fns[0];
  const loop = findQuantLoop(fn, codesByConversion);
  if (!loop) return { fn, act: null };
  const c = countLoop(fn, loop);
  const e = elementsPerIteration;
  return {
    fn,
    act: {
      elementsPerIteration: e,
      instructions: c.instructions,
      perElement: c.instructions / e,
      per64: (64 * c.instructions) / e,
      byClass: scaled(c.byClass, 64 / e),
      conversionsPerElement: c.quantConversions / e,
      barriersPerIteration: c.barriers,
      ...flags(c),
      // INT4 codes are one conversion each: another ratio means the loop and the plan's elements disagree
      ...(codesByConversion && c.quantConversions > 0 && c.quantConversions !== e
        ? { note: `${c.quantConversions} code conversions for ${e} elements per iteration: check actElementsPerIteration against act/kernel.h` }
        : {}),
    },
  };
}
