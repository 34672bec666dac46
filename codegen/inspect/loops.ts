// Loops of a function (a backward branch: its target starts the body, the branch ends it) and the counts
// inspect reports for one loop body. Static counts: every instruction of the body, taken or not, so an
// upper bound on what issues and a stable regression metric (reference/sass-inspection.md).
import { CLASSES, classify, isQuantConversion, mmaUnits, type InstrClass } from './classify.js';
import type { AsmFunction, Instr } from './sass.js';

export interface Loop {
  /** Address of the first body instruction (the backward branch's target). */
  start: number;
  /** Address of the (last) backward branch. */
  end: number;
  /** Body instructions in address order. */
  body: Instr[];
}

/** Every loop, one per distinct start (several back edges to one start form one loop), outermost first. */
export function findLoops(fn: AsmFunction): Loop[] {
  const ends = new Map<number, number>();
  for (const i of fn.instrs) {
    if (i.target === undefined || i.target >= i.addr) continue;
    if (!(i.base === 'BRA' || i.base === 'bra')) continue;
    ends.set(i.target, Math.max(ends.get(i.target) ?? -1, i.addr));
  }
  return [...ends.entries()]
    .map(([start, end]) => ({ start, end, body: fn.instrs.filter((i) => i.addr >= start && i.addr <= end) }))
    .sort((a, b) => a.start - b.start || b.end - a.end);
}

/**
 * MMAs of a body in m16n8k64 units, including those of called routines: sm_90 (no 4-bit tensor cores)
 * runs each s4 m16n8k64 as a CALL to a routine with two IMMA.16832.S8.S8 plus unpacking.
 */
function mmasOf(fn: AsmFunction, body: Instr[]): number {
  let n = 0;
  for (const i of body) {
    n += mmaUnits(i, fn.level);
    if (i.base === 'CALL' && i.target !== undefined) n += calleeBody(fn, i.target).reduce((s, c) => s + mmaUnits(c, fn.level), 0);
  }
  return n;
}

/**
 * The main loop: the loop holding the most 4-bit MMAs (in m16n8k64 units); of loops holding the same
 * number, the innermost (smallest body). Undefined when no loop holds an MMA.
 */
export function findMainLoop(fn: AsmFunction): Loop | undefined {
  let best: { loop: Loop; mmas: number } | undefined;
  for (const loop of findLoops(fn)) {
    const mmas = mmasOf(fn, loop.body);
    if (mmas === 0) continue;
    if (!best || mmas > best.mmas || (mmas === best.mmas && loop.body.length < best.loop.body.length)) best = { loop, mmas };
  }
  return best?.loop;
}

/**
 * The activation kernel's quantization loop. `byConversions` (INT4: every code is a float→int rounding):
 * the loop holding the most code conversions (F2I/FRND, cvt.rni), of equal ones the innermost. Without
 * conversions to go by (FP4: e2m1 codes come from comparisons; or an INT4 kernel that rounds by integer
 * arithmetic) the largest loop that contains no other loop. Undefined when there is no loop.
 */
export function findQuantLoop(fn: AsmFunction, byConversions = true): Loop | undefined {
  const loops = findLoops(fn);
  let best: { loop: Loop; n: number } | undefined;
  if (byConversions) {
    for (const loop of loops) {
      const n = loop.body.filter((i) => isQuantConversion(i, fn.level)).length;
      if (n === 0) continue;
      if (!best || n > best.n || (n === best.n && loop.body.length < best.loop.body.length)) best = { loop, n };
    }
  }
  if (best) return best.loop;
  const innermost = loops.filter((l) => !loops.some((o) => o !== l && o.start >= l.start && o.end <= l.end));
  return innermost.reduce<Loop | undefined>((a, b) => (!a || b.body.length > a.body.length ? b : a), undefined);
}

export interface LoopCounts {
  instructions: number;
  /** m16n8k64 4-bit MMAs in the body. */
  mmas: number;
  byClass: Record<InstrClass, number>;
  /** Block barriers (BAR.SYNC / bar.sync) in the body: one loop iteration's. */
  barriers: number;
  hasMufu: boolean;
  hasCall: boolean;
  /** Integer or IEEE division: a CALL to a routine with MUFU.RCP, the MUFU.RCP + I2F.RP/F2I.TRUNC idiom, FCHK, PTX div/rem. */
  hasDivision: boolean;
  hasBssy: boolean;
  /** Code conversions (quantization) in the body. */
  quantConversions: number;
  /** Instructions of the routines the body CALLs (each call counted), not part of `instructions`. */
  calledInstructions: number;
}

/**
 * The routine a CALL lands in: from its target up to the first RET (capped at 512 instructions). A
 * target that reaches no RET is no routine (ptxas ends some loops with `@P CALL.REL.NOINC <next>`, an
 * exit that never returns): empty.
 */
function calleeBody(fn: AsmFunction, target: number): Instr[] {
  const from = fn.instrs.findIndex((i) => i.addr === target);
  if (from < 0) return [];
  const out: Instr[] = [];
  for (let k = from; k < fn.instrs.length && out.length < 512; k++) {
    out.push(fn.instrs[k]);
    if (fn.instrs[k].base === 'RET') return out;
  }
  return [];
}

export function countLoop(fn: AsmFunction, loop: Loop): LoopCounts {
  const level = fn.level;
  const byClass = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<InstrClass, number>;
  let barriers = 0;
  let quantConversions = 0;
  for (const i of loop.body) {
    byClass[classify(i, level)] += 1;
    if ((level === 'sass' && i.base === 'BAR' && /^BAR(\.SYNC|\.RED|$)/.test(i.opcode)) || (level === 'ptx' && (i.base === 'bar' || i.base === 'barrier') && /sync|red/.test(i.opcode))) barriers += 1;
    if (isQuantConversion(i, level)) quantConversions += 1;
  }
  const has = (pred: (i: Instr) => boolean): boolean => loop.body.some(pred);
  // ptxas closes long loops (bodies past ~256 instructions) with `@P CALL.REL.NOINC <after the loop>; BRA
  // <top>`: a CALL to the instruction after the loop's back branch is its exit, a branch, not a call.
  const loopExit = (i: Instr): boolean => i.opcode.startsWith('CALL.REL.NOINC') && i.target === loop.end + 16;
  const calledInstructions = loop.body.reduce((s, i) => s + (i.base === 'CALL' && !loopExit(i) && i.target !== undefined ? calleeBody(fn, i.target).length : 0), 0);
  const hasMufu = level === 'sass' ? has((i) => i.base === 'MUFU') : byClass.mufu > 0;
  const hasCall = has((i) => (i.base === 'CALL' && !loopExit(i)) || i.base === 'call');
  let hasDivision: boolean;
  if (level === 'sass') {
    const rcp = (body: Instr[]): boolean => body.some((i) => i.opcode.startsWith('MUFU.RCP'));
    // ptxas's integer division: I2F.RP (or I2F.U32.RP) → MUFU.RCP → F2I.FTZ.U32.TRUNC, then IMAD.HI fix-ups.
    const intIdiom = rcp(loop.body) && has((i) => /^I2F(\.U32)?\.RP\b/.test(i.opcode) || /^F2I\.FTZ\.U32\.TRUNC/.test(i.opcode));
    const divCall = loop.body.some((i) => i.base === 'CALL' && i.target !== undefined && rcp(calleeBody(fn, i.target)));
    hasDivision = intIdiom || divCall || has((i) => i.base === 'FCHK');
  } else {
    hasDivision = has((i) => i.base === 'div' || i.base === 'rem' || (i.base === 'call' && /div|rem/i.test(i.operands)));
  }
  return {
    instructions: loop.body.length,
    mmas: mmasOf(fn, loop.body),
    calledInstructions,
    byClass,
    barriers,
    hasMufu,
    hasCall,
    hasDivision,
    hasBssy: has((i) => i.base === 'BSSY' || i.base === 'BSYNC'),
    quantConversions,
  };
}
