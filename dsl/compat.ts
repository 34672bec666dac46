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
