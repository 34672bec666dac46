// Reproductions from issue 15 (DSL): each failed before the fix (hang, TypeError, silent acceptance).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecError, UserError, formatValue } from '../../dsl/errors.js';
import { loadUserSpecFile } from '../../dsl/load.js';
import { layer, layers, validateSpec } from '../../dsl/spec.js';
import { qnext } from '../../dsl/epilogue.js';
import { int4 } from '../../dsl/formats.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'svdq-harden-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const specError = (f: () => unknown): SpecError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error('expected a SpecError');
};

describe('DSL hardening (issue 15)', () => {
  it('a self-referential initializer (`var a: any = a`) ends with a located SpecError instead of hanging', async () => {
    const file = join(tempDir(), 'cycle.mts');
    writeFileSync(file, "import { layer } from 'svdq-codegen';\nvar a: any = a;\nvar b: any = c; var c: any = b;\nexport const x = layer(a);\n");
    await expect(loadUserSpecFile(file)).rejects.toThrow(/cycle\.mts:4:\d+: spec: undefined must be an object/);
  }, 10_000);
  it('BigInt inside a null-prototype object, Symbols and cycles are formatted, not a TypeError', () => {
    const o = Object.assign(Object.create(null), { rank: 5n });
    expect(specError(() => layer({ lowRank: o })).message).toMatch(/lowRank\.rank: 5n must be an integer/);
    expect(specError(() => layer({ format: ['int4', o] as never })).message).toMatch(/^format: \["int4",\{"rank":"5n"\}\] must be a format object/);
    expect(specError(() => layer({ lowRank: { rank: Symbol('r') as never } })).message).toMatch(/Symbol\(r\)/);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(formatValue(cyc)).toBe('{"self":"[circular]"}');
    expect(formatValue(Object.create(null))).toBe('{}');
    expect(formatValue(NaN)).toBe('NaN');
  });
  it('an empty or odd key is named, never an empty field (": 1 is not a known field")', () => {
    expect(specError(() => layer({ '': 1 } as never)).message).toMatch(/^\[""\]: 1 is not a known field/);
    expect(specError(() => validateSpec({ ...layer({}), format: { kind: 'int4', group: 64, scaleDtype: 'bf16', '': 1 } })).message).toMatch(/^format\[""\]: 1 is not a known field/);
    expect(specError(() => layers({ ': ': { epilogue: 1 as never } })).message).toMatch(/^\[": "\]\.epilogue: 1 must be/);
  });
  it('layer([]) and layers(null) are refused', () => {
    expect(specError(() => layer([] as never)).field).toBe('spec');
    expect(specError(() => layers(null as never)).field).toBe('layers');
    expect(specError(() => layers({ a: null as never })).field).toBe('a');
  });
  it('null is not "omitted"', () => {
    expect(specError(() => layer({ dtype: null as never })).message).toMatch(/^dtype: null is null; omit the field/);
    expect(specError(() => layer({ lowRank: null as never })).field).toBe('lowRank');
    expect(specError(() => layer({ epilogue: ['bias', 'lowrank', qnext({ format: int4(), keepOutput: null as never })] })).field).toBe('epilogue[2].keepOutput');
  });
  it('-0 is normalised so an accepted spec survives a JSON round trip', () => {
    const s = layer({ lowRank: -0 });
    expect(Object.is(s.lowRank.rank, 0)).toBe(true);
    expect(validateSpec(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });
  it('load errors name the real file: .mts syntax errors, folders, CommonJS folders', async () => {
    const dir = tempDir();
    const mts = join(dir, 'x.mts');
    writeFileSync(mts, 'export const x = { lowRank: 32 ;\n');
    const e = await loadUserSpecFile(mts).catch((err: unknown) => err as Error);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toContain(`${mts}:1:`);
    expect((e as Error).message).not.toContain(join(dir, 'x.ts'));
    await expect(loadUserSpecFile(dir)).rejects.toThrow(/is a folder, not a spec file/);
    const cjs = join(dir, 'cjs');
    mkdirSync(cjs);
    writeFileSync(join(cjs, 'package.json'), '{}');
    writeFileSync(join(cjs, 's.ts'), "import { layer } from 'svdq-codegen';\nexport default layer({});\n");
    const c = await loadUserSpecFile(join(cjs, 's.ts')).catch((err: unknown) => err as Error);
    expect((c as Error).message).not.toContain('Require stack');
    expect((c as Error).message).toMatch(/rename it to \.mts or add "type": "module"/);
  });
});
