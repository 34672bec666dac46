import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Project } from 'ts-morph';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecError, UserError } from '../../dsl/errors.js';
import { GELU_SHIFT } from '../../dsl/formats.js';
import { loadUserSpecFile, locateField, parseFieldPath, stackPositions } from '../../dsl/load.js';

const fixture = (name: string) => `test/dsl/fixtures/${name}.ts`;
const tempDirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
};
afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function specErrorOf(path: string): Promise<SpecError> {
  const e = await loadUserSpecFile(path).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SpecError);
  return e as SpecError;
}

describe('parseFieldPath', () => {
  it('splits dotted paths with indices', () => {
    expect(parseFieldPath('epilogue[3].format.group')).toEqual(['epilogue', 3, 'format', 'group']);
    expect(parseFieldPath('lowRank.rank')).toEqual(['lowRank', 'rank']);
    expect(parseFieldPath('a[0][1]')).toEqual(['a', 0, 1]);
  });
});

describe('locateField without a stack (static search)', () => {
  const sf = new Project({ useInMemoryFileSystem: true }).createSourceFile(
    'user.ts',
    [
      "const a = layer({ epilogue: ['bias', 'lowrank', 'gelu'], lowRank: { rank: 32 } });", // line 1
      "const b = layer({ epilogue: ['lowrank', 'gelu', 'bias'], lowRank: { rank: 40 } });", // line 2
      "const c = layers({ fc2: { format: int4({ group: 48 }) } });", // line 3
    ].join('\n'),
  );
  const at = (field: string, value: unknown) => {
    const n = locateField(sf, field, [], value)!;
    return sf.getLineAndColumnAtPos(n.getStart());
  };
  it('prefers the root whose written value equals the rejected one', () => {
    expect(at('epilogue[2].op', 'bias')).toEqual({ line: 2, column: 49 });
    expect(at('lowRank.rank', 40)).toEqual({ line: 2, column: 69 });
  });
  it('walks through builder calls and keys', () => {
    expect(at('fc2.format.group', 48)).toEqual({ line: 3, column: 42 });
    expect(at('format.group', 48)).toEqual({ line: 3, column: 42 });
  });
});

describe('loadUserSpecFile', () => {
  it('imports a user .ts file without a build step and returns its specs', async () => {
    const specs = await loadUserSpecFile(fixture('good-specs'));
    expect(specs.map((s) => s.label)).toEqual(['fc1', 'fc2']);
    expect(specs[0].epilogue[3]).toMatchObject({ op: 'qnext', activation: { unsigned: true, shift: GELU_SHIFT }, lowRankDown: { rank: 32 } });
    expect(specs[1].activation).toEqual({ unsigned: true, shift: GELU_SHIFT });
  });
  it('points a builder error at the file:line:column of the offending property', async () => {
    const e = await specErrorOf(fixture('bad-rank'));
    expect(e.field).toBe('lowRank.rank');
    expect(e.value).toBe(40);
    expect(e.location).toEqual({ file: fixture('bad-rank'), line: 8, column: 14 });
    expect(e.message).toBe('test/dsl/fixtures/bad-rank.ts:8:14: lowRank.rank: 40 is not a multiple of 16');
  });
  it('uses the failing call site when the same property name appears in several layers', async () => {
    const e = await specErrorOf(fixture('bad-order'));
    expect(e.field).toBe('epilogue[2].op');
    expect(e.location).toMatchObject({ line: 10, column: 33 });
  });
  it('prefers the failing call on the stack over an identical property elsewhere', async () => {
    const e = await specErrorOf(fixture('bad-shadowed'));
    expect(e.location).toMatchObject({ line: 9, column: 39 });
  });
  it('reads call sites from tsx-namespaced stack frames', () => {
    const err = new Error('x');
    err.stack = 'Error: x\n    at file:///u/spec.ts?tsx-namespace=abc-1:12:7\n    at other (file:///u/other.ts:1:1)\n    at /u/spec.ts:3:4';
    expect(stackPositions(err, '/u/spec.ts')).toEqual([{ line: 12, column: 7 }, { line: 3, column: 4 }]);
  });
  it('finds properties inside format builder calls and layers({...}) keys', async () => {
    const e = await specErrorOf(fixture('bad-layers'));
    expect(e.field).toBe('format.group');
    expect(e.location).toMatchObject({ line: 9, column: 25 });
  });
  it('points a plain exported object at its nested property (array element 1)', async () => {
    const e = await specErrorOf(fixture('bad-plain-export'));
    expect(e.field).toBe('format.group');
    expect(e.location).toMatchObject({ line: 11, column: 30 });
  });
  it("resolves `import … from 'svdq-codegen'` in an ES-module spec file anywhere, without an install", async () => {
    const dir = tempDir('svdq-user-');
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const file = join(dir, 'my-layers.ts');
    writeFileSync(file, "import { int4, layer } from 'svdq-codegen';\nexport default [layer({ format: int4({ group: 128 }), lowRank: 48 })];\n");
    const specs = await loadUserSpecFile(file);
    expect(specs).toHaveLength(1);
    expect(specs[0].format.group).toBe(128);
    const mts = join(tempDir('svdq-user-'), 'plain.mts');
    writeFileSync(mts, "import { layer } from 'svdq-codegen/dsl';\nexport const one = layer({\n  lowRank: 24,\n});\n");
    const e = await specErrorOf(mts);
    expect(e.location).toEqual({ file: mts, line: 3, column: 3 });
  });
  it('loads the example of docs/dsl.md', async () => {
    const doc = readFileSync('docs/dsl.md', 'utf8');
    const example = /```ts\n(\/\/ my-mlp\.mts[\s\S]*?)```/.exec(doc)![1];
    expect(readFileSync('test/dsl/fixtures/docs-example.mts', 'utf8')).toContain(example);
    const specs = await loadUserSpecFile('test/dsl/fixtures/docs-example.mts');
    // Named exports come in export-name order (attention, fc1, fc2), arrays in their own order.
    expect(specs.map((s) => s.label)).toEqual(['qkv', 'out', 'fc1', 'fc2']);
    expect(specs[1].lowRank.rank).toBe(64);
  });
  it('reports missing files, syntax errors, runtime errors and empty files as UserErrors naming the file', async () => {
    const dir = tempDir('svdq-load-');
    const syntax = join(dir, 'syntax.ts');
    writeFileSync(syntax, "export const x = { lowRank: 32 ;\n");
    const thrower = join(dir, 'throws.ts');
    writeFileSync(thrower, "throw new Error('boom');\nexport {};\n");
    const empty = join(dir, 'empty.ts');
    writeFileSync(empty, 'export const helper = () => 1;\n');
    await expect(loadUserSpecFile(join(dir, 'missing.ts'))).rejects.toThrow(new UserError(`${join(dir, 'missing.ts')}: spec file not found`));
    await expect(loadUserSpecFile(syntax)).rejects.toThrow(UserError);
    await expect(loadUserSpecFile(syntax)).rejects.toThrow(/syntax\.ts: cannot load spec file: .*Expected "}" but found ";"/s);
    await expect(loadUserSpecFile(thrower)).rejects.toThrow(/throws\.ts: cannot load spec file: boom/);
    await expect(loadUserSpecFile(empty)).rejects.toThrow(/empty\.ts: exports no kernel specs/);
    await expect(loadUserSpecFile(dir)).rejects.toThrow(/is a folder, not a spec file/);
  });
});
