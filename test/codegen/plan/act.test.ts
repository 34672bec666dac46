import { describe, expect, it } from 'vitest';
import { ACT_SMEM_LIMIT_BYTES, actSymbol, actTileProblems, planAct } from '../../../codegen/plan/act.js';
import { PlanError } from '../../../codegen/plan/index.js';
import { renderKernel } from '../../../codegen/render.js';
import { parseUri } from '../../../codegen/uri.js';
import { UserError } from '../../../dsl/errors.js';
import { defaultSearchSpace, enumerateActTiles } from '../../../dsl/space.js';
import type { ActTile, KernelSpec, QuantFormat, SmArch } from '../../../dsl/types.js';

const spec = (over: Partial<KernelSpec> = {}, group: 32 | 64 | 128 = 64): KernelSpec => ({
  format: { kind: 'int4', group, scaleDtype: 'fp16' },
  activation: { unsigned: false, shift: 0 },
  dtype: 'fp16',
  lowRank: { rank: 32 },
  epilogue: [],
  ...over,
});

describe('planAct', () => {
  it('makes every template field concrete for a row-split tile', () => {
    const p = planAct(spec(), { blockM: 64, blockK: 128, warps: 2 }, 'sm_89');
    expect(p).toMatchObject({
      kind: 'act',
      uri: 'act_int4g64_fp16_r32_m64k128_w2_sm89',
      symbol: 'svdq_act_int4g64_fp16_r32_m64k128_w2_sm89',
      template: 'act.cu.hbs',
      arch: 'sm_89',
      threads: 64,
      smemBytes: (128 / 16) * 2 * 512 + 128 * 4, // no combine (warpsK 1); one K step of lora_down staged: k-tiles · rank tiles · 512 B; + its fp32 smoothing reciprocals
      halfType: '__half',
      formatType: 'svdq::quant::Int4<false, __half, 64>',
      warpsM: 2,
      warpsK: 1,
      rank: 32,
      rankChunk: 32,
      passes: 1,
      unitK: 64,
    });
    expect(p.rowTilesIter * p.warpsM).toBeLessThanOrEqual(64 / 16);
  });

  it('splits K across the warps that have no row tile of their own, with a shared-memory combine', () => {
    const s = spec({ dtype: 'bf16', activation: { unsigned: true, shift: 0.171875 }, lowRank: { rank: 16 } }, 128);
    s.format = { kind: 'int4', group: 128, scaleDtype: 'bf16' };
    const p = planAct(s, { blockM: 32, blockK: 256, warps: 4 }, 'sm_80');
    expect(p).toMatchObject({ warpsM: 2, warpsK: 2, unitK: 128, rowTilesIter: 1, rankChunk: 16, formatType: 'svdq::quant::Int4<true, __nv_bfloat16, 128>' });
    expect(p.smemBytes).toBe(2 * 1 * 1 * 1024 + (256 / 16) * 1 * 512 + 256 * 4); // combine: warpsM · rowTilesIter · rank tiles · 1 KiB; + staged lora_down; + smoothing reciprocals
  });

  it('walks large ranks in several passes and keeps accumulators within budget', () => {
    const p256 = planAct(spec({ lowRank: { rank: 256 } }), { blockM: 64, blockK: 64, warps: 2 }, 'sm_89');
    expect([p256.rankChunk, p256.passes, p256.rowTilesIter]).toEqual([128, 2, 1]);
    const p1024 = planAct(spec({ lowRank: { rank: 1024 } }), { blockM: 256, blockK: 256, warps: 8 }, 'sm_89');
    expect(p1024.passes * p1024.rankChunk).toBe(1024);
    expect((p1024.rowTilesIter * p1024.rankChunk) / 2).toBeLessThanOrEqual(64);
    const p48 = planAct(spec({ lowRank: { rank: 48 } }), { blockM: 64, blockK: 64, warps: 1 }, 'sm_89');
    expect([p48.rankChunk, p48.passes, p48.rowTilesIter]).toEqual([48, 1, 2]);
  });

  it('accepts a Target as well as an arch, and its URI parses back into the spec and tile', () => {
    const tile: ActTile = { blockM: 128, blockK: 256, warps: 4 };
    const s = spec({ lowRank: { rank: 0 } }, 32);
    const p = planAct(s, tile, { arch: 'sm_86' } as never);
    expect(p.arch).toBe('sm_86');
    const parsed = parseUri(p.uri);
    expect(parsed.kind).toBe('act');
    expect(parsed.tile).toEqual(tile);
    expect(parsed.spec.format).toEqual(s.format);
    expect(actSymbol('act_a.b-c')).toBe('svdq_act_a_b_c');
    const nv = planAct(spec({ format: { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' } }), tile, 'sm_120a');
    expect([nv.formatType, nv.unitK, nv.group]).toEqual(['svdq::quant::Nvfp4', 64, 16]);
    const mx = planAct(spec({ format: { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' } }), tile, 'sm_120a');
    expect([mx.formatType, mx.unitK, mx.group]).toEqual(['svdq::quant::Mxfp4', 64, 32]);
  });

  it('names the knob, its value and the rule for every problem', () => {
    const problems = (s: KernelSpec, t: ActTile, a: SmArch = 'sm_89') => actTileProblems(s, t, a).join(' | ');
    expect(problems(spec(), { blockM: 24, blockK: 64, warps: 1 })).toMatch(/tile\.blockM: 24 .*multiple of 16/);
    expect(problems(spec(), { blockM: 32, blockK: 96, warps: 1 })).toMatch(/tile\.blockK: 96 .*multiple of 64/);
    expect(problems(spec({}, 128), { blockM: 32, blockK: 64, warps: 1 })).toMatch(/tile\.blockK: 64 .*group 128/);
    expect(problems(spec(), { blockM: 32, blockK: 64, warps: 16 })).toMatch(/tile\.warps: 16/);
    // 16 rows, 2 warps: both split K, but one 64-channel unit per step cannot be shared.
    expect(problems(spec(), { blockM: 16, blockK: 64, warps: 2 })).toMatch(/tile\.blockK: 64 gives 1 quantization unit.*multiple of 128/);
    expect(problems(spec({ lowRank: { rank: 20 } }), { blockM: 32, blockK: 64, warps: 1 })).toMatch(/spec\.lowRank\.rank: 20/);
    expect(problems(spec({ dtype: 'bf16' }), { blockM: 32, blockK: 64, warps: 1 }, 'sm_75')).toMatch(/spec\.dtype: 'bf16' needs bf16 tensor cores/);
    expect(problems(spec(), { blockM: 32, blockK: 64, warps: 1 }, 'sm_75')).toBe('');
    const nvfp4: QuantFormat = { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' };
    expect(problems(spec({ format: nvfp4 }), { blockM: 32, blockK: 64, warps: 1 })).toBe('');
    expect(problems(spec({ format: nvfp4, activation: { unsigned: true, shift: 0.171875 } }), { blockM: 32, blockK: 64, warps: 1 })).toMatch(
      /spec\.activation\.unsigned: true is only allowed for int4/,
    );
  });

  it('throws PlanError (a UserError) listing the problems', () => {
    let err: unknown;
    try {
      planAct(spec(), { blockM: 24, blockK: 96, warps: 1 }, 'sm_89');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    expect(err).toBeInstanceOf(UserError);
    expect(String((err as Error).message)).toMatch(/act_int4g64_fp16_r32_m24k96_w1_sm89.*tile\.blockM: 24.*tile\.blockK: 96/);
  });

  it('plans and renders every tile of the default search space, within shared-memory and register budgets', () => {
    const specs: KernelSpec[] = [];
    for (const group of [32, 64, 128] as const) {
      for (const rank of [0, 16, 48, 128, 1024]) specs.push(spec({ lowRank: { rank }, activation: { unsigned: group === 128, shift: group === 128 ? 0.171875 : 0 } }, group));
    }
    let planned = 0;
    for (const arch of ['sm_80', 'sm_89'] as const) {
      for (const s of specs) {
        for (const tile of enumerateActTiles(defaultSearchSpace(arch), s)) {
          expect(actTileProblems(s, tile, arch), `${JSON.stringify(tile)} rank ${s.lowRank.rank}`).toEqual([]);
          const p = planAct(s, tile, arch);
          expect(p.smemBytes).toBeLessThanOrEqual(ACT_SMEM_LIMIT_BYTES);
          expect(p.regEstimate).toBeLessThanOrEqual(255);
          expect(p.passes * p.rankChunk).toBe(s.lowRank.rank);
          planned++;
        }
      }
    }
    expect(planned).toBeGreaterThan(100);
    // The template only spells out plan fields: the rendered unit names the symbol and the config.
    const p = planAct(specs[7], { blockM: 128, blockK: 128, warps: 4 }, 'sm_89');
    const src = renderKernel(p);
    expect(src).toContain(`extern "C" svdq_status_t ${p.symbol}(const svdq_act_args_t* args, cudaStream_t stream)`);
    expect(src).toContain(`svdq::act::ActConfig<__half, ${p.formatType}, ${p.rank}, ${p.rankChunk}, ${p.blockM}, ${p.blockK}, ${p.warpsM},`);
    expect(src).toContain(`static_assert(Config::kSmemBytes == ${p.smemBytes}`);
  });
});
