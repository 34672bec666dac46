// Stage 1, source replay: every kernel the selection renders is compared byte for byte with the file
// `gen` committed under generated/kernels/<arch>/; the manifest and stray files of the committed
// catalog are checked too (generateCatalog in check mode). A difference is reported, never fixed:
// a change in generated code must be intended, and `svdq-codegen gen` is how it is made.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ALL_GENERATED_ARCHS, GENERATED_CATALOGS, generateCatalog, generationTarget } from '../codegen/generate.js';
import { renderLayer } from './cases.js';
import type { StageContext } from './context.js';
import type { CaseResult } from './types.js';

/** First differing line, for the report: `line 12: committed '…' vs regenerated '…'`. */
export function firstDifference(committed: string, regenerated: string): string {
  const a = committed.split('\n');
  const b = regenerated.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      const cut = (s: string | undefined) => (s === undefined ? '(end of file)' : JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}…` : s));
      return `line ${i + 1}: committed ${cut(a[i])} vs regenerated ${cut(b[i])}`;
    }
  }
  return 'identical';
}

export async function sourceStage(ctx: StageContext): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const seen = new Set<string>();
  for (const subject of ctx.subjects) {
    const t0 = performance.now();
    const rendered = renderLayer(subject.spec, subject.tiles, subject, ctx.transform);
    const committedCatalogs = subject.catalogs.filter((c) => GENERATED_CATALOGS.includes(c));
    for (const k of [rendered.act, rendered.gemm]) {
      const rel = `kernels/${subject.arch}/${k.uri}.cu`;
      if (seen.has(rel)) continue;
      seen.add(rel);
      const name = `${subject.arch}/${k.uri}`;
      const base = { stage: 'source' as const, name, metrics: [] };
      if (!ALL_GENERATED_ARCHS.includes(subject.arch) || committedCatalogs.length === 0) {
        results.push({ ...base, status: 'skipped', message: `not part of the committed catalog (${GENERATED_CATALOGS.map((c) => c.id).join(', ')} on ${ALL_GENERATED_ARCHS.join(', ')})`, seconds: 0 });
        continue;
      }
      const committedTarget = generationTarget(subject.arch);
      if (committedTarget.id !== subject.target.id) {
        results.push({ ...base, status: 'skipped', message: `planned for ${subject.target.id}; generated/ holds the kernels planned for ${committedTarget.id}`, seconds: 0 });
        continue;
      }
      const committed = await fs.readFile(path.join(ctx.generatedDir, rel), 'utf8').catch(() => undefined);
      const seconds = (performance.now() - t0) / 1000;
      if (committed === undefined) {
        results.push({ ...base, status: 'regressed', message: `generated/${rel} is missing; run \`svdq-codegen gen\` if the new kernel is intended`, seconds });
      } else if (committed !== k.source) {
        results.push({ ...base, status: 'regressed', message: `generated/${rel} differs from what the generator produces now (${firstDifference(committed, k.source)}); run \`svdq-codegen gen\` if the change is intended`, seconds });
      } else {
        results.push({ ...base, status: 'passed', message: 'identical to generated/', seconds });
      }
    }
  }
  // The rest of the committed tree: manifest.json and files the generator no longer produces.
  const t0 = performance.now();
  const check = await generateCatalog({ outDir: ctx.generatedDir, check: true });
  const others = check.changed.filter((rel) => !seen.has(rel));
  const problems = [...others.map((rel) => `${rel} differs`), ...check.stale.map((rel) => `${rel} is no longer generated`)];
  const unchecked = others.filter((rel) => rel.startsWith('kernels/'));
  results.push({
    stage: 'source',
    name: 'generated/ tree (manifest, stray files)',
    status: problems.length === 0 ? 'passed' : 'regressed',
    message:
      problems.length === 0
        ? `${check.files.length} files match \`svdq-codegen gen\``
        : `${problems.slice(0, 4).join('; ')}${problems.length > 4 ? `; … ${problems.length - 4} more` : ''}${unchecked.length ? ' (kernels outside this selection included)' : ''}; run \`svdq-codegen gen\` if intended`,
    metrics: [],
    seconds: (performance.now() - t0) / 1000,
  });
  return results;
}
