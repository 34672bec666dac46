// Content-addressed build cache (DESIGN.md §2 "compile … content-addressed cache"; anchors §1(d)).
// An entry is a directory named by the sha256 of everything that determines its bytes (sources,
// headers, flags, tool version, artifact kind). Entries are built in a private temp directory and
// published with one rename, so a reader never sees half an entry and two processes racing on the same
// key both end with one complete entry (the loser discards its copy). Entries are never mutated.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `$SVDQ_CACHE_DIR`, else `<repo>/.cache/build`. */
export function cacheRoot(): string {
  const env = process.env.SVDQ_CACHE_DIR;
  return env && env.length > 0 ? path.resolve(env) : path.join(REPO_ROOT, '.cache', 'build');
}

/** sha256 over the parts, each length-prefixed so ('ab','c') and ('a','bc') differ. */
export function cacheKey(...parts: Array<string | Uint8Array>): string {
  const h = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    h.update(`${bytes.length}:`);
    h.update(bytes);
  }
  return h.digest('hex');
}

/** Digest of every file under `dir` (path + content, sorted), e.g. the device headers a kernel includes. */
export async function treeDigest(dir: string): Promise<string> {
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  await walk(dir);
  files.sort();
  const h = createHash('sha256');
  for (const f of files) {
    const body = await fs.readFile(f);
    h.update(`${path.relative(dir, f)}\0${body.length}\0`);
    h.update(body);
  }
  return h.digest('hex');
}

export interface CacheEntry<M> {
  key: string;
  /** The published entry directory (read-only by convention). */
  dir: string;
  meta: M;
  /** True when the entry already existed and `build` did not run. */
  hit: boolean;
}

const META_FILE = 'meta.json';

/**
 * Returns the entry for `key`, running `build(tmpDir)` only on a miss. `build` writes its artifacts into
 * `tmpDir` and returns JSON metadata, stored beside them. A failed build publishes nothing.
 */
export async function cachedBuild<M>(
  key: string,
  build: (tmpDir: string) => Promise<M>,
  root: string = cacheRoot(),
): Promise<CacheEntry<M>> {
  if (!/^[0-9a-f]{16,}$/.test(key)) throw new Error(`cache key '${key}' is not a hex digest`);
  const dir = path.join(root, key.slice(0, 2), key);
  const existing = await readMeta<M>(dir);
  if (existing !== undefined) return { key, dir, meta: existing, hit: true };

  const tmpRoot = path.join(root, 'tmp');
  await fs.mkdir(tmpRoot, { recursive: true });
  const tmp = path.join(tmpRoot, `${key.slice(0, 16)}.${process.pid}.${randomBytes(6).toString('hex')}`);
  await fs.mkdir(tmp);
  try {
    const meta = await build(tmp);
    await fs.writeFile(path.join(tmp, META_FILE), `${JSON.stringify(meta, null, 1)}\n`);
    await fs.mkdir(path.dirname(dir), { recursive: true });
    try {
      await fs.rename(tmp, dir);
    } catch (e) {
      // Another process published the same key first: its entry is equivalent, keep it.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      const winner = await readMeta<M>(dir);
      if (winner === undefined) {
        // A damaged entry (files deleted by hand): move it aside and publish ours in its place.
        const aside = `${tmp}.broken`;
        await fs.rename(dir, aside).catch(() => undefined);
        await fs.rm(aside, { recursive: true, force: true });
        await fs.rename(tmp, dir);
        return { key, dir, meta, hit: false };
      }
      await fs.rm(tmp, { recursive: true, force: true });
      return { key, dir, meta: winner, hit: true };
    }
    return { key, dir, meta, hit: false };
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function readMeta<M>(dir: string): Promise<M | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, META_FILE), 'utf8')) as M;
  } catch {
    return undefined;
  }
}

export interface BuildJob<T> {
  /** Shown by progress reporters (e.g. the kernel URI). */
  label: string;
  run: () => Promise<T>;
}

export type BuildOutcome<T> = { label: string; ok: true; value: T } | { label: string; ok: false; error: unknown };

export interface BuildManyOptions {
  /** Parallel jobs; defaults to the machine's cores. */
  concurrency?: number;
  /** Called after each job settles, in completion order. */
  onProgress?: (done: number, total: number, last: BuildOutcome<unknown>) => void;
}

/**
 * Runs every job with bounded parallelism; one failure does not stop the others (a tuner scores a
 * candidate that fails to compile, it does not abort). Results come back in job order.
 */
export async function buildMany<T>(jobs: readonly BuildJob<T>[], options: BuildManyOptions = {}): Promise<BuildOutcome<T>[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? os.availableParallelism()));
  const limit = pLimit(concurrency);
  let done = 0;
  return Promise.all(
    jobs.map((job) =>
      limit(async (): Promise<BuildOutcome<T>> => {
        let outcome: BuildOutcome<T>;
        try {
          outcome = { label: job.label, ok: true, value: await job.run() };
        } catch (error) {
          outcome = { label: job.label, ok: false, error };
        }
        done += 1;
        options.onProgress?.(done, jobs.length, outcome);
        return outcome;
      }),
    ),
  );
}
