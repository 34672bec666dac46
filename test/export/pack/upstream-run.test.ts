// The packed output of upstream-converter layers runs on the emulator (generated kernels, harness) and
// matches the kernel-precision reference of the known logical layer: the u4 fc2 (INT4, sm_89) with the
// coding `pack` records, NVFP4 with a 16-bit wtscale and with per-channel wcscales (cscale epilogue,
// sm_120a). `run` picks the u4 kernel family from the recorded coding by itself.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTiles } from '../../../codegen/default-tiles.js';
import { readSafetensors, writeSafetensors, type StTensorInput } from '../../../codegen/safetensors.js';
import { resolveGpu } from '../../../dsl/targets.js';
import { packCheckpoint } from '../../../export/pack/pack.js';
import { compareLayer } from '../../../runtime/harness/compare.js';
import { runLayerFile } from '../../../runtime/harness/run-file.js';
import { runLayer } from '../../../runtime/harness/run-layer.js';
import { verifyConfigs } from '../../../runtime/harness/verify.js';
import { compileCuda } from '../../../codegen/nvcc.js';
import { planGemm } from '../../../codegen/plan/gemm.js';
import { renderKernel } from '../../../codegen/render.js';
import { parseUri } from '../../../codegen/uri.js';
import { CASES, readPackedLayer, upstreamCase, type Case } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-upstream-run-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function packCase(c: Case, prefix: string) {
  const { expected, tensors } = upstreamCase(c, prefix);
  const input = path.join(dir, `${c.seed}.safetensors`);
  await writeSafetensors(input, tensors);
  const output = path.join(dir, `${c.seed}-packed.safetensors`);
  await packCheckpoint({ from: 'nunchaku', input, output, shapes: { [prefix]: { n: c.N, k: c.K } }, model: 'none' });
  return { expected, output, ...(await readPackedLayer(output, prefix)) };
}

describe('packed upstream layers on the emulator', () => {
  for (const c of [CASES[3], CASES[4]]) {
    it(`${c.name}: the packed layer runs to the reference`, async () => {
      const { expected, layer } = await packCase(c, 'L');
      const target = resolveGpu('sm_120a');
      const run = await runLayer({ spec: c.spec, tiles: defaultTiles(c.spec, target), target, backend: 'emu', inputs: { ...expected, layer } });
      expect(run.uris.gemm).toMatch(/_cscale-bias-lora$/);
      expect(run.findings).toEqual([]);
      const cmp = compareLayer(run, expected, c.spec);
      expect(cmp.checks.filter((k) => !k.passed)).toEqual([]);
      expect(cmp.relErrorVsFloat64).toBeLessThan(0.05);
    }, 600_000);
  }

  it('the u4 fc2: pack records the coding, `run` reads it and picks the u4 kernel, matching the reference', async () => {
    const c = CASES[2];
    const { expected, layer } = await packCase(c, 'L');
    const target = resolveGpu('sm_89');
    const run = await runLayer({ spec: c.spec, tiles: defaultTiles(c.spec, target), target, backend: 'emu', inputs: { ...expected, layer } });
    expect(run.uris.gemm).toMatch(/^w4a4_int4u4g64_bf16_r16_/);
    const cmp = compareLayer(run, expected, c.spec);
    expect(cmp.checks.filter((k) => !k.passed)).toEqual([]);
    // a logical layer file with the recorded coding: `run` needs no flag to choose u4
    const bf = (shape: number[], data: Uint16Array): StTensorInput => ({ dtype: 'BF16', shape, data });
    const file = path.join(dir, 'fc2-layer.safetensors');
    await writeSafetensors(
      file,
      [
        ['x', bf([c.M, c.K], expected.x)],
        ['qweight', { dtype: 'I8', shape: [c.N, c.K], data: layer.qweight as Int8Array }],
        ['wscales', bf([c.N, c.K / 64], layer.wscales as Uint16Array)],
        ['smooth', bf([c.K], layer.smooth!)],
        ['bias', bf([c.N], layer.bias!)],
        ['lora_down', bf([16, c.K], layer.loraDown!)],
        ['lora_up', bf([c.N, 16], layer.loraUp!)],
      ],
      { 'svdq.activation': JSON.stringify({ unsigned: true, shift: c.shift }) },
    );
    const out = path.join(dir, 'fc2-y.safetensors');
    const r = await runLayerFile({ gpu: 'sm_89', backend: 'emu', input: file, output: out });
    expect(r.gemmUri).toBe(run.uris.gemm);
    expect([...((await readSafetensors(out)).get('y')!.data as Uint16Array)]).toEqual([...run.y!]);
  }, 600_000);

  it('the cscale GEMM compiles with nvcc for sm_120a without spills', async () => {
    const p = parseUri('w4a4_nvfp4g16_fp16_r32_m64n64k64_w2x2_s2_smem_f32acc_sm120a_cscale-bias-lora');
    if (p.kind !== 'gemm') throw new Error('not a GEMM URI');
    const r = await compileCuda({ source: renderKernel(planGemm(p.spec, p.tile, resolveGpu('sm_120a'))), arch: 'sm_120a', kind: 'cubin' });
    expect(r.ptxas.length).toBeGreaterThan(0);
    for (const k of r.ptxas) expect([k.spillStoreBytes, k.spillLoadBytes]).toEqual([0, 0]);
  }, 300_000);

  it('`verify` of a cscale URI draws per-channel scales and passes', async () => {
    const [row] = await verifyConfigs({ gpu: 'sm_120a', backend: 'emu', configs: ['w4a4_nvfp4g16_fp16_r32_m64n64k64_w2x2_s2_smem_f32acc_sm120a_cscale-bias-lora'], concurrency: 1 });
    expect(row.error).toBeUndefined();
    expect(row.checks.filter((k) => !k.passed)).toEqual([]);
    expect(row.passed).toBe(true);
  }, 600_000);
});
