// The inspect tables (house style: cli-table3, chalk only when color is on): one summary row per kernel,
// then the main loop's instructions per step by class. Cycle figures are predicted, and say so.
import chalk, { Chalk } from 'chalk';
import Table from 'cli-table3';
import { CLASSES, CLASS_TITLES } from './classify.js';
import type { KernelInspection } from './inspect.js';

const f1 = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1));

/** One step's loop numbers: per m16n8k64 (GEMM) or per 64 elements of X per thread (activation). */
function step(k: KernelInspection): { total: number; byClass: Record<string, number>; flags: string[]; unit: string } | undefined {
  const loop = k.mainLoop ?? k.act ?? undefined;
  if (!loop) return undefined;
  const flags = [loop.hasMufu ? 'MUFU' : '', loop.hasDivision ? 'DIV' : '', loop.hasCall ? 'CALL' : '', loop.hasBssy ? 'BSSY' : ''].filter(Boolean);
  if (k.mainLoop) return { total: k.mainLoop.perMma, byClass: k.mainLoop.byClass, flags, unit: 'MMA' };
  return { total: k.act!.per64, byClass: k.act!.byClass, flags, unit: '64 el' };
}

export function renderInspectTables(rows: readonly KernelInspection[], color: boolean): string {
  const c = color ? chalk : new Chalk({ level: 0 });
  const summary = new Table({
    head: ['kernel', 'level', 'regs', 'spill', 'smem', 'blk/SM', 'step (×/iter)', 'instr/step', 'BAR/iter', 'flags', 'predicted cycles/step'],
    style: { head: [], border: [] },
    wordWrap: true,
    wrapOnWordBoundary: false, // URIs have no spaces: wrap them instead of cutting them
    colWidths: [44, 7, 6, 7, 10, 8, 15, 12, 10, 20, 34],
  });
  for (const k of rows) {
    const s = step(k);
    const loop = k.mainLoop ? `MMA ×${k.mainLoop.mmas}` : k.act ? `64 el ×${f1(k.act.elementsPerIteration / 64)}` : c.yellow('no loop found');
    const p = k.predicted;
    const pred = p
      ? `${p.tensorCyclesPerK64 > 0 ? `tensor ${f1(p.tensorCyclesPerK64)} issue ${f1(p.issueCyclesPerK64)}` : `issue ${f1(p.issueCyclesPerK64)}`}; ${p.bound}-bound${p.vsTensor !== null ? ` ${p.vsTensor.toFixed(2)}×` : ''}`
      : '–';
    summary.push([
      k.uri,
      k.counts,
      String(k.registers),
      k.spillBytes > 0 ? c.red(`${k.spillBytes} B`) : '0',
      `${(k.smemBytes / 1024).toFixed(1)} KiB`,
      k.blocksPerSm === null ? '–' : String(k.blocksPerSm),
      loop,
      s ? f1(s.total) : '–',
      k.mainLoop ? String(k.mainLoop.barriersPerIteration) : k.act ? String(k.act.barriersPerIteration) : '–',
      s && s.flags.length ? c.yellow(s.flags.join(' ')) : '–',
      pred,
    ]);
  }
  const classes = new Table({
    head: ['instructions per step', 'step', ...CLASSES.map((cls) => CLASS_TITLES[cls])],
    style: { head: [], border: [] },
    wordWrap: true,
    wrapOnWordBoundary: false,
    colWidths: [44, 7, ...CLASSES.map(() => 8)],
  });
  for (const k of rows) {
    const s = step(k);
    if (!s) continue;
    classes.push([k.uri, s.unit, ...CLASSES.map((cls) => (s.byClass[cls] ? f1(s.byClass[cls]) : '·'))]);
  }
  const notes = rows.flatMap((k) => [k.mainLoop?.note, k.act?.note].filter(Boolean).map((n) => `${k.uri}: ${n}`));
  const legend =
    'Static counts: every instruction of the loop body, taken or not (an upper bound on what issues). level ptx: no disassembler for the arch, PTX-level counts. ' +
    'Cycles per step on one SM sub-partition are predicted (dsl/targets.ts issue model), not measured.';
  return [summary.toString(), classes.toString(), ...notes, legend].join('\n');
}
