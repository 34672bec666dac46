// The regression suite's public surface (docs/regress.md).
export { runRegress, mergeBaseline, type RegressOptions } from './suite.js';
export { selectSubjects, resolveSelection, subjectId, QUICK_GPUS, QUICK_CATALOGS } from './subjects.js';
export { readBaseline, writeBaseline, diffBaselines, DEFAULT_BASELINE_FILE, BaselineSchema, type Baseline } from './baseline.js';
export { TOLERANCES, compareMetric } from './tolerances.js';
export { renderConsoleReport, makeChalk } from './report-console.js';
export { renderJsonReport, renderJunitReport, writeReportFile } from './report-files.js';
export type { RegressReport, CaseResult, CaseStatus, MetricResult, RegressSubject, StageName, Budget } from './types.js';
