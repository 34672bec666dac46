// A kill during the atomic write left `x.json.<n>` behind for good (issue 15): the next write under the
// lock removes temp files of dead writers, and nothing else.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDb, removeStaleTemps, upsertRecords } from '../../tuner/db.js';
import { makeRecord } from './fixtures/records.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-db-temps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stale temp files', () => {
  it('are removed on the next write; live writers, user files and other names stay', async () => {
    const db = path.join(dir, 'tune.json');
    const dead = path.join(dir, '.tune.json.svdq-tmp-999999-abcd1234');
    const live = path.join(dir, `.tune.json.svdq-tmp-${process.ppid}-abcd1234`);
    const legacy = path.join(dir, 'tune.json.3141592653');
    const userBackup = path.join(dir, 'tune.json.7');
    const other = path.join(dir, 'tune.json.bak');
    writeFileSync(dead, '{"schema":"svdq-codegen/tune-db","vers');
    writeFileSync(live, '{');
    writeFileSync(legacy, '{\n  "schema": "svdq-codegen/tune-db",\n  "version": 1,\n  "rec');
    writeFileSync(userBackup, 'my own notes');
    writeFileSync(other, '{"schema":"svdq-codegen/tune-db"}');
    await upsertRecords(db, [makeRecord()]);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(legacy)).toBe(false);
    for (const kept of [live, userBackup, other]) expect(existsSync(kept), kept).toBe(true);
    expect((await readDb(db)).records).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f.includes('svdq-tmp') && !f.includes(String(process.ppid)))).toEqual([]);
    expect(await removeStaleTemps(db)).toEqual([]);
  });
});
