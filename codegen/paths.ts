// Output paths checked before long work (issue 15): a file output must not be a folder, its folder
// must exist or be creatable, and the folder must really take a new file (a probe file is created and
// removed: this catches read-only disks, /proc and /sys, which permission bits alone do not). Input
// paths named by an option must exist and be files. Every failure is a UserError naming the option.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../dsl/errors.js';

const why = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  const code = err.code ?? '';
  const text: Record<string, string> = {
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'a parent folder cannot be created there',
    ENOTDIR: 'a parent of it is a file, not a folder',
    ENOSPC: 'no space left on the device',
    EISDIR: 'it is a folder',
  };
  return text[code] ? `${text[code]} (${code})` : err.message;
};

/** The nearest ancestor of `p` that exists (p itself when it exists). */
function existingAncestor(p: string): string {
  let d = path.resolve(p);
  while (!existsSync(d)) {
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  return d;
}

/**
 * mkdir -p that cannot spin: Node's `mkdir(…, { recursive: true })` loops forever on /proc/nope (mkdir
 * says ENOENT although the parent exists, so it retries the parent, forever). Each missing folder is
 * made once, from the nearest existing ancestor down; the first failure is thrown.
 */
export function makeDirs(dir: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let d = abs; !existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Async twin of makeDirs for library code (database, report and dispatch writers). */
export async function makeDirsAsync(dir: string): Promise<void> {
  makeDirs(dir);
}

/**
 * Proves a file can be created in `dir` without creating anything that stays: the probe goes into
 * `dir` when it exists, else into its nearest existing ancestor (the folders are made later, by the
 * writer). Messages name `shown`.
 */
export function checkWritableDir(dir: string, flag: string, shown: string = dir): void {
  const abs = path.resolve(dir);
  const anc = existingAncestor(abs);
  if (!statSync(anc).isDirectory()) throw new UserError(`${flag} ${shown}: cannot write there: ${anc} is a file, not a folder`);
  if (anc !== abs) {
    // A folder that cannot exist (/proc/nope) or a read-only disk: refused here, not by a writer later.
    const probeDir = path.join(anc, `.svdq-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(probeDir);
      rmdirSync(probeDir);
    } catch (e) {
      throw new UserError(`${flag} ${shown}: cannot create the folder ${abs}: ${why(e)}`);
    }
    return;
  }
  const probe = path.join(abs, `.svdq-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw new UserError(`${flag} ${shown}: cannot write there: ${why(e)}`);
  }
}

/**
 * An output file: not a folder, its folder creatable and writable, an existing file writable.
 * Returns the absolute path.
 */
export function checkOutputFile(file: string, flag: string): string {
  const abs = path.resolve(file);
  if (existsSync(abs)) {
    const st = statSync(abs);
    if (st.isDirectory()) throw new UserError(`${flag} ${file}: is a folder; give a file path (e.g. ${path.join(file, 'out.json')})`);
    try {
      closeSync(openSync(abs, 'r+'));
    } catch (e) {
      throw new UserError(`${flag} ${file}: cannot write it: ${why(e)}`);
    }
  }
  checkWritableDir(path.dirname(abs), flag, file);
  return abs;
}

/** An input file named by an option: it must exist and be a file. */
export function checkInputFile(file: string, flag: string, what = 'file'): string {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new UserError(`${flag} ${file}: no such ${what}`);
  if (statSync(abs).isDirectory()) throw new UserError(`${flag} ${file}: is a folder; give the ${what} itself`);
  return abs;
}

/** Marker a command leaves in an output folder it created, so a later run may replace that folder. */
export const OWNED_MARKER = '.svdq-codegen-output';

/**
 * An output folder a command replaces as a whole (build --out): refused when it is a file, or a
 * non-empty folder this tool did not make (no OWNED_MARKER), unless `force`. Then checked writable.
 */
export function checkReplaceableDir(dir: string, flag: string, force: boolean): string {
  const abs = path.resolve(dir);
  if (existsSync(abs)) {
    const st = statSync(abs);
    if (!st.isDirectory()) throw new UserError(`${flag} ${dir}: is a file, not a folder; it would be replaced — give a folder path (nothing was written)`);
    const entries = readdirSync(abs);
    if (entries.length > 0 && !entries.includes(OWNED_MARKER) && !force) {
      const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '');
      throw new UserError(`${flag} ${dir}: is a non-empty folder svdq-codegen did not create (${shown}); it would be replaced. Give an empty or new folder, or pass --force to replace it`);
    }
  }
  checkWritableDir(path.dirname(abs), flag, dir);
  return abs;
}
