// The name is the config (DESIGN.md §4.2): a kernel URI spells out every decision of its plan and
// parses back into them. URIs key file names, caches, tuning records, reports and dispatch tables.
//
//   gemm: w4a4_<fmt>_<dtype>_r<rank>_m<BM>n<BN>k<BK>_w<WM>x<WN>_s<stages>_<reg|smem>_<f32|f16>acc_<arch>_<epilogue>
//   act:  act_<fmt>_<dtype>_r<rank>_m<BM>k<BK>_w<warps>_<arch>
//   fmt:  int4g64 | int4u4g64 (u4 activations) | …s<fp16|bf16> when scales differ from dtype | nvfp4g16 | mxfp4g32
//   epilogue: ops joined by '-' (cscale, bias, lora, silu, gelu, qnext.<fmt>.r<rank>[.y]) or 'plain'
import { SpecError, UserError } from '../dsl/errors.js';
import { SILU_MIN } from '../dsl/epilogue.js';
import { validateSpec } from '../dsl/spec.js';
import { validateActTile, validateGemmTile } from '../dsl/tiles.js';
import type {
  ActTile,
  ActivationCoding,
  Dtype16,
  EpilogueOp,
  GemmTile,
  KernelSpec,
  QuantFormat,
  SmArch,
} from '../dsl/types.js';

const ARCHES: readonly SmArch[] = ['sm_75', 'sm_80', 'sm_86', 'sm_89', 'sm_90', 'sm_100a', 'sm_120a', 'sm_121a'];
/** Shift used for u4 activations when a URI is parsed back (the shift itself is a run-time argument). */
export const DEFAULT_U4_SHIFT = 0.171875;
/** u4 after SiLU needs shift ≥ −min silu ≈ 0.278465: the smallest 1/32 step above it (exact in fp16/bf16). */
export const SILU_U4_SHIFT = Math.ceil(-SILU_MIN * 32) / 32;

/** A decimal field of a URI: canonical (no leading zeros) and a safe integer, else the URI is refused. */
function num(token: string, what: string, uri: string): number {
  const v = Number(token);
  if (!/^(0|[1-9]\d*)$/.test(token) || !Number.isSafeInteger(v)) throw bad(uri, `${what} '${token}'`, 'a decimal integer without leading zeros, at most 2^53 − 1');
  return v;
}

export function archToken(arch: SmArch): string {
  return arch.replace('_', '');
}

function parseArch(token: string, uri: string): SmArch {
  const arch = ARCHES.find((a) => archToken(a) === token);
  if (!arch) throw bad(uri, `architecture '${token}'`, ARCHES.map(archToken).join(', '));
  return arch;
}

export function formatToken(format: QuantFormat, activation: ActivationCoding, dtype: Dtype16): string {
  if (format.kind !== 'int4') return `${format.kind}g${format.group}`;
  const u4 = activation.unsigned ? 'u4' : '';
  const scale = format.scaleDtype === dtype ? '' : `s${format.scaleDtype}`;
  return `int4${u4}g${format.group}${scale}`;
}

function parseFormat(token: string, dtype: Dtype16, uri: string): { format: QuantFormat; activation: ActivationCoding } {
  const signed: ActivationCoding = { unsigned: false, shift: 0 };
  if (token === 'nvfp4g16') return { format: { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' }, activation: signed };
  if (token === 'mxfp4g32') return { format: { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' }, activation: signed };
  const m = /^int4(u4)?g(32|64|128)(?:s(fp16|bf16))?$/.exec(token);
  if (!m) throw bad(uri, `format '${token}'`, 'int4[u4]g{32,64,128}[s{fp16,bf16}], nvfp4g16 or mxfp4g32');
  const group = Number(m[2]) as 32 | 64 | 128;
  return {
    format: { kind: 'int4', group, scaleDtype: (m[3] as Dtype16 | undefined) ?? dtype },
    activation: m[1] ? { unsigned: true, shift: DEFAULT_U4_SHIFT } : signed,
  };
}

function epilogueToken(op: EpilogueOp, dtype: Dtype16): string {
  switch (op.op) {
    case 'lowrank':
      return 'lora';
    case 'qnext':
      return ['qnext', formatToken(op.format, op.activation, dtype), `r${op.lowRankDown.rank}`, ...(op.keepOutput ? ['y'] : [])].join('.');
    default:
      return op.op;
  }
}

function parseEpilogue(token: string, dtype: Dtype16, uri: string): EpilogueOp[] {
  if (token === 'plain') return [];
  const ops = token.split('-');
  const afterSilu = ops.includes('silu');
  return ops.map((part): EpilogueOp => {
    if (part === 'cscale' || part === 'bias' || part === 'silu' || part === 'gelu') return { op: part };
    if (part === 'lora') return { op: 'lowrank' };
    const m = /^qnext\.([a-z0-9]+)\.r(\d+)(\.y)?$/.exec(part);
    if (!m) throw bad(uri, `epilogue op '${part}'`, 'cscale, bias, lora, silu, gelu or qnext.<fmt>.r<rank>[.y]');
    const { format, activation } = parseFormat(m[1], dtype, uri);
    const coding = activation.unsigned && afterSilu ? { unsigned: true, shift: SILU_U4_SHIFT } : activation;
    return { op: 'qnext', format, activation: coding, lowRankDown: { rank: num(m[2], 'qnext rank', uri) }, keepOutput: Boolean(m[3]) };
  });
}

/** String(), not a template literal: a Symbol in an unvalidated tile must not throw a TypeError here. */
const t = (v: unknown): string => String(v);

export function gemmUri(spec: KernelSpec, tile: GemmTile, arch: SmArch): string {
  const epilogue = spec.epilogue.length ? spec.epilogue.map((op) => epilogueToken(op, spec.dtype)).join('-') : 'plain';
  return [
    'w4a4',
    formatToken(spec.format, spec.activation, spec.dtype),
    spec.dtype,
    `r${t(spec.lowRank.rank)}`,
    `m${t(tile.blockM)}n${t(tile.blockN)}k${t(tile.blockK)}`,
    `w${t(tile.warpsM)}x${t(tile.warpsN)}`,
    `s${t(tile.stages)}`,
    t(tile.staging),
    `${t(tile.accum)}acc`,
    archToken(arch),
    epilogue,
  ].join('_');
}

export function actUri(spec: KernelSpec, tile: ActTile, arch: SmArch): string {
  return [
    'act',
    formatToken(spec.format, spec.activation, spec.dtype),
    spec.dtype,
    `r${t(spec.lowRank.rank)}`,
    `m${t(tile.blockM)}k${t(tile.blockK)}`,
    `w${t(tile.warps)}`,
    archToken(arch),
  ].join('_');
}

export type ParsedUri =
  | { kind: 'gemm'; spec: KernelSpec; tile: GemmTile; arch: SmArch }
  | { kind: 'act'; spec: Omit<KernelSpec, 'epilogue'>; tile: ActTile; arch: SmArch };

/**
 * The one way from a URI to a config: parse, then validate exactly as a spec and tile from the DSL are
 * (validateSpec, validateGemmTile/validateActTile), then insist the URI is the canonical spelling of
 * what it parsed to (no r032, no numbers past 2^53, no …sbf16 on a bf16 layer). Planning for a target
 * (codegen/plan) comes after. u4 activations get DEFAULT_U4_SHIFT (SILU_U4_SHIFT after silu): the
 * shift is a run-time value. Throws UserError naming the URI and the rule.
 */
export function parseUri(uri: string): ParsedUri {
  if (typeof uri !== 'string') throw new UserError(`kernel URI ${String(uri)}: must be a string`);
  const parsed = parseSyntax(uri);
  try {
    if (parsed.kind === 'gemm') {
      const spec = validateSpec(parsed.spec);
      const tile = validateGemmTile(parsed.tile, spec);
      return finish(uri, { kind: 'gemm', spec, tile, arch: parsed.arch });
    }
    const { epilogue: _none, ...spec } = validateSpec({ ...parsed.spec, epilogue: parsed.spec.lowRank.rank > 0 ? [{ op: 'lowrank' }] : [] });
    const tile = validateActTile(parsed.tile, { ...spec, epilogue: [] });
    return finish(uri, { kind: 'act', spec, tile, arch: parsed.arch });
  } catch (e) {
    if (e instanceof SpecError) throw new UserError(`kernel URI '${uri}': ${e.message}`);
    throw e;
  }
}

function finish(uri: string, p: ParsedUri): ParsedUri {
  const canonical = p.kind === 'gemm' ? gemmUri(p.spec, p.tile, p.arch) : actUri({ ...p.spec, epilogue: [] }, p.tile, p.arch);
  if (canonical !== uri) throw new UserError(`kernel URI '${uri}': is not in canonical form; the same config is spelled '${canonical}'`);
  return p;
}

/** Syntax only: every token in its place; no rule between tokens is checked here. */
function parseSyntax(uri: string): ParsedUri {
  const parts = uri.split('_');
  const dtypeOf = (token: string): Dtype16 => {
    if (token !== 'fp16' && token !== 'bf16') throw bad(uri, `dtype '${token}'`, 'fp16 or bf16');
    return token;
  };
  const rankOf = (token: string): number => {
    const m = /^r(\d+)$/.exec(token);
    if (!m) throw bad(uri, `rank '${token}'`, 'r<multiple of 16>');
    return num(m[1], 'rank', uri);
  };
  if (parts[0] === 'w4a4' && parts.length === 11 && parts[8] !== undefined) {
    const dtype = dtypeOf(parts[2]);
    const { format, activation } = parseFormat(parts[1], dtype, uri);
    const mnk = /^m(\d+)n(\d+)k(\d+)$/.exec(parts[4]);
    const warps = /^w(\d+)x(\d+)$/.exec(parts[5]);
    const stages = /^s(\d+)$/.exec(parts[6]);
    const accum = /^(f32|f16)acc$/.exec(parts[8]);
    if (!mnk) throw bad(uri, `block tile '${parts[4]}'`, 'm<BM>n<BN>k<BK>');
    if (!warps) throw bad(uri, `warp grid '${parts[5]}'`, 'w<M>x<N>');
    if (!stages) throw bad(uri, `stages '${parts[6]}'`, 's<count>');
    if (parts[7] !== 'reg' && parts[7] !== 'smem') throw bad(uri, `staging '${parts[7]}'`, 'reg or smem');
    if (!accum) throw bad(uri, `accumulation '${parts[8]}'`, 'f32acc or f16acc');
    const spec: KernelSpec = {
      format,
      activation,
      dtype,
      lowRank: { rank: rankOf(parts[3]) },
      epilogue: parseEpilogue(parts[10], dtype, uri),
    };
    const tile: GemmTile = {
      blockM: num(mnk[1], 'blockM', uri),
      blockN: num(mnk[2], 'blockN', uri),
      blockK: num(mnk[3], 'blockK', uri),
      warpsM: num(warps[1], 'warpsM', uri),
      warpsN: num(warps[2], 'warpsN', uri),
      stages: num(stages[1], 'stages', uri),
      staging: parts[7],
      accum: accum[1] as GemmTile['accum'],
    };
    return { kind: 'gemm', spec, tile, arch: parseArch(parts[9], uri) };
  }
  if (parts[0] === 'act' && parts.length === 7) {
    const dtype = dtypeOf(parts[2]);
    const { format, activation } = parseFormat(parts[1], dtype, uri);
    const mk = /^m(\d+)k(\d+)$/.exec(parts[4]);
    const warps = /^w(\d+)$/.exec(parts[5]);
    if (!mk) throw bad(uri, `block tile '${parts[4]}'`, 'm<BM>k<BK>');
    if (!warps) throw bad(uri, `warps '${parts[5]}'`, 'w<count>');
    return {
      kind: 'act',
      spec: { format, activation, dtype, lowRank: { rank: rankOf(parts[3]) } },
      tile: { blockM: num(mk[1], 'blockM', uri), blockK: num(mk[2], 'blockK', uri), warps: num(warps[1], 'warps', uri) },
      arch: parseArch(parts[6], uri),
    };
  }
  throw bad(uri, 'shape', 'w4a4_<fmt>_<dtype>_r<rank>_m<BM>n<BN>k<BK>_w<M>x<N>_s<stages>_<reg|smem>_<f32|f16>acc_<arch>_<epilogue> or act_<fmt>_<dtype>_r<rank>_m<BM>k<BK>_w<warps>_<arch>');
}

function bad(uri: string, what: string, allowed: string): UserError {
  return new UserError(`kernel URI '${uri}': ${what} is not valid; expected ${allowed}`);
}
