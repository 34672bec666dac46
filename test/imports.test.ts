// The house rule: imports point one way, dsl → numerics → codegen → templates/runtime → tuner →
// export → regress → bin/bench (DESIGN.md §3). Every TypeScript file of the tree (tests excepted: they
// may reach anything they test) is read with the TypeScript scanner, so static, type-only and dynamic
// imports and re-exports all count; an edge against the direction fails with the file and the import.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codegen/cache.js';

/** Rooms in dependency order; a file may import its own room and any room of a lower rank. */
const RANKS: Record<string, number> = {
  dsl: 0,
  numerics: 1,
  codegen: 2,
  templates: 3,
  runtime: 3,
  tuner: 4,
  export: 5,
  regress: 6,
  bin: 7,
  bench: 7,
};

const roomOf = (file: string): string => file.split('/')[0]!;

interface Edge {
  from: string;
  to: string;
  spec: string;
}

function trackedSources(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mts'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return out.split('\n').filter((f) => f && roomOf(f) in RANKS);
}

function importsOf(file: string): Edge[] {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const info = ts.preProcessFile(text, true, true);
  const edges: Edge[] = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;  // packages and node: builtins
    const target = path.relative(REPO_ROOT, path.resolve(path.dirname(path.join(REPO_ROOT, file)), ref.fileName));
    edges.push({ from: file, to: target.split(path.sep).join('/'), spec: ref.fileName });
  }
  return edges;
}

function againstTheDirection(files: string[], read: (f: string) => Edge[] = importsOf): string[] {
  const bad: string[] = [];
  for (const f of files) {
    for (const e of read(f)) {
      const from = roomOf(e.from);
      const to = roomOf(e.to);
      if (!(to in RANKS)) {
        bad.push(`${e.from}: '${e.spec}' leaves the source tree (${e.to})`);
      } else if (RANKS[to]! > RANKS[from]! || (RANKS[to] === RANKS[from] && to !== from)) {
        bad.push(`${e.from}: '${e.spec}' imports ${to}/ from ${from}/ (allowed: ${allowedFrom(from)})`);
      }
    }
  }
  return bad;
}

const allowedFrom = (room: string): string =>
  Object.keys(RANKS)
    .filter((r) => r === room || RANKS[r]! < RANKS[room]!)
    .join(', ');

describe('import direction', () => {
  it('every import of the source tree points down the dependency order', () => {
    const files = trackedSources();
    expect(files.length).toBeGreaterThan(100);
    expect(againstTheDirection(files)).toEqual([]);
  });

  it('catches an import against the direction, a sibling room, and a path out of the tree', () => {
    const fake = (edges: Record<string, string[]>) => (f: string): Edge[] =>
      (edges[f] ?? []).map((to) => ({ from: f, to, spec: to }));
    const read = fake({
      'codegen/plan.ts': ['runtime/emu/build.ts', 'dsl/types.ts'],
      'runtime/harness/x.ts': ['templates/x.ts', 'codegen/nvcc.ts', 'tuner/db.ts'],
      'export/build.ts': ['regress/suite.ts', 'tuner/db.ts'],
      'dsl/spec.ts': ['../elsewhere/x.ts'],
    });
    expect(againstTheDirection(Object.keys({ 'codegen/plan.ts': 1, 'runtime/harness/x.ts': 1, 'export/build.ts': 1, 'dsl/spec.ts': 1 }), read)).toEqual([
      "codegen/plan.ts: 'runtime/emu/build.ts' imports runtime/ from codegen/ (allowed: dsl, numerics, codegen)",
      "runtime/harness/x.ts: 'templates/x.ts' imports templates/ from runtime/ (allowed: dsl, numerics, codegen, runtime)",
      "runtime/harness/x.ts: 'tuner/db.ts' imports tuner/ from runtime/ (allowed: dsl, numerics, codegen, runtime)",
      "export/build.ts: 'regress/suite.ts' imports regress/ from export/ (allowed: dsl, numerics, codegen, templates, runtime, tuner, export)",
      "dsl/spec.ts: '../elsewhere/x.ts' leaves the source tree (../elsewhere/x.ts)",
    ]);
  });

  it('reads static, type-only, re-exported and dynamic imports', () => {
    const text = [
      "import { a } from '../runtime/a.js';",
      "import type { B } from '../tuner/b.js';",
      "export { c } from '../regress/c.js';",
      "const d = await import('../bin/d.js');",
      "import x from 'node:fs';",
    ].join('\n');
    const specs = ts.preProcessFile(text, true, true).importedFiles.map((r) => r.fileName);
    expect(specs).toEqual(['../runtime/a.js', '../tuner/b.js', '../regress/c.js', '../bin/d.js', 'node:fs']);
  });
});
