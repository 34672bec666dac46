// The CLI: argument parsing only; each command lives in bin/commands/<name>.ts and calls one library
// function. User mistakes (UserError) print one clear message and exit 2; anything else is our bug.
import { Command, CommanderError } from 'commander';
import chalk from 'chalk';
import { isUserError } from '../dsl/errors.js';
import { commands } from './commands/index.js';

/** Red only for a terminal, and never with NO_COLOR set (https://no-color.org). */
function red(text: string): string {
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  return noColor || !process.stderr.isTTY ? text : chalk.red(text);
}

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOSPC: 'no space left on the device',
  EEXIST: 'already exists',
};

/** A file-system error on a path the user gave is their mistake to fix: say which path and why. */
function fsUserMessage(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof err.code !== 'string' || typeof err.path !== 'string' || !FS_REASONS[err.code]) return undefined;
  return `${err.path}: ${FS_REASONS[err.code]} (${err.code}${err.syscall ? ` in ${err.syscall}` : ''})`;
}

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
      process.stderr.write(`${red('error:')} ${e.message}\n`);
      return 2;
    }
    const fsMessage = fsUserMessage(e);
    if (fsMessage) {
      process.stderr.write(`${red('error:')} ${fsMessage}\n`);
      return 2;
    }
    process.stderr.write(`${red('internal error (please report):')} ${(e as Error)?.stack ?? String(e)}\n`);
    return 70;
  }
}
