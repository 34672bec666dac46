import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GEMM_TILE, planGemm } from '../../codegen/plan/gemm.js';
import { planLayer } from '../../codegen/plan/index.js';
import { TEMPLATES_DIR, renderKernel, renderLayerSources } from '../../codegen/render.js';
import { FLUX_DEV, specsFor } from '../../dsl/models/index.js';
import { resolveGpu } from '../../dsl/targets.js';

const rtx4090 = resolveGpu('sm_89');
const fc1 = specsFor(FLUX_DEV).find((s) => s.layer === 'single.mlp_fc1')!.spec;

describe('renderKernel (gemm.cu.hbs)', () => {
  const plan = planGemm(fc1, DEFAULT_GEMM_TILE, rtx4090);
  const src = renderKernel(plan);

  it('spells out the plan: config, kernel, epilogue chain in order, C ABI launcher', () => {
    expect(src).toContain(`// Kernel: ${plan.uri}`);
    expect(src).toContain('svdq::gemm::Config<__nv_bfloat16, __nv_bfloat16, 128, 128, 2, 4, 2, 3,');
    expect(src).toContain('svdq::gemm::Staging::Smem, svdq::gemm::Accum::F32, false, 64, 32,\n                               svdq::gemm::Mma::Int4>');
    expect(src).toContain(`__global__ void __launch_bounds__(256) ${plan.kernelName}(const svdq_gemm_args_t args)`);
    expect(src).toContain(`extern "C" svdq_status_t ${plan.symbol}(const svdq_gemm_args_t* args, cudaStream_t stream)`);
    expect(src).toContain(`constexpr int kSmemBytes = ${plan.smemBytes};`);
    const order = plan.epilogue.map((s) => src.indexOf(`${s.functor}::apply(ctx, y);`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    for (const inc of plan.includes) expect(src).toContain(`#include "${inc}"`);
    expect(src).not.toMatch(/\{\{|\}\}/);
  });

  it('is deterministic (cached template, same plan → same text)', () => {
    expect(renderKernel(planGemm(fc1, DEFAULT_GEMM_TILE, rtx4090))).toBe(src);
  });

  it('fails on a missing plan field instead of printing nothing (strict mode)', () => {
    const { argRules: _dropped, ...incomplete } = plan;
    expect(() => renderKernel(incomplete as unknown as typeof plan)).toThrow(/argRules/);
  });

  it('renders both translation units of a layer', () => {
    const layer = planLayer(fc1, { gemm: DEFAULT_GEMM_TILE, act: { blockM: 64, blockK: 256, warps: 4 } }, rtx4090);
    const files = renderLayerSources(layer);
    expect([...files.keys()]).toEqual([`${layer.act.uri}.cu`, `${layer.gemm.uri}.cu`]);
    expect(files.get(`${layer.gemm.uri}.cu`)).toBe(src);
  });
});

describe('templates are logic-less', () => {
  it('use only field substitution, partials and {{#each}} over plan lists', () => {
    const files = [
      path.join(TEMPLATES_DIR, 'gemm.cu.hbs'),
      ...readdirSync(path.join(TEMPLATES_DIR, 'partials')).map((f) => path.join(TEMPLATES_DIR, 'partials', f)),
    ];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const blocks = [...text.matchAll(/\{\{\s*[#^]\s*([A-Za-z]+)/g)].map((m) => m[1]);
      expect(blocks.filter((b) => b !== 'each'), f).toEqual([]);
    }
  });
});
