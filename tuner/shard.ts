// Splitting a tuning run across machines (`--shard i/n`) and combining the pieces (`db merge`).
// Jobs are assigned by their sorted position, so every shard computes the same split from the same
// job list without talking to the others, and the union of the shards is exactly the unsharded run.
import { existsSync } from 'node:fs';
import { UserError } from '../dsl/errors.js';
import { mergeRecords, readDb, writeDb } from './db.js';
import type { TuneDb } from './records.js';
import { emptyDb } from './records.js';

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index >= 0 && index < count)) {
    throw new UserError(`--shard: ${text} is not valid; expected i/n with 0 ≤ i < n`);
  }
  return { index, count };
}

/** The jobs of one shard: round-robin over the jobs sorted by key (balanced to within one job). */
export function selectShard<T>(jobs: readonly T[], keyOf: (job: T) => string, shard: Shard): T[] {
  const sorted = [...jobs].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  return sorted.filter((_, i) => i % shard.count === shard.index);
}

export interface MergeResult {
  db: TuneDb;
  /** Records per input file, in argument order. */
  perInput: { path: string; records: number }[];
  /** Keys present in more than one input (the later-created record was kept). */
  duplicates: number;
}

/** Combines databases (shards or runs on different machines) into one file, written atomically. */
export async function mergeDbFiles(inputs: readonly string[], out: string): Promise<MergeResult> {
  if (inputs.length === 0) throw new UserError('db merge: no input files; expected one or more tuning databases');
  let records = emptyDb().records;
  let duplicates = 0;
  const perInput: MergeResult['perInput'] = [];
  for (const path of inputs) {
    if (!existsSync(path)) throw new UserError(`db merge: ${path} does not exist; expected a tuning database written by \`tune --db\``);
    const db = await readDb(path);
    const keys = new Set(records.map((r) => r.key));
    duplicates += db.records.filter((r) => keys.has(r.key)).length;
    records = mergeRecords(records, db.records);
    perInput.push({ path, records: db.records.length });
  }
  const db: TuneDb = { ...emptyDb(), records };
  await writeDb(out, db);
  return { db, perInput, duplicates };
}
