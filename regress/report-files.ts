// The machine-readable reports: JSON (the report as it is, versioned) and JUnit XML (one testsuite per
// stage, one testcase per case; regressed → <failure>, failed → <error>, skipped → <skipped/>), which
// CI systems display natively. Both written atomically.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { formatDelta } from './tolerances.js';
import type { CaseResult, RegressReport } from './types.js';

export const REPORT_FORMAT = 'svdq-regress-report/1';

export function renderJsonReport(r: RegressReport): string {
  return `${JSON.stringify({ format: REPORT_FORMAT, ...r }, null, 2)}\n`;
}

/** XML 1.0 text: escapes markup and drops characters XML cannot hold (ANSI escapes, other C0 controls). */
export function xmlEscape(s: string): string {
  return s
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function detail(c: CaseResult): string {
  const lines = [c.message];
  for (const m of c.metrics) {
    lines.push(`${m.regressed ? '!! ' : '   '}${m.metric}: ${m.baseline !== undefined ? `${m.baseline} → ` : ''}${m.current} (${formatDelta(m)}; tolerance ${m.tolerance})`);
  }
  return lines.join('\n');
}

export function renderJunitReport(r: RegressReport): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const count = (cs: CaseResult[], s: CaseResult['status']) => cs.filter((c) => c.status === s).length;
  out.push(`<testsuites name="svdq-codegen regress" tests="${r.cases.length}" failures="${count(r.cases, 'regressed')}" errors="${count(r.cases, 'failed')}" skipped="${count(r.cases, 'skipped')}" time="${r.seconds.toFixed(3)}">`);
  for (const s of r.stages) {
    const cs = r.cases.filter((c) => c.stage === s.stage);
    out.push(`  <testsuite name="regress.${s.stage}" tests="${cs.length}" failures="${s.regressed}" errors="${s.failed}" skipped="${s.skipped}" time="${s.seconds.toFixed(3)}">`);
    for (const c of cs) {
      const open = `    <testcase classname="regress.${s.stage}" name="${xmlEscape(c.name)}" time="${c.seconds.toFixed(3)}"`;
      if (c.status === 'regressed') out.push(`${open}>`, `      <failure message="${xmlEscape(c.message)}" type="regression">${xmlEscape(detail(c))}</failure>`, '    </testcase>');
      else if (c.status === 'failed') out.push(`${open}>`, `      <error message="${xmlEscape(c.message)}" type="error">${xmlEscape(detail(c))}</error>`, '    </testcase>');
      else if (c.status === 'skipped') out.push(`${open}>`, `      <skipped message="${xmlEscape(c.message)}"/>`, '    </testcase>');
      else out.push(`${open}>`, `      <system-out>${xmlEscape(detail(c))}</system-out>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

export async function writeReportFile(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(path.resolve(file), text);
}
