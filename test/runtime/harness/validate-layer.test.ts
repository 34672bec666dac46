// `run` refuses the values `pack` refuses (issue 15: a zero smoothing factor ran and gave all-NaN
// outputs; NaN/Inf/negative scales, NaN bias, Inf LoRA weights and lora_scales, NaN float weights ran).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors, type StTensorInput } from '../../../codegen/safetensors.js';
import { parseUri } from '../../../codegen/uri.js';
import { UserError } from '../../../dsl/errors.js';
import type { LogicalLayer } from '../../../numerics/logical.js';
import { toBits16 } from '../../../numerics/float16.js';
import { baseLayerTensors, bf16 } from './layer-file-fixture.js';
import { verifyLayer } from '../../../export/pack/verify.js';
import { runLayerFile } from '../../../runtime/harness/run-file.js';
import { actConfigProblems, validateLayerValues } from '../../../runtime/harness/validate-layer.js';
import { makeLayer } from '../../export/fixtures.js';
import { runs } from '../../fuzz/runs.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const M = 2, N = 32, K = 128;
const base = (): Record<string, StTensorInput> => baseLayerTensors(M, N, K);
let n = 0;
async function run(tensors: Record<string, StTensorInput>, extra: Partial<Parameters<typeof runLayerFile>[0]> = {}) {
  const input = path.join(dir, `l${n++}.safetensors`);
  await writeSafetensors(input, tensors);
  return runLayerFile({ gpu: 'sm_89', backend: 'emu', input, output: path.join(dir, `y${n}.safetensors`), ...extra });
}

describe('run: value checks equal to pack (validate-layer.ts)', () => {
  it('refuses zero/NaN smoothing, NaN/Inf/negative wscales, NaN bias, Inf LoRA weights and scales, NaN float weights — before any build', async () => {
    const lora = { lora_down: bf16([16, K], () => 0.1), lora_up: bf16([N, 16], () => 0.1) };
    const cases: Array<[Record<string, StTensorInput>, RegExp]> = [
      [{ ...base(), smooth: bf16([K], (i) => (i === 5 ? 0 : 1)) }, /tensor 'smooth' element \[5\] = 0: smoothing factors divide the input and must be non-zero/],
      [{ ...base(), smooth: bf16([K], (i) => (i === 1 ? NaN : 1)) }, /tensor 'smooth' element \[1\] = NaN: must be finite/],
      [{ ...base(), wscales: bf16([N, 2], (i) => (i === 3 ? -0.5 : 0.1)) }, /tensor 'wscales' element \[1,1\] = -0.5: quantization scales must be >= 0/],
      [{ ...base(), wscales: bf16([N, 2], (i) => (i === 0 ? Infinity : 0.1)) }, /tensor 'wscales' element \[0,0\] = Infinity: must be finite/],
      [{ ...base(), bias: bf16([N], (i) => (i === 2 ? NaN : 0)) }, /tensor 'bias' element \[2\] = NaN/],
      [{ ...base(), ...lora, lora_up: bf16([N, 16], (i) => (i === 17 ? Infinity : 0.1)) }, /tensor 'lora_up' element \[1,1\] = Infinity/],
      [{ ...base(), ...lora, lora_scales: { dtype: 'f32', shape: [1], data: Float32Array.of(NaN) } }, /tensor 'lora_scales' element \[0\] = NaN: must be finite/],
      [{ x: base().x, weight: { dtype: 'f32', shape: [N, K], data: Float32Array.from({ length: N * K }, (_, i) => (i === 130 ? NaN : 0.01)) } }, /tensor 'weight' element \[1,2\] = NaN: must be finite/],
    ];
    for (const [tensors, message] of cases) {
      const e = await run(tensors).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(UserError);
      expect((e as Error).message).toMatch(message);
    }
  });

  it('--act-config with another dtype or rank than the file is refused like --config', async () => {
    const e = await run(base(), { actConfig: 'act_int4g64_fp16_r0_m64k128_w2_sm89' }).catch((err: unknown) => err);
    expect((e as Error).message).toMatch(/--act-config act_int4g64_fp16_r0_m64k128_w2_sm89 does not fit the layer: the config has dtype fp16 but the layer is bf16/);
    const p = parseUri('act_int4g64_bf16_r32_m64k128_w2_sm89');
    if (p.kind !== 'act') throw new Error('act');
    expect(actConfigProblems(p.spec, { ...p.spec, lowRank: { rank: 0 } })).toEqual(["rank 32 but the layer's rank is 0"]);
  });

  it('--config …_bias on a file with LoRA tensors is refused, not run without the branch', async () => {
    const lora = { lora_down: bf16([16, K], () => 0.1), lora_up: bf16([N, 16], () => 0.1) };
    const e = await run({ ...base(), ...lora }, { config: 'w4a4_int4g64_bf16_r16_m64n64k64_w2x2_s2_reg_f32acc_sm89_bias' }).catch((err: unknown) => err);
    expect((e as Error).message).toMatch(/has no 'lowrank' step but lowRank.rank is 16/);
    const r0 = await run({ ...base(), ...lora }, { config: 'w4a4_int4g64_bf16_r0_m64n64k64_w2x2_s2_reg_f32acc_sm89_plain' }).catch((err: unknown) => err);
    expect((r0 as Error).message).toMatch(/rank 0 but lora_down\/lora_up give 16/);
  });

  it('pack and run agree on every corrupted layer (seeded)', () => {
    const good = makeLayer({ N: 16, K: 64, rank: 16, format: { kind: 'int4', group: 64, scaleDtype: 'bf16' }, dtype: 'bf16', seed: 3, smooth: true });
    const specials = [NaN, Infinity, -Infinity, 0, -0, -1, 1e-3, 65504, 1e39];
    const fields = ['wscales', 'loraDown', 'loraUp', 'smooth', 'bias', 'loraScales', 'qweight', 'wtensorScale'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.nat(), fc.constantFrom(...specials), fc.integer({ min: -20, max: 20 }), (field, i, v, code) => {
        const l: LogicalLayer = { ...good, wscales: good.wscales.slice(), loraDown: good.loraDown!.slice(), loraUp: good.loraUp!.slice(), smooth: good.smooth?.slice(), bias: good.bias!.slice(), loraScales: good.loraScales!.slice(), qweight: good.qweight.slice() };
        if (field === 'qweight') l.qweight[i % l.qweight.length] = code;
        else if (field === 'wtensorScale') l.wtensorScale = v;
        else if (field === 'loraScales') l.loraScales![i % l.loraScales!.length] = v;
        else {
          const a = l[field] as Uint16Array | undefined;
          if (a) a[i % a.length] = toBits16(v, 'bf16');
        }
        const packRefuses = (() => { try { verifyLayer('p', l); return false; } catch { return true; } })();
        const runRefuses = (() => { try { validateLayerValues(l, (t) => t); return false; } catch (e) { expect(e).toBeInstanceOf(UserError); return true; } })();
        expect(runRefuses).toBe(packRefuses);
      }),
      { numRuns: runs() },
    );
  });
});
