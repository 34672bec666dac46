// Compiles a stand-alone C++ test program of the ISA layer with g++ (cached by the content of every
// header under runtime/ and the source) and runs it. The programs print one line per check:
// "PASS <name> …" or "FAIL <name>: <details>", and exit non-zero when anything failed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const testDir = dirname(fileURLToPath(import.meta.url));

/** Flags of the ISA test programs: C++17, no FP contraction (bit-exact twins), -O1 (compile time dominates). */
export const emuCxxFlags = ['-std=c++17', '-O1', '-ffp-contract=off', '-Wall', '-Wextra'];

function hashTree(dir: string, h: ReturnType<typeof createHash>): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) hashTree(p, h);
    else if (/\.(h|hpp|cpp|cc|cu)$/.test(name)) h.update(p).update(readFileSync(p));
  }
}

/** A content key over every C++ file under runtime/ plus the given files and strings. */
export function contentKey(files: string[], ...extra: string[]): string {
  const h = createHash('sha256');
  hashTree(join(repoRoot, 'runtime'), h);
  for (const f of files) h.update(f).update(readFileSync(f));
  for (const e of extra) h.update(e);
  return h.digest('hex').slice(0, 20);
}

/** Builds `sources` (paths relative to the repo) into a cached executable; returns its path. */
export async function buildCpp(sources: string[], extraFlags: string[] = []): Promise<string> {
  const h = createHash('sha256');
  hashTree(join(repoRoot, 'runtime'), h);
  for (const s of sources) h.update(s).update(readFileSync(join(repoRoot, s)));
  h.update(extraFlags.join(' '));
  const outDir = join(tmpdir(), 'svdq-isa-tests');
  mkdirSync(outDir, { recursive: true });
  const exe = join(outDir, `t-${h.digest('hex').slice(0, 20)}`);
  if (!existsSync(exe)) {
    const tmp = `${exe}.${process.pid}.tmp`;
    await execa('g++', [
      ...emuCxxFlags,
      `-I${join(repoRoot, 'runtime/include')}`,
      `-I${join(repoRoot, 'runtime')}`,
      ...extraFlags,
      ...sources.map((s) => join(repoRoot, s)),
      '-o',
      tmp,
    ]);
    await execa('mv', [tmp, exe]);
  }
  return exe;
}

export interface CheckLines {
  passed: string[];
  failed: string[];
  stdout: string;
}

/** Runs a test program; never throws on a non-zero exit (the FAIL lines carry the details). */
export async function runChecks(exe: string, args: string[] = []): Promise<CheckLines> {
  const r = await execa(exe, args, { reject: false, maxBuffer: 64 * 1024 * 1024 });
  const lines = r.stdout.split('\n');
  const failed = lines.filter((l) => l.startsWith('FAIL'));
  if (r.exitCode !== 0 && failed.length === 0) failed.push(`FAIL exit ${r.exitCode}: ${r.stderr.slice(0, 2000)}`);
  return { passed: lines.filter((l) => l.startsWith('PASS')), failed, stdout: r.stdout };
}
