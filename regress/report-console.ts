// The readable summary: one table row per stage, then every case that regressed or failed with the
// numbers that moved (baseline → current, by how much, the tolerance), then improvements worth
// recording and, after --update-baseline, what changed in the baseline file. Colour follows chalk's
// detection and is off whenever NO_COLOR is set.
import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { formatDelta } from './tolerances.js';
import type { CaseResult, RegressReport } from './types.js';

export function makeChalk(env: NodeJS.ProcessEnv = process.env, level?: 0 | 1 | 2 | 3): ChalkInstance {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return new Chalk({ level: 0 });
  return level === undefined ? new Chalk() : new Chalk({ level });
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(3));

function caseLines(c: CaseResult, color: ChalkInstance): string[] {
  const tag = c.status === 'regressed' ? color.red('REGRESSED') : color.red('FAILED');
  const lines = [`${tag} [${c.stage}] ${c.name}`, `    ${c.message}`];
  for (const m of c.metrics.filter((x) => x.regressed)) {
    lines.push(`    ${m.metric}: ${m.baseline !== undefined ? `${fmt(m.baseline)} → ` : ''}${fmt(m.current)} ${m.baseline !== undefined ? `(${formatDelta(m)}; tolerance ${m.tolerance})` : `(limit ${m.tolerance})`}`);
  }
  return lines;
}

export function renderConsoleReport(r: RegressReport, color: ChalkInstance = makeChalk()): string {
  const out: string[] = [];
  out.push(`svdq-codegen regress — budget ${r.budget}, ${r.subjects.length} subject(s) on ${r.archs.join(', ') || '–'} (${r.catalogs.join(', ') || '–'}); nvcc ${r.toolchain.nvcc ?? 'missing'}${r.toolchain.gpu ? `, GPU ${r.toolchain.gpu}` : ', no GPU'}`);
  const table = new Table({ head: ['stage', 'passed', 'regressed', 'failed', 'new', 'skipped', 'time'], style: { head: [], border: [] } });
  for (const s of r.stages) {
    const bad = s.regressed + s.failed > 0;
    table.push([
      bad ? color.red(s.stage) : color.green(s.stage),
      String(s.passed),
      s.regressed ? color.red(String(s.regressed)) : '0',
      s.failed ? color.red(String(s.failed)) : '0',
      s.new ? color.yellow(String(s.new)) : '0',
      String(s.skipped),
      `${s.seconds.toFixed(1)} s`,
    ]);
  }
  out.push(table.toString());
  const bad = r.cases.filter((c) => c.status === 'regressed' || c.status === 'failed');
  for (const c of bad) out.push(...caseLines(c, color));
  const fresh = r.cases.filter((c) => c.status === 'new');
  if (fresh.length > 0) out.push(color.yellow(`${fresh.length} case(s) have no baseline yet; record them with --update-baseline`));
  const skipped = r.cases.filter((c) => c.status === 'skipped');
  for (const c of skipped) out.push(color.dim(`skipped [${c.stage}] ${c.name}: ${c.message}`));
  const improved = r.cases.flatMap((c) => c.metrics.filter((m) => m.improved && !m.regressed).map((m) => `${c.name}: ${m.metric} ${fmt(m.baseline!)} → ${fmt(m.current)} (${formatDelta(m)})`));
  if (improved.length > 0) {
    out.push(color.green(`${improved.length} improvement(s) over the baseline (record with --update-baseline):`));
    out.push(...improved.slice(0, 20).map((l) => `    ${l}`));
    if (improved.length > 20) out.push(`    … ${improved.length - 20} more`);
  }
  if (r.baselineChanges) {
    out.push(r.baselineChanges.length === 0 ? `baseline ${r.baselineFile}: unchanged` : `baseline ${r.baselineFile}: ${r.baselineChanges.length} change(s)`);
    out.push(...r.baselineChanges.slice(0, 60).map((l) => `    ${l}`));
    if (r.baselineChanges.length > 60) out.push(`    … ${r.baselineChanges.length - 60} more`);
  }
  const total = r.cases.length;
  const passed = r.cases.filter((c) => c.status === 'passed').length;
  out.push(
    r.ok
      ? color.green(`OK: ${passed}/${total} cases passed, nothing regressed (${r.seconds.toFixed(1)} s)`)
      : color.red(`REGRESSED: ${bad.length} of ${total} cases regressed or failed (${r.seconds.toFixed(1)} s)`),
  );
  return `${out.join('\n')}\n`;
}
