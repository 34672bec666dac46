// The static view of a compiled kernel (docs/inspect.md): the public API other modules build on.
export { inspectSource, inspectUri, inspectionTarget, actElementsPerIteration, type KernelInspection, type InspectOptions, type InspectSourceOptions } from './inspect.js';
export type { MainLoopReport, ActLoopReport } from './analyze.js';
export { CLASSES, CLASS_TITLES, classify, mmaUnits, type InstrClass } from './classify.js';
export { countLoop, findLoops, findMainLoop, findQuantLoop, type Loop, type LoopCounts } from './loops.js';
export { occupancy, predict, type Prediction } from './predict.js';
export { parsePtx, parseSass, type AsmFunction, type Instr } from './sass.js';
export { disassemble, findDisassembler, installDisassembler, requireDisassembler, rewriteCubinHeader, toolsDir, type Disassembler } from './tools.js';
export { MAIN_LOOP_BUDGET, budgetViolations, mmasPerK64Step } from './budget.js';
