// The device headers a set of kernel sources reaches through `#include "…"` (and `__has_include("…")`),
// found by following the quoted includes from runtime/include/svdq — so a folder of generated kernels
// can carry exactly the headers it compiles against. Conditional includes are followed too (a
// superset: arch/ includes the emulator's scalar twins from runtime/emu/isa unconditionally, the
// emulator-only ones sit behind SVDQ_EMU), which keeps the set correct without a preprocessor.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './cache.js';

export const RUNTIME_DIR = path.join(REPO_ROOT, 'runtime');
const INCLUDE_DIR = path.join(RUNTIME_DIR, 'include');

const QUOTED_INCLUDE = /^[ \t]*#[ \t]*(?:include|if[ \t]+__has_include[ \t]*\()[ \t]*"([^"]+)"/gm;

export interface DeviceHeader {
  /** Path relative to runtime/ ('include/svdq/act/kernel.h', 'emu/isa/mma_int.h'): copying each to
   * `<out>/<path>` keeps every relative include resolvable with `-I<out>/include`. */
  path: string;
  text: string;
}

function resolveInclude(name: string, from: string | undefined, exists: (p: string) => boolean): string | undefined {
  const candidates = [...(from ? [path.resolve(path.dirname(from), name)] : []), path.join(INCLUDE_DIR, name)];
  return candidates.find((c) => c.startsWith(RUNTIME_DIR + path.sep) && exists(c));
}

/**
 * Every header under runtime/ the sources include, transitively, sorted by path. An include that
 * names no file under runtime/ (a system or CUDA header, written in quotes) is left to the compiler.
 */
export function deviceHeaderClosure(sources: readonly string[]): DeviceHeader[] {
  const texts = new Map<string, string>();
  const read = (p: string): string | undefined => {
    if (!texts.has(p)) {
      try {
        texts.set(p, readFileSync(p, 'utf8'));
      } catch {
        return undefined;
      }
    }
    return texts.get(p);
  };
  const exists = (p: string) => read(p) !== undefined;
  const found = new Set<string>();
  const queue: { text: string; file?: string }[] = sources.map((text) => ({ text }));
  while (queue.length > 0) {
    const { text, file } = queue.shift()!;
    for (const m of text.matchAll(QUOTED_INCLUDE)) {
      const hit = resolveInclude(m[1], file, exists);
      if (!hit || found.has(hit)) continue;
      found.add(hit);
      queue.push({ text: read(hit)!, file: hit });
    }
  }
  return [...found]
    .map((p) => ({ path: path.relative(RUNTIME_DIR, p).split(path.sep).join('/'), text: texts.get(p)! }))
    .sort((a, b) => a.path.localeCompare(b.path));
}
