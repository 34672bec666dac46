import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../dsl/errors.js';
import { parseDb, readDb, serializeDb, upsertRecords } from '../../tuner/db.js';
import { DB_SCHEMA, emptyDb, TuneRecordSchema } from '../../tuner/records.js';
import { makeRecord } from './fixtures/records.js';

const WRITER = fileURLToPath(new URL('./fixtures/db-writer.ts', import.meta.url));
const tmp = () => mkdtemp(join(tmpdir(), 'svdq-db-'));

function runWriter(db: string, writer: number, count: number, delayMs = 0) {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, db, String(writer), String(count), String(delayMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, done, stderr: () => stderr };
}

describe('records schema', () => {
  it('accepts a valid record and round-trips a database', () => {
    const r = makeRecord();
    expect(TuneRecordSchema.parse(r)).toEqual(r);
    const db = { ...emptyDb(), records: [makeRecord({ n: 9216 }), r] };
    const back = parseDb(serializeDb(db), 'x.json');
    expect(back.records.map((x) => x.key)).toEqual([...db.records.map((x) => x.key)].sort());
  });

  it('rejects a time without a label', () => {
    const r = makeRecord() as unknown as { timing: Record<string, unknown> };
    delete r.timing.label;
    expect(TuneRecordSchema.safeParse(r).success).toBe(false);
  });
});

describe('corrupted database files are reported, not crashed on', () => {
  it('names the file and the JSON problem', async () => {
    const dir = await tmp();
    const path = join(dir, 'tune.json');
    await writeFile(path, '{"schema": "svdq-codegen/tune-db", "version": 1, "records": [');
    const err = await readDb(path).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/not valid JSON/);
  });

  it('names the field path of a schema violation', async () => {
    const dir = await tmp();
    const path = join(dir, 'tune.json');
    const bad = JSON.parse(serializeDb({ ...emptyDb(), records: [makeRecord()] }));
    bad.records[0].timing.timeUs = -3;
    await writeFile(path, JSON.stringify(bad));
    const err = await readDb(path).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(path);
    expect(err.message).toContain('records.0.timing.timeUs');
  });

  it('explains a version it cannot read', () => {
    expect(() => parseDb(JSON.stringify({ schema: DB_SCHEMA, version: 99, records: [] }), 'old.json')).toThrow(/old\.json: version 99 is not supported/);
  });

  it('rejects duplicate keys', () => {
    const r = makeRecord();
    const text = JSON.stringify({ schema: DB_SCHEMA, version: 1, records: [r, r] });
    expect(() => parseDb(text, 'dup.json')).toThrow(/appears twice/);
  });

  it('treats a missing file as an empty database', async () => {
    expect((await readDb(join(await tmp(), 'none.json'))).records).toEqual([]);
  });
});

describe('writes', () => {
  it('upsert replaces a record with the same key by the later one', async () => {
    const path = join(await tmp(), 'db.json');
    await upsertRecords(path, [makeRecord({ timeUs: 100, createdAt: '2026-01-01T00:00:00.000Z' })]);
    await upsertRecords(path, [makeRecord({ timeUs: 90, createdAt: '2026-01-02T00:00:00.000Z' })]);
    await upsertRecords(path, [makeRecord({ timeUs: 80, createdAt: '2025-12-31T00:00:00.000Z' })]);
    const db = await readDb(path);
    expect(db.records).toHaveLength(1);
    expect(db.records[0].timing.timeUs).toBe(90);
  });

  it('two concurrent writer processes lose nothing and leave valid JSON', async () => {
    const path = join(await tmp(), 'db.json');
    const a = runWriter(path, 0, 15);
    const b = runWriter(path, 1, 15);
    const codes = await Promise.all([a.done, b.done]);
    expect(codes, a.stderr() + b.stderr()).toEqual([0, 0]);
    const db = parseDb(await readFile(path, 'utf8'), path);
    expect(db.records).toHaveLength(30);
    expect(new Set(db.records.map((r) => r.layers[0])).size).toBe(30);
  });

  it('a writer killed half-way leaves a valid database with every finished record', async () => {
    const path = join(await tmp(), 'db.json');
    const w = runWriter(path, 2, 1000, 5);
    let seen = 0;
    await new Promise<void>((resolve) => {
      w.child.stdout.on('data', (d: Buffer) => {
        seen += String(d).split('\n').filter((l) => l.startsWith('wrote')).length;
        if (seen >= 6) {
          w.child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await w.done;
    const db = await readDb(path);
    expect(db.records.length).toBeGreaterThanOrEqual(6);
    // The lock left behind by the killed process goes stale; a new writer still gets in.
    await upsertRecords(path, [makeRecord({ n: 48, layer: 'after-kill' })]);
    expect((await readDb(path)).records.some((r) => r.layers[0] === 'after-kill')).toBe(true);
  });
});
