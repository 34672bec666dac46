import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { actUri, gemmUri, parseUri, SILU_U4_SHIFT } from '../../codegen/uri.js';
import { UserError } from '../../dsl/errors.js';
import { validateSpec } from '../../dsl/spec.js';
import { validateActTile, validateGemmTile } from '../../dsl/tiles.js';
import { runs } from '../fuzz/runs.js';
import type { EpilogueOp, GemmTile, KernelSpec, QuantFormat, SmArch } from '../../dsl/types.js';

const arch = fc.constantFrom<SmArch>('sm_75', 'sm_80', 'sm_86', 'sm_89', 'sm_120a', 'sm_121a');
const dtype = fc.constantFrom<'fp16' | 'bf16'>('fp16', 'bf16');
const format = (d: 'fp16' | 'bf16'): fc.Arbitrary<QuantFormat> =>
  fc.oneof(
    fc.record({ kind: fc.constant('int4' as const), group: fc.constantFrom(32, 64, 128) as fc.Arbitrary<32 | 64 | 128>, scaleDtype: fc.constantFrom(d, 'fp16', 'bf16') as fc.Arbitrary<'fp16' | 'bf16'> }),
    fc.constant({ kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' } as const),
    fc.constant({ kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' } as const),
  );
const rank = fc.integer({ min: 0, max: 64 }).map((r) => r * 16);
const tile: fc.Arbitrary<GemmTile> = fc.record({
  blockM: fc.constantFrom(16, 32, 64, 128, 256),
  blockN: fc.constantFrom(16, 32, 64, 128, 256),
  blockK: fc.constantFrom(64, 128, 256),
  warpsM: fc.constantFrom(1, 2, 4),
  warpsN: fc.constantFrom(1, 2, 4),
  stages: fc.integer({ min: 1, max: 4 }),
  staging: fc.constantFrom<'reg' | 'smem'>('reg', 'smem'),
  accum: fc.constantFrom<'f32' | 'f16'>('f32', 'f16'),
});

const spec: fc.Arbitrary<KernelSpec> = dtype.chain((d) =>
  fc.record({
    format: format(d),
    dtype: fc.constant(d),
    lowRank: rank.map((r) => ({ rank: r })),
    unsigned: fc.boolean(),
    epilogue: fc.record({
      bias: fc.boolean(),
      lowrank: fc.boolean(),
      act: fc.constantFrom<'silu' | 'gelu' | null>('silu', 'gelu', null),
      qnext: fc.option(fc.record({ format: format(d), unsigned: fc.boolean(), rank, keep: fc.boolean() }), { nil: null }),
    }),
  }).map((r): KernelSpec => {
    const epilogue: EpilogueOp[] = [];
    if (r.epilogue.bias) epilogue.push({ op: 'bias' });
    if (r.epilogue.lowrank) epilogue.push({ op: 'lowrank' });
    if (r.epilogue.act) epilogue.push({ op: r.epilogue.act });
    const q = r.epilogue.qnext;
    if (q) {
      const unsigned = q.unsigned && q.format.kind === 'int4';
      epilogue.push({ op: 'qnext', format: q.format, activation: { unsigned, shift: unsigned ? 0.171875 : 0 }, lowRankDown: { rank: q.rank }, keepOutput: q.keep });
    }
    const unsigned = r.unsigned && r.format.kind === 'int4';
    return { format: r.format, dtype: r.dtype, lowRank: r.lowRank, activation: { unsigned, shift: unsigned ? 0.171875 : 0 }, epilogue };
  }),
);

describe('kernel URIs', () => {
  it('spells the DESIGN.md example', () => {
    const s: KernelSpec = {
      format: { kind: 'int4', group: 64, scaleDtype: 'bf16' },
      activation: { unsigned: false, shift: 0 },
      dtype: 'bf16',
      lowRank: { rank: 32 },
      epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'gelu' }, { op: 'qnext', format: { kind: 'int4', group: 64, scaleDtype: 'bf16' }, activation: { unsigned: true, shift: 0.171875 }, lowRankDown: { rank: 32 }, keepOutput: false }],
    };
    const t: GemmTile = { blockM: 128, blockN: 128, blockK: 64, warpsM: 2, warpsN: 4, stages: 3, staging: 'smem', accum: 'f32' };
    expect(gemmUri(s, t, 'sm_89')).toBe('w4a4_int4g64_bf16_r32_m128n128k64_w2x4_s3_smem_f32acc_sm89_bias-lora-gelu-qnext.int4u4g64.r32');
    // cscale: the per-channel NVFP4 output scale step (Nunchaku's wcscales)
    const c = parseUri('w4a4_nvfp4g16_fp16_r32_m64n64k64_w2x2_s2_smem_f32acc_sm120a_cscale-bias-lora');
    expect(c.kind === 'gemm' && c.spec.epilogue.map((e) => e.op)).toEqual(['cscale', 'bias', 'lowrank']);
  });

  it('round-trips every valid GEMM config and refuses every invalid one (parse ⇒ validate)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(spec, tile, arch, (s, t, a) => {
        const uri = gemmUri(s, t, a);
        // The shift is not in the URI: parse gives the documented default for the activation before qnext.
        const silu = s.epilogue.some((e) => e.op === 'silu');
        const want: KernelSpec = { ...s, epilogue: s.epilogue.map((e) => (e.op === 'qnext' && e.activation.unsigned && silu ? { ...e, activation: { unsigned: true, shift: SILU_U4_SHIFT } } : e)) };
        let valid = true;
        try {
          validateGemmTile(t, validateSpec(want));
        } catch {
          valid = false;
        }
        if (valid) expect(parseUri(uri)).toEqual({ kind: 'gemm', spec: want, tile: t, arch: a });
        else expect(() => parseUri(uri)).toThrow(UserError);
        if (valid) accepted++;
      }),
      { numRuns: runs() },
    );
    expect(accepted).toBeGreaterThan(runs() / 20); // both sides of the property are exercised
  });

  it('round-trips valid activation-kernel configs and refuses invalid ones', () => {
    fc.assert(
      fc.property(spec, arch, fc.constantFrom(16, 32, 64), fc.constantFrom(64, 128, 256), fc.constantFrom(1, 2, 4, 8), (s, a, bm, bk, w) => {
        const t = { blockM: bm, blockK: bk, warps: w };
        const uri = actUri(s, t, a);
        const { epilogue: _dropped, ...rest } = s;
        let valid = true;
        try {
          validateActTile(t, validateSpec({ ...rest, epilogue: rest.lowRank.rank > 0 ? [{ op: 'lowrank' }] : [] }));
        } catch {
          valid = false;
        }
        if (valid) expect(parseUri(uri)).toEqual({ kind: 'act', spec: rest, tile: t, arch: a });
        else expect(() => parseUri(uri)).toThrow(UserError);
      }),
      { numRuns: runs() },
    );
  });

  it('refuses the invalid configs of issue 15 that used to run (one validation path)', () => {
    const base = 'w4a4_int4g64_bf16_r32_m128n128k64_w2x4_s3_smem_f32acc_sm89_';
    expect(parseUri(`${base}bias-lora`).kind).toBe('gemm');
    expect(() => parseUri(`${base}bias-bias-lora`)).toThrow(/epilogue\[1\]\.op: "bias" appears twice/);
    expect(() => parseUri(`${base}bias-lora-gelu-silu`)).toThrow(/"silu" cannot follow gelu/);
    expect(() => parseUri(`${base}bias-lora-gelu-gelu`)).toThrow(/"gelu" appears twice/);
    expect(() => parseUri(`${base}gelu-bias-lora`)).toThrow(/"bias" cannot come after gelu/);
    // rank 32 without 'lora' would silently drop the low-rank branch
    expect(() => parseUri(`${base}bias`)).toThrow(/has no 'lowrank' step but lowRank.rank is 32/);
    expect(() => parseUri(base.replace('_r32_', '_r032_') + 'bias-lora')).toThrow(/rank '032'.*without leading zeros/);
    expect(() => parseUri(base.replace('_r32_', '_r9007199254740993_') + 'bias-lora')).toThrow(/at most 2\^53/);
    expect(() => parseUri(base.replace('m128n128', 'm0128n128') + 'bias-lora')).toThrow(/blockM '0128'/);
    expect(() => parseUri(base.replace('_r32_', '_r24_') + 'bias-lora')).toThrow(/lowRank\.rank: 24 is not a multiple of 16/);
    expect(() => parseUri(base.replace('w2x4', 'w4x4') + 'bias-lora')).toThrow(/at most 8 warps/);
    expect(() => parseUri(base.replace('int4g64', 'int4g64sbf16') + 'bias-lora')).toThrow(/not in canonical form; the same config is spelled 'w4a4_int4g64_bf16/);
    expect(() => parseUri('act_int4g64_bf16_r32_m48k64_w1_sm89')).toThrow(/actTile\.blockM: 48 must be a power of two/);
    expect(() => parseUri('w4a4_nvfp4g16_bf16_r32_m128n128k64_w2x4_s3_smem_f16acc_sm120a_bias-lora')).toThrow(/accum: "f16" is only allowed for int4/);
  });

  it('garbage and mutated URIs: a UserError, or a canonical config that re-validates (seeded)', () => {
    const valid = fc.tuple(spec, tile, arch).map(([s, t, a]) => gemmUri(s, t, a));
    const mutate = fc.tuple(valid, fc.nat(), fc.nat(), fc.constantFrom('', '0', '_', '-', 'bias', 'lora', 'gelu', 'silu', '9'.repeat(20), 'r', 'x', '.')).map(([u, i, j, ins]) => {
      const a = i % (u.length + 1);
      const b = Math.min(u.length, a + (j % 4));
      return u.slice(0, a) + ins + u.slice(b);
    });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('_', '-', '.', 'w4a4', 'act', 'r32', 'm64n64k64', 'w2x2', 's2', 'reg', 'f32acc', 'sm89', 'bias', 'lora', 'int4g64', 'bf16') }), mutate), (u) => {
        let p: ReturnType<typeof parseUri>;
        try {
          p = parseUri(u);
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
          return;
        }
        const again = p.kind === 'gemm' ? gemmUri(p.spec, p.tile, p.arch) : actUri({ ...p.spec, epilogue: [] }, p.tile, p.arch);
        expect(again).toBe(u);
        if (p.kind === 'gemm') validateGemmTile(p.tile, validateSpec(p.spec));
      }),
      { numRuns: runs(2000) },
    );
  });

  it('names the bad part of a malformed URI', () => {
    expect(() => parseUri('w4a4_int5g64_bf16_r32_m128n128k64_w2x4_s3_smem_f32acc_sm89_plain')).toThrow(/format 'int5g64'/);
    expect(() => parseUri('w4a4_int4g64_bf16_r32_m128n128k64_w2x4_s3_smem_f32acc_sm99_plain')).toThrow(/architecture 'sm99'/);
    expect(() => parseUri('nonsense')).toThrow(/kernel URI 'nonsense'/);
  });
});
