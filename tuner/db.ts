// The tuning database file: read with validation, updated by read-merge-write under a lock and written
// atomically (temp file + rename), so a run killed half-way leaves every finished record on disk and
// two runs on one database never lose each other's records (anchors.md §1d, §9).
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { makeDirsAsync } from '../codegen/paths.js';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { UserError } from '../dsl/errors.js';
import { dbProblems } from './db-check.js';
import { DB_SCHEMA, DB_VERSION, emptyDb, sortRecords, TuneDbSchema, type TuneDb, type TuneRecord } from './records.js';

/** Reads and validates a database; a missing file is an empty database. Problems name the file. */
export async function readDb(path: string): Promise<TuneDb> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyDb();
    throw new UserError(`tuning database ${path}: cannot be read (${(e as Error).message})`);
  }
  return parseDb(text, path);
}

export function parseDb(text: string, path: string, o: { semantics?: boolean } = {}): TuneDb {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`tuning database ${path}: is not valid JSON (${(e as Error).message}); repair it or delete it to re-tune`);
  }
  const head = json as { schema?: unknown; version?: unknown } | null;
  if (head && typeof head === 'object' && head.schema === DB_SCHEMA && head.version !== DB_VERSION) {
    throw new UserError(
      `tuning database ${path}: version ${JSON.stringify(head.version)} is not supported; this svdq-codegen reads version ${DB_VERSION} (re-tune into a new file)`,
    );
  }
  const parsed = TuneDbSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    const more = parsed.error.issues.length > 3 ? ` (and ${parsed.error.issues.length - 3} more)` : '';
    throw new UserError(`tuning database ${path}: is not a valid ${DB_SCHEMA} v${DB_VERSION} file: ${issues.join('; ')}${more}`);
  }
  const seen = new Set<string>();
  for (const r of parsed.data.records) {
    if (seen.has(r.key)) throw new UserError(`tuning database ${path}: record key ${JSON.stringify(r.key)} appears twice`);
    seen.add(r.key);
  }
  // Semantics: what tune and build would trip over later, reported now, naming the file.
  const problems = o.semantics === false ? [] : dbProblems(parsed.data.records);
  if (problems.length) {
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more; \`svdq-codegen db check ${path}\` lists them all)` : '';
    throw new UserError(`tuning database ${path}: ${problems.slice(0, 3).join('; ')}${more}`);
  }
  return parsed.data;
}

/**
 * `db check`: every problem of one file (schema, version, duplicate keys, then each record's
 * semantics), never stopping at the first. A missing file is a problem here, not an empty database.
 */
export async function checkDbFile(path: string): Promise<{ db?: TuneDb; problems: string[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { problems: [code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a database file' : `cannot be read (${(e as Error).message})`] };
  }
  let db: TuneDb;
  try {
    db = parseDb(text, path, { semantics: false });
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { problems: [e.message.replace(`tuning database ${path}: `, '')] };
  }
  return { db, problems: dbProblems(db.records) };
}

/** Union by key; for a key present in both, the record created later wins (a re-tune replaces). */
export function mergeRecords(base: readonly TuneRecord[], incoming: readonly TuneRecord[]): TuneRecord[] {
  const byKey = new Map(base.map((r) => [r.key, r]));
  for (const r of incoming) {
    const old = byKey.get(r.key);
    if (!old || old.createdAt <= r.createdAt) byKey.set(r.key, r);
  }
  return sortRecords([...byKey.values()]);
}

export function serializeDb(db: TuneDb): string {
  return `${JSON.stringify({ schema: DB_SCHEMA, version: DB_VERSION, records: sortRecords(db.records) }, null, 2)}\n`;
}

const TMP_TAG = '.svdq-tmp-';
const tmpPrefix = (path: string) => `.${basename(path)}${TMP_TAG}`;

/**
 * Atomic write: a temp file beside `path` named `.<name>.svdq-tmp-<pid>-<random>` (fsynced, then
 * renamed over `path`). The name says which process wrote it, so a later run can remove what a killed
 * one left behind (removeStaleTemps) without touching anything else in the folder.
 */
export async function writeFileAtomicDb(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `${tmpPrefix(path)}${process.pid}-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes the temp files of writers that died mid-write (issue 15: `x.json.<n>` stayed forever): ours
 * (`.x.json.svdq-tmp-<pid>-…` of a dead pid) and write-file-atomic's `x.json.<digits>` left by earlier
 * versions, the latter only when its first bytes are a tuning database. Returns what was removed.
 */
export async function removeStaleTemps(path: string): Promise<string[]> {
  const dir = dirname(path);
  const name = basename(path);
  const legacy = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d+$`);
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return removed;
  }
  for (const e of entries) {
    const full = join(dir, e);
    if (e.startsWith(tmpPrefix(path))) {
      const pid = Number(/^(\d+)-/.exec(e.slice(tmpPrefix(path).length))?.[1]);
      if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) removed.push(full);
    } else if (legacy.test(e)) {
      const head = await readFile(full, 'utf8').then((t) => t.slice(0, 64), () => '');
      const st = await stat(full).catch(() => undefined);
      if (st?.isFile() && /^\{\s*"schema":\s*"svdq-codegen\/tune-db"/.test(head)) removed.push(full);
    }
  }
  for (const f of removed) await rm(f, { force: true });
  return removed;
}

/** Writes a whole database atomically (no lock; for fresh output files such as `db merge --out`). */
export async function writeDb(path: string, db: TuneDb): Promise<void> {
  await makeDirsAsync(dirname(path)); // not mkdir -p: it spins forever on /proc/nope
  await writeFileAtomicDb(path, serializeDb(db));
}

/** Runs `fn` holding the database's lock (a `<path>.lock` directory; stale after 10 s). */
export async function withDbLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  await makeDirsAsync(dirname(path)); // not mkdir -p: it spins forever on /proc/nope
  const release = await lockfile.lock(path, {
    realpath: false,
    stale: 10_000,
    update: 5_000,
    retries: { retries: 400, factor: 1.2, minTimeout: 10, maxTimeout: 250, randomize: true },
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Adds records to the database under its lock: read, merge by key, write atomically. */
export async function upsertRecords(path: string, records: readonly TuneRecord[]): Promise<TuneDb> {
  return withDbLock(path, async () => {
    await removeStaleTemps(path); // under the lock: no live writer of ours is mid-write
    const current = await readDb(path);
    const next: TuneDb = { ...current, records: mergeRecords(current.records, records) };
    await writeFileAtomicDb(path, serializeDb(next));
    return next;
  });
}
