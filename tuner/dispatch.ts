// Tuning records → a per-GPU dispatch table (generated/dispatch/<target>.h): for each kernel family and
// (N, K), M buckets → the chosen GEMM and activation kernels, plus a safe default per family for shapes
// nobody tuned. The table is an X-macro list so each consumer (the C ABI export, the torch glue, tests)
// expands it into what it needs; the lookup function needs nothing but the table. Deterministic: the
// same records give byte-identical output (sorted, no timestamps).
import { makeDirsAsync } from '../codegen/paths.js';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { parseUri } from '../codegen/uri.js';
import type { TuneRecord } from './records.js';

export interface DispatchEntry {
  family: string;
  n: number;
  k: number;
  /** M range (mLo, mHi]; the last bucket of a shape extends to every larger M (mHi = 0 means open). */
  mLo: number;
  mHi: number;
  gemmUri: string;
  actUri: string | null;
  label: 'measured' | 'predicted';
  timeUs: number;
}

export interface DispatchTable {
  targetId: string;
  entries: DispatchEntry[];
  /** Per family: the default used when no entry matches (N, K). */
  defaults: { family: string; gemmUri: string; actUri: string | null; reason: string }[];
}

const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

/** Builds the table from the records of one target (records of other targets are ignored). */
export function buildDispatchTable(records: readonly TuneRecord[], targetId: string): DispatchTable {
  const mine = records.filter((r) => r.target.id === targetId);
  // One record per (family, n, k, bucket): prefer measured over predicted, then the faster.
  const best = new Map<string, TuneRecord>();
  for (const r of mine) {
    const id = `${r.family}|${r.shape.n}|${r.shape.k}|${r.bucket.hi}`;
    const old = best.get(id);
    if (!old || better(r, old)) best.set(id, r);
  }
  const chosen = [...best.values()].sort(
    (a, b) => cmp(a.family, b.family) || cmp(a.shape.n, b.shape.n) || cmp(a.shape.k, b.shape.k) || cmp(a.bucket.hi, b.bucket.hi),
  );
  const entries: DispatchEntry[] = chosen.map((r, i) => {
    const next = chosen[i + 1];
    const lastOfShape = !next || next.family !== r.family || next.shape.n !== r.shape.n || next.shape.k !== r.shape.k;
    const prev = chosen[i - 1];
    const firstOfShape = !prev || prev.family !== r.family || prev.shape.n !== r.shape.n || prev.shape.k !== r.shape.k;
    return {
      family: r.family,
      n: r.shape.n,
      k: r.shape.k,
      // Buckets of one shape tile the M axis without gaps: smaller M than the first tuned bucket
      // uses it, larger M than the last uses the last.
      mLo: firstOfShape ? 0 : prev!.bucket.hi,
      mHi: lastOfShape ? 0 : r.bucket.hi,
      gemmUri: r.gemmUri,
      actUri: r.actUri,
      label: r.timing.label,
      timeUs: r.timing.timeUs,
    };
  });
  return { targetId, entries, defaults: chooseDefaults(entries) };
}

function better(a: TuneRecord, b: TuneRecord): boolean {
  if (a.timing.label !== b.timing.label) return a.timing.label === 'measured';
  return a.timing.timeUs < b.timing.timeUs || (a.timing.timeUs === b.timing.timeUs && a.gemmUri < b.gemmUri);
}

/**
 * The safe default of a family is the chosen tile with the weakest shape requirements (smallest
 * blockN, then blockK: the fewest N/K divisibility constraints an unseen shape can violate), then the
 * one chosen most often, then by name.
 */
function chooseDefaults(entries: readonly DispatchEntry[]): DispatchTable['defaults'] {
  const families = [...new Set(entries.map((e) => e.family))].sort();
  return families.map((family) => {
    const mine = entries.filter((e) => e.family === family);
    const counts = new Map<string, number>();
    for (const e of mine) counts.set(e.gemmUri, (counts.get(e.gemmUri) ?? 0) + 1);
    const ranked = [...new Set(mine.map((e) => e.gemmUri))].sort((a, b) => {
      const ta = gemmTileOf(a);
      const tb = gemmTileOf(b);
      return cmp(ta.blockN, tb.blockN) || cmp(ta.blockK, tb.blockK) || cmp(counts.get(b)!, counts.get(a)!) || cmp(a, b);
    });
    const gemmUri = ranked[0];
    const actUri = mine.filter((e) => e.gemmUri === gemmUri).map((e) => e.actUri).sort()[0] ?? null;
    const t = gemmTileOf(gemmUri);
    return { family, gemmUri, actUri, reason: `tuned tile with the weakest shape constraints (blockN ${t.blockN}, blockK ${t.blockK}), chosen for ${counts.get(gemmUri)} bucket(s)` };
  });
}

function gemmTileOf(uri: string) {
  const p = parseUri(uri);
  if (p.kind !== 'gemm') throw new Error(`dispatch: ${uri} is not a GEMM kernel URI`);
  return p.tile;
}

/** The C symbol of a kernel's host launcher (the planners' naming, gemmSymbol/actSymbol); 0 = none. */
export function launcherSymbol(uri: string | null): string {
  return uri === null ? '0' : `svdq_${uri.replace(/[^A-Za-z0-9_]/g, '_')}`;
}
const cstr = (s: string | null) => (s === null ? '0' : JSON.stringify(s));

/** Renders the table as a C header. */
export function renderDispatchHeader(table: DispatchTable): string {
  const id = table.targetId.replace(/[^A-Za-z0-9]/g, '_');
  const guard = `SVDQ_DISPATCH_${id.toUpperCase()}_H`;
  const q = (s: string) => JSON.stringify(s);
  const lines: string[] = [
    `// Dispatch table for ${table.targetId}, generated by \`svdq-codegen tune\` from its tuning records.`,
    '// Do not edit. Each entry: family, N, K, M range (m_lo, m_hi] (m_hi 0 = no upper bound), GEMM',
    '// launcher, activation launcher, their URIs, and how the time behind the choice was obtained.',
    `#ifndef ${guard}`,
    `#define ${guard}`,
    '#include <string.h>',
    '',
    `#define SVDQ_DISPATCH_ENTRIES_${id}(X) \\`,
    ...table.entries.map(
      (e) =>
        `  X(${q(e.family)}, ${e.n}, ${e.k}, ${e.mLo}, ${e.mHi}, ${launcherSymbol(e.gemmUri)}, ${launcherSymbol(e.actUri)}, ${q(e.gemmUri)}, ${cstr(e.actUri)}, ${q(`${e.label} ${e.timeUs.toFixed(2)} us`)}) \\`,
    ),
    '',
    `#define SVDQ_DISPATCH_DEFAULTS_${id}(X) \\`,
    ...table.defaults.map(
      (d) => `  X(${q(d.family)}, ${launcherSymbol(d.gemmUri)}, ${launcherSymbol(d.actUri)}, ${q(d.gemmUri)}, ${cstr(d.actUri)}, ${q(d.reason)}) \\`,
    ),
    '',
    'typedef struct {',
    '  const char* family; int n, k, m_lo, m_hi;',
    '  const char* gemm_uri; const char* act_uri;',
    `} svdq_dispatch_${id}_entry;`,
    '',
    `#define SVDQ_DISPATCH_ROW_${id}(f, n, k, lo, hi, gl, al, gu, au, why) {f, n, k, lo, hi, gu, au},`,
    `#define SVDQ_DISPATCH_DEFAULT_ROW_${id}(f, gl, al, gu, au, why) {f, 0, 0, 0, 0, gu, au},`,
    `static const svdq_dispatch_${id}_entry svdq_dispatch_${id}_table[] = {SVDQ_DISPATCH_ENTRIES_${id}(SVDQ_DISPATCH_ROW_${id}) {0, 0, 0, 0, 0, 0, 0}};`,
    `static const svdq_dispatch_${id}_entry svdq_dispatch_${id}_defaults[] = {SVDQ_DISPATCH_DEFAULTS_${id}(SVDQ_DISPATCH_DEFAULT_ROW_${id}) {0, 0, 0, 0, 0, 0, 0}};`,
    '',
    '/* The tuned entry for (family, m, n, k), else the family default, else NULL (unknown family). */',
    `static inline const svdq_dispatch_${id}_entry* svdq_dispatch_${id}_find(const char* family, int m, int n, int k) {`,
    `  for (const svdq_dispatch_${id}_entry* e = svdq_dispatch_${id}_table; e->family; ++e) {`,
    '    if (e->n == n && e->k == k && m > e->m_lo && (e->m_hi == 0 || m <= e->m_hi) && strcmp(e->family, family) == 0) return e;',
    '  }',
    `  for (const svdq_dispatch_${id}_entry* e = svdq_dispatch_${id}_defaults; e->family; ++e) {`,
    '    if (strcmp(e->family, family) == 0) return e;',
    '  }',
    '  return 0;',
    '}',
    '',
    `#endif  // ${guard}`,
    '',
  ];
  return lines.join('\n');
}

/** Writes generated/dispatch/<target>.h (or `path`) atomically; returns the path. */
export async function writeDispatchHeader(records: readonly TuneRecord[], targetId: string, path: string): Promise<string> {
  await makeDirsAsync(dirname(path)); // not mkdir -p: it spins forever on /proc/nope
  await writeFileAtomic(path, renderDispatchHeader(buildDispatchTable(records, targetId)));
  return path;
}
