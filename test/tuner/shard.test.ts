import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readDb, writeDb } from '../../tuner/db.js';
import { emptyDb } from '../../tuner/records.js';
import { mergeDbFiles, parseShard, selectShard } from '../../tuner/shard.js';
import { makeRecord } from './fixtures/records.js';

describe('--shard', () => {
  it('parses i/n and rejects everything else with the documented message', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['3/2', '2/2', '1/0', '-1/2', 'a/b', '1', '1/2/3']) {
      expect(() => parseShard(bad)).toThrow(`--shard: ${bad} is not valid; expected i/n with 0 ≤ i < n`);
    }
  });

  it('shards partition the jobs (disjoint, complete, balanced) whatever the input order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), (keys, n) => {
        const shards = Array.from({ length: n }, (_, i) => selectShard(keys, (k) => k, { index: i, count: n }));
        const reversed = Array.from({ length: n }, (_, i) => selectShard([...keys].reverse(), (k) => k, { index: i, count: n }));
        expect(reversed).toEqual(shards);
        const all = shards.flat();
        expect(all.length).toBe(keys.length);
        expect(new Set(all)).toEqual(new Set(keys));
        const sizes = shards.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('db merge', () => {
  it('merging shard files gives the same database as one unsharded file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svdq-merge-'));
    const records = [3072, 9216, 12288].flatMap((n) => [512, 4096, 4608].map((m) => makeRecord({ m, n, layer: `L${n}_${m}` })));
    const whole = join(dir, 'whole.json');
    await writeDb(whole, { ...emptyDb(), records });
    const parts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = join(dir, `shard${i}.json`);
      await writeDb(p, { ...emptyDb(), records: selectShard(records, (r) => r.key, { index: i, count: 3 }) });
      parts.push(p);
    }
    const out = join(dir, 'merged.json');
    const result = await mergeDbFiles(parts, out);
    expect(result.duplicates).toBe(0);
    expect(result.perInput.map((p) => p.records)).toEqual([3, 3, 3]);
    expect(await readFile(out, 'utf8')).toBe(await readFile(whole, 'utf8'));
  });

  it('keeps the later record for a key present in two inputs and counts it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svdq-merge-'));
    await writeDb(join(dir, 'a.json'), { ...emptyDb(), records: [makeRecord({ timeUs: 50, createdAt: '2026-01-01T00:00:00.000Z' })] });
    await writeDb(join(dir, 'b.json'), { ...emptyDb(), records: [makeRecord({ timeUs: 70, createdAt: '2026-02-01T00:00:00.000Z' })] });
    const r = await mergeDbFiles([join(dir, 'a.json'), join(dir, 'b.json')], join(dir, 'out.json'));
    expect(r.duplicates).toBe(1);
    expect((await readDb(join(dir, 'out.json'))).records.map((x) => x.timing.timeUs)).toEqual([70]);
  });

  it('names a missing input file', async () => {
    await expect(mergeDbFiles(['/nonexistent/x.json'], '/tmp/y.json')).rejects.toThrow(/\/nonexistent\/x\.json does not exist/);
  });
});
