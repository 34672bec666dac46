// The CLI: argument parsing only; each command lives in bin/commands/<name>.ts and calls one library
// function. User mistakes (UserError) print one clear message and exit 2; anything else is our bug.
import { Command, CommanderError } from 'commander';
import chalk from 'chalk';
import { isUserError } from '../dsl/errors.js';
import { commands } from './commands/index.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('svdq-codegen')
    .description('DSL compiler and autotuner for SVDQuant W4A4 kernels with fused low-rank branches')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0; usage errors were already printed.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isUserError(e)) {
      process.stderr.write(`${chalk.red('error:')} ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`${chalk.red('internal error (please report):')} ${(e as Error)?.stack ?? String(e)}\n`);
    return 70;
  }
}
