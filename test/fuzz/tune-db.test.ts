// Tuning databases from hostile input (seeded): a mutated database is either refused with a UserError
// naming the file, or every record in it is one tune/build can use (URIs plan, keys match contents).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseUri } from '../../codegen/uri.js';
import { UserError } from '../../dsl/errors.js';
import { parseDb, serializeDb } from '../../tuner/db.js';
import { recordProblems } from '../../tuner/db-check.js';
import { emptyDb, familyOfGemmUri, recordKey } from '../../tuner/records.js';
import { makeRecord } from '../tuner/fixtures/records.js';
import { runs } from './runs.js';

const base = JSON.parse(serializeDb({ ...emptyDb(), records: [makeRecord(), makeRecord({ m: 512, n: 1024, k: 4096, tile: { blockM: 64 } })] }));

/** Every path to a leaf (or object) of the JSON. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== 'object' || v === null) return [prefix];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [prefix, ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...prefix, k]))];
}
const ALL = paths(base).filter((p) => p.length > 0);
const uriLike = fc.constantFrom('garbage', '', base.records[0].gemmUri.replace('m128', 'm3'), base.records[0].gemmUri.replace('sm89', 'sm80'), base.records[0].gemmUri.replace('bias-lora', 'bias-bias-lora'), base.records[0].gemmUri.replace('_r32_', '_r032_'), base.records[0].actUri, base.records[1].gemmUri);
const value = fc.oneof(uriLike, fc.anything({ maxDepth: 1 }), fc.integer({ min: -5, max: 10000 }), fc.constantFrom(0, -1, 2 ** 53 + 1, 1e308, null, 'rtx3090', 'sm_80', 'measure', 'measured'));

function mutate(db: unknown, edits: { path: number; value: unknown; del: boolean }[]): unknown {
  const copy = structuredClone(db) as Record<string, unknown>;
  for (const e of edits) {
    const p = ALL[e.path % ALL.length];
    let o = copy as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) {
      if (typeof o[k] !== 'object' || o[k] === null) return copy;
      o = o[k] as Record<string | number, unknown>;
    }
    const last = p[p.length - 1];
    if (e.del && !Array.isArray(o)) delete o[last];
    else o[last] = e.value;
  }
  return copy;
}

describe('tuning database fuzz (seeded)', () => {
  it('mutated databases: refused naming the file, or every record usable', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ path: fc.nat(), value, del: fc.boolean() }), { minLength: 1, maxLength: 3 }), (edits) => {
        const text = JSON.stringify(mutate(base, edits));
        let db: ReturnType<typeof parseDb>;
        try {
          db = parseDb(text, 'f.json');
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
          expect((e as Error).message.startsWith('tuning database f.json: ')).toBe(true);
          return;
        }
        for (const r of db.records) {
          expect(recordProblems(r)).toEqual([]);
          const g = parseUri(r.gemmUri);
          expect(g.kind).toBe('gemm');
          expect(g.arch).toBe(r.target.arch);
          expect(familyOfGemmUri(r.gemmUri)).toBe(r.family);
          expect(r.key).toBe(recordKey({ family: r.family, n: r.shape.n, k: r.shape.k, bucket: r.bucket, targetId: r.target.id, toolchain: r.toolchain, mode: r.mode, sourceHash: r.sourceHash, withAct: r.actUri !== null }));
          expect(r.bucket.lo).toBeLessThan(r.bucket.hi);
        }
      }),
      { numRuns: runs() },
    );
  });
  it('the unmutated fixture database is accepted (the property is not vacuous)', () => {
    expect(parseDb(JSON.stringify(base), 'f.json').records).toHaveLength(2);
  });
});
