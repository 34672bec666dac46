// Loads a user's TypeScript spec file without a build step (tsx's tsImport) and collects its
// KernelSpecs. A SpecError is re-thrown with the file:line:column of the offending property, found with
// ts-morph by walking the error's field path through the object literals the user wrote.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Node, Project, type SourceFile } from 'ts-morph';
import { tsImport } from 'tsx/esm/api';
import { SpecError, UserError } from './errors.js';
import { validateSpec } from './spec.js';
import type { KernelSpec } from './types.js';

type Segment = string | number;
type Location = { file: string; line: number; column: number };

/** 'epilogue[3].format.group' → ['epilogue', 3, 'format', 'group']. */
export function parseFieldPath(field: string): Segment[] {
  const out: Segment[] = [];
  for (const part of field.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** Strips wrappers users write around values: (x), x as T, x satisfies T, builder calls f({...}). */
/** Cycle-safe: `var a: any = a` (or a = b, b = a) must end, so every node is visited at most once. */
function unwrap(node: Node): Node {
  let n = node;
  const seen = new Set<Node>();
  for (;;) {
    if (seen.has(n)) return n;
    seen.add(n);
    if (Node.isParenthesizedExpression(n) || Node.isAsExpression(n) || Node.isSatisfiesExpression(n)) n = n.getExpression();
    else if (Node.isCallExpression(n) && n.getArguments().length > 0) n = n.getArguments()[0];
    else if (Node.isIdentifier(n)) {
      const decl = n.getSourceFile().getVariableDeclaration(n.getText());
      const init = decl?.getInitializer();
      if (!init) return n;
      n = init;
    } else return n;
  }
}

/** Follows the path as far as the source allows; returns the deepest property/element reached and how deep. */
function follow(start: Node, path: Segment[]): { node: Node; depth: number } {
  let value: Node = start;
  let reported: Node = start;
  let depth = 0;
  for (const seg of path) {
    const v = unwrap(value);
    let next: Node | undefined;
    if (typeof seg === 'number' && Node.isArrayLiteralExpression(v)) next = v.getElements()[seg];
    else if (typeof seg === 'string' && Node.isObjectLiteralExpression(v)) next = v.getProperty(seg);
    if (!next) break;
    depth++;
    reported = next;
    if (Node.isPropertyAssignment(next)) value = next.getInitializerOrThrow();
    else if (Node.isShorthandPropertyAssignment(next)) value = next.getNameNode();
    else value = next;
  }
  return { node: reported, depth };
}

/** Text of the value a property or element holds, for comparing with the rejected value. */
function valueText(node: Node): string {
  const v = Node.isPropertyAssignment(node) ? node.getInitializerOrThrow() : node;
  return normalize(unwrapTypes(v).getText());
}

/**
 * The best place in the file for a field path. Scopes from the stack (the failing builder call) are
 * tried first; then every object literal in the file is tried as the spec's root, preferring the
 * deepest match whose written value equals the rejected one; then any property with the last name.
 */
export function locateField(sf: SourceFile, field: string, scopes: Node[], value?: unknown): Node | undefined {
  const path = parseFieldPath(field);
  const text = value === undefined ? undefined : normalize(JSON.stringify(value) ?? '');
  const matches = (n: Node) => text !== undefined && valueText(n) === text;
  for (const scope of scopes) {
    const hit = follow(scope, path);
    if (hit.depth === path.length || (hit.depth > 0 && matches(hit.node))) return hit.node;
  }
  let best: { node: Node; score: number } | undefined;
  for (const root of sf.getDescendants().filter((d) => Node.isObjectLiteralExpression(d))) {
    const hit = follow(root, path);
    if (hit.depth === 0) continue;
    const score = hit.depth * 2 + (matches(hit.node) ? 1 : 0);
    if (!best || score > best.score) best = { node: hit.node, score };
  }
  if (best && best.score >= 2 * path.length) return best.node;
  const last = [...path].reverse().find((s): s is string => typeof s === 'string');
  const named = sf.getDescendants().filter((d) => Node.isPropertyAssignment(d) && d.getName() === last);
  return named.find(matches) ?? best?.node ?? named[0] ?? scopes[0];
}

function unwrapTypes(n: Node): Node {
  while (Node.isParenthesizedExpression(n) || Node.isAsExpression(n) || Node.isSatisfiesExpression(n)) n = n.getExpression();
  return n;
}

const normalize = (s: string) => s.replace(/\s+/g, '').replace(/'/g, '"').replace(/,([}\]])/g, '$1');

/** Call sites in the user's file on the error's stack, innermost first, as {line, column} (1-based). */
export function stackPositions(err: Error, absPath: string): Array<{ line: number; column: number }> {
  const url = pathToFileURL(absPath).href;
  const out: Array<{ line: number; column: number }> = [];
  for (const line of (err.stack ?? '').split('\n')) {
    for (const name of [url, absPath]) {
      const i = line.indexOf(name);
      if (i < 0) continue;
      // tsImport appends ?tsx-namespace=… to the module URL.
      const m = /^(?:\?[^:\s)]*)?:(\d+):(\d+)/.exec(line.slice(i + name.length));
      if (m) out.push({ line: Number(m[1]), column: Number(m[2]) });
      break;
    }
  }
  return out;
}

function positionOf(sf: SourceFile, node: Node): Location {
  const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
  return { file: sf.getFilePath() as string, line, column };
}

function parse(absPath: string): SourceFile {
  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } });
  return project.createSourceFile(absPath, readFileSync(absPath, 'utf8'));
}

/** Re-throws a SpecError with the location of the offending property in the user's file. */
function relocate(e: SpecError, absPath: string, displayPath: string, scopes: (sf: SourceFile) => Node[]): SpecError {
  const sf = parse(absPath);
  const fromStack = stackPositions(e, absPath).flatMap(({ line, column }) => {
    let pos: number;
    try {
      pos = sf.compilerNode.getPositionOfLineAndCharacter(line - 1, column - 1);
    } catch {
      return [];
    }
    const call = sf.getDescendantAtPos(pos)?.getFirstAncestor((a) => Node.isCallExpression(a));
    return call ? [call] : [];
  });
  const node = locateField(sf, e.field, [...fromStack, ...scopes(sf)], e.value);
  const at = node ? positionOf(sf, node) : { file: absPath, line: 1, column: 1 };
  return new SpecError(e.field, e.value, e.allowed, { ...at, file: displayPath });
}

/** Declarations of an export (initializer of `export const x`, or the default export expression). */
function exportScopes(sf: SourceFile, name: string, index?: number): Node[] {
  const decls = sf.getExportedDeclarations().get(name) ?? [];
  const nodes: Node[] = [];
  for (const d of decls) {
    let n: Node | undefined = Node.isVariableDeclaration(d) ? d.getInitializer() : d;
    if (n && index !== undefined) {
      const arr = unwrap(n);
      if (Node.isArrayLiteralExpression(arr)) n = arr.getElements()[index] ?? n;
    }
    if (n) nodes.push(n);
  }
  if (name === 'default') {
    const assign = sf.getExportAssignment((a) => !a.isExportEquals());
    if (assign) {
      let n: Node = assign.getExpression();
      const arr = unwrap(n);
      if (index !== undefined && Node.isArrayLiteralExpression(arr)) n = arr.getElements()[index] ?? n;
      nodes.push(n);
    }
  }
  return nodes;
}

const DSL_ROOT = dirname(fileURLToPath(import.meta.url));

/**
 * A throw-away tsconfig that maps `import … from 'svdq-codegen'` (and 'svdq-codegen/dsl') to this DSL,
 * so a spec file anywhere needs no install. tsx applies tsconfig paths to ES modules only: a .ts file
 * in a folder without `"type": "module"` must be named .mts (or import the DSL by path) to use them.
 */
function aliasTsconfig(userDir: string): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'svdq-spec-'));
  const file = join(dir, 'tsconfig.json');
  const index = join(DSL_ROOT, 'index.ts');
  const config = {
    compilerOptions: { baseUrl: DSL_ROOT, paths: { 'svdq-codegen': [index], 'svdq-codegen/dsl': [index] } },
    include: [join(userDir, '**/*')],
  };
  writeFileSync(file, JSON.stringify(config));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Imports a user's .ts/.js spec file and returns its KernelSpecs: the default export (a spec or an
 * array of specs) or else every exported spec / array of specs. Throws UserError naming the file.
 */
export async function loadUserSpecFile(path: string): Promise<KernelSpec[]> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new UserError(`${path}: spec file not found`);
  if (!statSync(abs).isFile()) throw new UserError(`${path}: is a folder, not a spec file; pass a .ts, .mts or .js file`);
  let mod: Record<string, unknown>;
  const limit = Error.stackTraceLimit;
  const sourceMaps = process.sourceMapsEnabled;
  // Stack frames must carry the user's own lines (tsx emits inline source maps) so an error thrown by
  // a builder call can be traced to the call site.
  // A test runner's Error.prepareStackTrace would bypass Node's source maps: set it aside meanwhile.
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = 100;
  process.setSourceMapsEnabled(true);
  (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
  const alias = aliasTsconfig(dirname(abs));
  try {
    mod = await tsImport(pathToFileURL(abs).href, { parentURL: import.meta.url, tsconfig: alias.file });
  } catch (e) {
    if (e instanceof Error) void e.stack; // format the stack now, with the user's source-mapped lines
    // The user's file gets its own instance of the DSL modules (tsx namespaces), so match errors by shape.
    const spec = asSpecError(e);
    if (spec) throw spec.location ? spec : relocate(spec, abs, path, () => []);
    if (e instanceof Error && e.name === 'UserError') throw new UserError(`${path}: ${e.message}`);
    throw new UserError(`${path}: cannot load spec file: ${loadMessage(e, abs, path)}`);
  } finally {
    alias.remove();
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
    process.setSourceMapsEnabled(sourceMaps);
  }
  // A file outside an ESM package is compiled to CommonJS; its namespace's default is then module.exports.
  const cjs = mod.default as { __esModule?: boolean } | undefined;
  if (cjs && typeof cjs === 'object' && cjs.__esModule === true) mod = cjs as Record<string, unknown>;
  const entries = Object.entries(mod).filter(([k]) => k !== '__esModule' && k !== 'module.exports');
  const hasDefault = mod.default !== undefined;
  const chosen = hasDefault ? entries.filter(([k]) => k === 'default') : entries;
  const specs: KernelSpec[] = [];
  for (const [name, value] of chosen) {
    if (typeof value === 'function') continue;
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item, i) => {
      const index = Array.isArray(value) ? i : undefined;
      if (!hasDefault && (typeof item !== 'object' || item === null)) return; // helpers, constants
      try {
        specs.push(validateSpec(item));
      } catch (e) {
        if (e instanceof SpecError) throw relocate(e, abs, path, (sf) => exportScopes(sf, name, index));
        throw e;
      }
    });
  }
  if (specs.length === 0) {
    throw new UserError(`${path}: exports no kernel specs; write \`export default layer({...})\` or export an array of layer(...) specs`);
  }
  return specs;
}

/**
 * A loader failure in the user's terms: esbuild names an .mts file as .ts (report the real name), and
 * Node's CommonJS `Require stack` is noise; a missing 'svdq-codegen' import there gets the fix instead.
 */
function loadMessage(e: unknown, abs: string, path: string): string {
  let msg = e instanceof Error ? e.message : String(e);
  const ext = /\.[mc]ts$/.exec(abs)?.[0];
  if (ext) msg = msg.split(abs.slice(0, -ext.length) + '.ts').join(path);
  msg = msg.split(abs).join(path);
  const cut = msg.indexOf('\nRequire stack:');
  if (cut >= 0) msg = msg.slice(0, cut);
  if (/Cannot find module 'svdq-codegen(\/dsl)?'/.test(msg) && /\.c?ts$/.test(abs)) {
    msg += ` (this .ts file is compiled as CommonJS because its folder's package.json has no "type": "module"; rename it to .mts or add "type": "module")`;
  }
  return msg.split('\n').slice(0, 6).join('\n');
}

function asSpecError(e: unknown): SpecError | undefined {
  if (e instanceof SpecError) return e;
  if (!(e instanceof Error) || e.name !== 'SpecError' || !('field' in e) || !('allowed' in e)) return undefined;
  const o = e as Error & { field: string; value: unknown; allowed: string; location?: Location };
  const copy = new SpecError(o.field, o.value, o.allowed, o.location);
  copy.stack = o.stack;
  return copy;
}

/** For tests and tools: the absolute path of a file URL or path. */
export const toPath = (p: string): string => (p.startsWith('file:') ? fileURLToPath(p) : resolve(p));
