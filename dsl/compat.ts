// Whether a KernelSpec can run on a target: the 4-bit formats need their MMA (targets.ts `mma4bit`),
// bf16 needs sm_80+ (Nunchaku's INT4 GEMM: MIN_ARCH 750 for fp16, 800 for bf16; nunchaku-kernels.md §4).
import { SpecError } from './errors.js';
import { DEFAULT_TARGET_FOR_ARCH, TARGETS, supportsBf16, supportsFormat } from './targets.js';
import type { FormatKind, KernelSpec, Target } from './types.js';

const KINDS: FormatKind[] = ['int4', 'nvfp4', 'mxfp4'];

function checkFormat(kind: FormatKind, field: string, t: Target): void {
  if (supportsFormat(t, kind)) return;
  const here = KINDS.filter((k) => supportsFormat(t, k));
  if (here.length === 0) {
    const elsewhere = TARGETS.filter((x) => x.mma4bit.length > 0).map((x) => x.arch);
    throw new SpecError(field, kind, `cannot run on ${t.name} (${t.arch}): it has no 4-bit tensor cores (${t.notes ?? 'no 4-bit MMA'}); 4-bit targets: ${[...new Set(elsewhere)].join(', ')}`);
  }
  throw new SpecError(field, kind, `has no MMA on ${t.name} (${t.arch}); allowed there: ${here.join(', ')}`);
}

/** Throws SpecError (field, value, what this GPU allows) when the spec cannot run on `t`. */
export function checkSpecOnTarget(spec: KernelSpec, t: Target): void {
  checkFormat(spec.format.kind, 'format.kind', t);
  if (!supportsBf16(t)) {
    if (spec.dtype === 'bf16') throw new SpecError('dtype', 'bf16', `needs bf16 tensor cores (sm_80+); allowed on ${t.name} (${t.arch}): fp16`);
    if (spec.format.kind === 'int4' && spec.format.scaleDtype === 'bf16') {
      throw new SpecError('format.scaleDtype', 'bf16', `needs bf16 arithmetic (sm_80+); allowed on ${t.name} (${t.arch}): fp16`);
    }
  }
  spec.epilogue.forEach((e, i) => {
    if (e.op !== 'qnext') return;
    checkFormat(e.format.kind, `epilogue[${i}].format.kind`, t);
    if (!supportsBf16(t) && e.format.kind === 'int4' && e.format.scaleDtype === 'bf16') {
      throw new SpecError(`epilogue[${i}].format.scaleDtype`, 'bf16', `needs bf16 arithmetic (sm_80+); allowed on ${t.name} (${t.arch}): fp16`);
    }
  });
}

/** Targets (default per arch first) on which the spec can run. */
export function targetsFor(spec: KernelSpec): Target[] {
  const ok = TARGETS.filter((t) => {
    try {
      checkSpecOnTarget(spec, t);
      return true;
    } catch {
      return false;
    }
  });
  const defaults = new Set(Object.values(DEFAULT_TARGET_FOR_ARCH));
  return [...ok.filter((t) => defaults.has(t.id)), ...ok.filter((t) => !defaults.has(t.id))];
}

/**
 * The opt-in INT4 override for Hopper (`--allow-slow-int4`): sm_90 has no 4-bit tensor-core rate, but
 * INT4 mma.sync.m16n8k64 still compiles for it (emulated or at an unmeasured fraction of INT8), so this
 * returns the target with that MMA forced on — plans made for it carry `slowPath: true` and the URI keeps
 * `_sm90_`. sm_100a stays refused (no mma.sync FP4 or INT4 rate there; FP4 needs tcgen05); every target
 * that already has a 4-bit MMA is returned unchanged.
 */
export function withSlowInt4(t: Target): Target {
  if (t.mma4bit.length > 0) return t;
  if (t.arch !== 'sm_90') {
    throw new SpecError('--allow-slow-int4', t.arch, `only forces INT4 on sm_90 (Hopper); ${t.name} (${t.arch}) has no 4-bit mma.sync at all${t.arch === 'sm_100a' ? ' (FP4 only through tcgen05.mma)' : ''}; use sm_120a/121a (NVFP4, MXFP4) or sm_80/86/89 (INT4)`);
  }
  // The tuner's model needs an INT4 rate to rank tiles: assume the fp16 mma rate (UNMEASURED; predicted
  // times on this override rank candidates, they are no performance claim).
  return {
    ...t,
    name: `${t.name} [slow path: INT4 mma.m16n8k64 forced, no 4-bit tensor-core rate]`,
    mma4bit: ['int4.m16n8k64'],
    tensorTflops: { ...t.tensorTflops, int4: t.tensorTflops.int4 ?? t.tensorTflops.fp16 },
    sources: [...(t.sources ?? []), 'tensorTflops.int4 (--allow-slow-int4 only): ASSUMED equal to the fp16 rate to rank tiles; unmeasured, no 4-bit rate on Hopper'],
  };
}

/** Whether `t` is the --allow-slow-int4 override of a Hopper target (see withSlowInt4). */
export function isSlowInt4Target(t: Target): boolean {
  return t.arch === 'sm_90' && t.mma4bit.length > 0;
}

/** The warning line every command prints when it runs on the slow-path override. */
export function slowInt4Warning(t: Target): string {
  return `warning: ${t.id} (${t.arch}) runs INT4 through the --allow-slow-int4 override — Hopper has no 4-bit tensor-core fast path; these kernels compile and are correct but are not a fast path (alternatives: sm_80/86/89 INT4, sm_120a/121a NVFP4/MXFP4, W8A8/FP8 on Hopper)`;
}
