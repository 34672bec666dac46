import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { actUri, gemmUri, parseUri } from '../../codegen/uri.js';
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

  it('round-trips every GEMM config', () => {
    fc.assert(
      fc.property(spec, tile, arch, (s, t, a) => {
        const parsed = parseUri(gemmUri(s, t, a));
        expect(parsed).toEqual({ kind: 'gemm', spec: s, tile: t, arch: a });
      }),
    );
  });

  it('round-trips activation-kernel configs', () => {
    fc.assert(
      fc.property(spec, arch, fc.constantFrom(16, 32, 64), fc.constantFrom(64, 128, 256), fc.constantFrom(1, 2, 4, 8), (s, a, bm, bk, w) => {
        const parsed = parseUri(actUri(s, { blockM: bm, blockK: bk, warps: w }, a));
        const { epilogue: _dropped, ...rest } = s;
        expect(parsed).toEqual({ kind: 'act', spec: rest, tile: { blockM: bm, blockK: bk, warps: w }, arch: a });
      }),
    );
  });

  it('names the bad part of a malformed URI', () => {
    expect(() => parseUri('w4a4_int5g64_bf16_r32_m128n128k64_w2x4_s3_smem_f32acc_sm89_plain')).toThrow(/format 'int5g64'/);
    expect(() => parseUri('w4a4_int4g64_bf16_r32_m128n128k64_w2x4_s3_smem_f32acc_sm99_plain')).toThrow(/architecture 'sm99'/);
    expect(() => parseUri('nonsense')).toThrow(/kernel URI 'nonsense'/);
  });
});
