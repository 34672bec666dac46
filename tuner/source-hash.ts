// The "kernel source hash" of tuning records: a digest of everything that decides what a kernel is and
// how fast the tuner thinks it is — planners, templates, device headers, renderer, cost model. A change
// to any of them makes old records stale (their keys no longer match), so they are re-tuned, never
// silently reused (anchors.md §7: TileLang #1250, FlashInfer #3363 came from missing key parts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT, cacheKey, treeDigest } from '../codegen/cache.js';

const TREES = ['templates', 'runtime/include', 'codegen/plan'];
// The cost model is every file the prediction reads: formulas, counts, choice rules, baseline, GPU facts.
const FILES = ['codegen/render.ts', 'codegen/uri.ts', 'tuner/cost-model.ts', 'tuner/estimate.ts', 'tuner/compiled-counts.ts', 'tuner/choose.ts', 'tuner/baseline.ts', 'tuner/job-model.ts', 'dsl/targets.ts'];

let cached: Promise<string> | undefined;

export function generatorSourceHash(): Promise<string> {
  cached ??= (async () => {
    const parts: string[] = [];
    for (const t of TREES) parts.push(t, await treeDigest(path.join(REPO_ROOT, t)));
    for (const f of FILES) parts.push(f, await readFile(path.join(REPO_ROOT, f), 'utf8').catch(() => ''));
    return cacheKey('svdq-tune-source-v1', ...parts);
  })();
  return cached;
}
