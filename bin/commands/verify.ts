// `svdq-codegen verify --gpu sm_89 --backend emu [--configs URI,…] [--in layer.safetensors] [--json]`:
// random layers (or the file's layer) through a set of kernel configs against the references; a table,
// and exit 1 on any mismatch.
import type { Command } from 'commander';
import Table from 'cli-table3';
import chalk from 'chalk';
import { isSlowInt4Target, slowInt4Warning, withSlowInt4 } from '../../dsl/compat.js';
import { resolveGpu } from '../../dsl/targets.js';
import { verifyConfigs, type VerifyRow } from '../../runtime/harness/verify.js';
import { backendArg, formatArg, groupArg } from './run.js';
import { positiveInt } from './tune.js';

const list = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function summary(r: VerifyRow): string {
  if (r.error) return r.error.split('\n')[0];
  const failed = r.checks.filter((c) => !c.passed);
  if (failed.length === 0) return r.checks.map((c) => c.name).join(', ');
  return failed.map((c) => `${c.name}: ${c.detail}`).join('; ');
}

/** A URI broken into lines at its '_' separators (never inside a token), each at most `width` wide when possible. */
export function wrapUri(uri: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const token of uri.split(/(?<=_)/)) {
    if (line && line.length + token.length > width) {
      lines.push(line);
      line = '';
    }
    line += token;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('check generated kernels against the reference numerics on random layers')
    .requiredOption('--gpu <gpu>', 'target GPU: an arch (sm_89) or a card id')
    .option('--backend <backend>', 'emu (CPU emulator) or gpu', backendArg, 'emu')
    .option('--configs <uris>', 'GEMM kernel URIs, comma-separated or repeated (default: a built-in set)', list)
    .option('--in <file>', 'verify the layer of a .safetensors file (the tensors `run` takes: int4, NVFP4 or MXFP4) instead of random layers')
    .option('--format <kind>', "with --in: format for quantizing a float `weight` (int4, nvfp4, mxfp4; default: the target's native format)", formatArg)
    .option('--group <g>', 'with --in: int4 group for quantizing a float `weight` (default 64)', groupArg)
    .option('--seed <n>', 'random seed (default 1)', positiveInt('--seed'))
    .option('--allow-slow-int4', 'sm_90 only: build the INT4 m16n8k64 path anyway (Hopper has no 4-bit fast path; labelled slow)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      // A terminal gets one rewritten status line; a log (CI) gets one line per config, never silence.
      const tty = Boolean(process.stderr.isTTY);
      const progress = o.json ? undefined : (done: number, total: number, label: string) => process.stderr.write(tty ? `\r${done}/${total} ${label}\x1b[K` : `verify: ${done}/${total} ${label}\n`);
      const slow = o.allowSlowInt4 ? withSlowInt4(resolveGpu(o.gpu)) : undefined;
      if (slow && isSlowInt4Target(slow)) process.stderr.write(`${slowInt4Warning(slow)}\n`);
      const rows = await verifyConfigs({ gpu: o.gpu, backend: o.backend, configs: o.configs, input: o.in, format: o.format, group: o.group, seed: o.seed, allowSlowInt4: o.allowSlowInt4, onProgress: progress });
      if (progress && tty) process.stderr.write('\r\x1b[K');
      const failed = rows.filter((r) => !r.passed).length;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ passed: failed === 0, ...(slow && isSlowInt4Target(slow) ? { slowPath: true } : {}), rows }, null, 2)}\n`);
      } else {
        const table = new Table({
          head: ['', 'GEMM config', 'M×N×K', 'y exact', 'vs f64', 'checks'],
          style: { head: [], border: [] },
          wordWrap: true,
          colWidths: [6, 50, 14, 9, 9, 44],
        });
        for (const r of rows) {
          table.push([
            r.passed ? chalk.green('ok') : chalk.red('FAIL'),
            wrapUri(r.gemmUri, 48),
            `${r.M}×${r.N}×${r.K}`,
            Number.isNaN(r.yBitExact) ? '–' : `${(100 * r.yBitExact).toFixed(1)}%`,
            Number.isNaN(r.relErrorVsFloat64) ? '–' : r.relErrorVsFloat64.toExponential(1),
            summary(r),
          ]);
        }
        process.stdout.write(`${table.toString()}\n${rows.length - failed}/${rows.length} configs match the reference\n`);
      }
      if (failed > 0) process.exitCode = 1;
    });
}
