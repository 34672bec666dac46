// `svdq-codegen regress [--gpu sm_89,…] [--catalog NAME] [--budget quick|full] [--json FILE] [--junit FILE]
// [--update-baseline]`: the kernel regression suite (regress/). Prints the summary; exit 0 only
// when nothing regressed or failed (docs/regress.md).
import type { Command } from 'commander';
import { checkInputFile, checkOutputFile } from '../../codegen/paths.js';
import { UserError } from '../../dsl/errors.js';
import { renderConsoleReport } from '../../regress/report-console.js';
import { renderJsonReport, renderJunitReport, writeReportFile } from '../../regress/report-files.js';
import { runRegress } from '../../regress/suite.js';
import type { Budget } from '../../regress/types.js';

const list = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function budgetArg(v: string): Budget {
  if (v !== 'quick' && v !== 'full') throw new UserError(`--budget: ${JSON.stringify(v)} is not a budget; allowed: quick, full`);
  return v;
}

export function register(program: Command): void {
  program
    .command('regress')
    .description('kernel regression suite: source replay, compile matrix, correctness, traffic/performance, export smoke test')
    .option('--gpu <gpus>', 'targets, comma-separated or repeated (default: quick sm_89; full sm_80,sm_86,sm_89)', list)
    .option('--catalog <name>', 'model catalogs, comma-separated or repeated (default: quick flux.1-dev; full the committed catalogs)', list)
    .option('--budget <budget>', 'quick (the CI subset) or full (every kernel, plus the largest rank)', budgetArg, 'quick')
    .option('--json <file>', 'also write the report as JSON')
    .option('--junit <file>', 'also write the report as JUnit XML')
    .option('--update-baseline', 'rewrite generated/regress-baseline.json with what this run observed and show what changed')
    .option('--baseline <file>', 'baseline file (default generated/regress-baseline.json)')
    .option('--quiet', 'no progress lines on stderr')
    .action(async (o) => {
      // Before the run: report files writable, a named baseline present (a typo used to mean "nothing regressed").
      for (const [flag, file] of [['--json', o.json], ['--junit', o.junit]] as const) if (file) checkOutputFile(file, flag);
      if (o.baseline) {
        if (o.updateBaseline) checkOutputFile(o.baseline, '--baseline');
        else checkInputFile(o.baseline, '--baseline', 'baseline file');
      }
      const gpus = o.gpu ? [...new Set(o.gpu as string[])] : undefined; // --gpu sm_89 --gpu sm_89 is one target
      const log = o.quiet ? undefined : (line: string) => process.stderr.write(`  ${line}\n`);
      const report = await runRegress({ gpus, catalogs: o.catalog, budget: o.budget, updateBaseline: Boolean(o.updateBaseline), baselineFile: o.baseline, log });
      process.stdout.write(renderConsoleReport(report));
      if (o.json) await writeReportFile(o.json, renderJsonReport(report));
      if (o.junit) await writeReportFile(o.junit, renderJunitReport(report));
      if (!report.ok) process.exitCode = 1;
    });
}
