// Semantic checks of tuning records: everything `tune` and `build` would reject, found when the file
// is read (issue 15: `db check` passed a gemmUri 'garbage', key/content mismatches, inverted buckets,
// wrong-arch URIs and family mismatches; `tune --db` then failed without naming the file, or wrote a
// dispatch header naming a kernel that does not exist). The schema (zod) is checked first, in db.ts.
import { actTileProblems } from '../codegen/plan/act.js';
import { gemmTileProblems } from '../codegen/plan/gemm.js';
import { parseUri } from '../codegen/uri.js';
import { withSlowInt4 } from '../dsl/compat.js';
import { isUserError } from '../dsl/errors.js';
import { resolveGpu } from '../dsl/targets.js';
import type { Target } from '../dsl/types.js';
import { mBucket, mBucketHi } from './buckets.js';
import { familyOfGemmUri, labelOfMode, recordKey, type TuneRecord } from './records.js';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Every reason one record is unusable (empty = usable). */
export function recordProblems(r: TuneRecord): string[] {
  const p: string[] = [];
  let target: Target | undefined;
  try {
    // A record for INT4 on sm_90 can only come from --allow-slow-int4: plan it the same way.
    const resolved = resolveGpu(r.target.id);
    target = resolved.arch === 'sm_90' ? withSlowInt4(resolved) : resolved;
    if (target.id !== r.target.id) p.push(`target.id '${r.target.id}' is not a target id (it resolves to '${target.id}')`);
    else if (target.arch !== r.target.arch) p.push(`target.arch '${r.target.arch}' is not ${r.target.id}'s arch ${target.arch}`);
  } catch (e) {
    if (!isUserError(e)) throw e;
    p.push(`target.id: ${message(e)}`);
  }
  let gemm: ReturnType<typeof parseUri> | undefined;
  try {
    gemm = parseUri(r.gemmUri);
    if (gemm.kind !== 'gemm') p.push(`gemmUri '${r.gemmUri}' is an activation-kernel URI`);
  } catch (e) {
    if (!isUserError(e)) throw e;
    p.push(`gemmUri: ${message(e)}`);
  }
  if (gemm?.kind === 'gemm') {
    if (gemm.arch !== r.target.arch) p.push(`gemmUri is built for ${gemm.arch} but the record's target is ${r.target.arch}`);
    if (familyOfGemmUri(r.gemmUri) !== r.family) p.push(`family '${r.family}' is not the gemmUri's family '${familyOfGemmUri(r.gemmUri)}'`);
    if (target && gemm.arch === target.arch) p.push(...gemmTileProblems(gemm.spec, gemm.tile, target).map((x) => `gemmUri cannot be planned for ${target!.id}: ${x}`));
    const g = gemm.spec.format.group;
    if (r.shape.n % 16 !== 0 || r.shape.k % 64 !== 0 || r.shape.k % g !== 0) p.push(`shape n${r.shape.n} k${r.shape.k}: N must be a multiple of 16 and K of 64 and of the group ${g}`);
  }
  if (r.actUri !== null) {
    try {
      const act = parseUri(r.actUri);
      if (act.kind !== 'act') p.push(`actUri '${r.actUri}' is not an activation-kernel URI (act_…)`);
      else {
        if (act.arch !== r.target.arch) p.push(`actUri is built for ${act.arch} but the record's target is ${r.target.arch}`);
        if (gemm?.kind === 'gemm') {
          const a = act.spec;
          const s = gemm.spec;
          if (a.dtype !== s.dtype || JSON.stringify(a.format) !== JSON.stringify(s.format) || a.lowRank.rank !== s.lowRank.rank || a.activation.unsigned !== s.activation.unsigned) {
            p.push(`actUri '${r.actUri}' does not describe the gemmUri's layer (format, dtype, rank and activation coding must agree)`);
          }
        }
        if (target && act.arch === target.arch) p.push(...actTileProblems(act.spec, act.tile, target).map((x) => `actUri cannot be planned for ${target!.id}: ${x}`));
      }
    } catch (e) {
      if (!isUserError(e)) throw e;
      p.push(`actUri: ${message(e)}`);
    }
  }
  const b = r.bucket;
  if (b.lo >= b.hi) p.push(`bucket (${b.lo}, ${b.hi}] is empty or inverted`);
  else if (mBucketHi(b.hi) !== b.hi || mBucket(b.hi).lo !== b.lo) p.push(`bucket (${b.lo}, ${b.hi}] is not an M bucket of this svdq-codegen (the bucket of ${b.hi} is (${mBucket(b.hi).lo}, ${mBucket(b.hi).hi}])`);
  else if (r.shape.m <= b.lo || r.shape.m > b.hi) p.push(`shape.m ${r.shape.m} is outside its bucket (${b.lo}, ${b.hi}]`);
  if (r.timing.label !== labelOfMode(r.mode)) p.push(`timing.label '${r.timing.label}' contradicts mode '${r.mode}' (expected '${labelOfMode(r.mode)}')`);
  const key = recordKey({ family: r.family, n: r.shape.n, k: r.shape.k, bucket: r.bucket, targetId: r.target.id, toolchain: r.toolchain, mode: r.mode, sourceHash: r.sourceHash, withAct: r.actUri !== null });
  if (key !== r.key) p.push(`key '${r.key}' does not match the record's contents (expected '${key}')`);
  for (const [i, c] of r.candidates.entries()) {
    try {
      const cu = parseUri(c.gemmUri);
      if (cu.kind !== 'gemm' || familyOfGemmUri(c.gemmUri) !== r.family) p.push(`candidates[${i}].gemmUri is not of the record's family`);
    } catch (e) {
      if (!isUserError(e)) throw e;
      p.push(`candidates[${i}].gemmUri: ${message(e)}`);
    }
  }
  return p;
}

/** Problems of a whole database, each prefixed with the record's index and key. */
export function dbProblems(records: readonly TuneRecord[]): string[] {
  return records.flatMap((r, i) => recordProblems(r).map((x) => `records[${i}] (${r.key}): ${x}`));
}
