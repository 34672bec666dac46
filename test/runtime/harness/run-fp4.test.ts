// `run --gpu sm_120a --backend emu` on NVFP4 and MXFP4 layers built from the formats' definitions
// (fp4-definitions.ts: random e2m1 codes and ue4m3/ue8m0 scale bytes, not our quantizer or packer),
// written as the logical tensors of docs/layouts.md, against the exact-math reference of the recipe
// within the INT4 tolerance: |Δ| ≤ ulp(y) + 2⁻¹⁴·Σ|terms| + one 16-bit step·|low-rank terms|.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile, writeSafetensors, type StTensorInput } from '../../../codegen/safetensors.js';
import type { Dtype16 } from '../../../dsl/types.js';
import { fromBits16, toBits16 } from '../../../numerics/float16.js';
import { runLayerFile } from '../../../runtime/harness/run-file.js';
import { quantizeWeights } from '../../../runtime/reference/quantize.js';
import { formatByKind } from '../../../dsl/formats.js';
import { UserError } from '../../../dsl/errors.js';
import { verifyConfigs } from '../../../runtime/harness/verify.js';
import { execa } from 'execa';
import { createRng, randomBits16 } from '../../../runtime/reference/random.js';
import { groupOf, referenceY, ue4m3Value, ulp16, type Fp4Kind, type Fp4Layer } from './fp4-definitions.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-run-fp4-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  kind: Fp4Kind;
  dtype: Dtype16;
  M: number;
  N: number;
  K: number;
  rank: number;
  bias: boolean;
  smooth?: boolean;
  /** Safetensors dtype of the NVFP4 scale bytes (U8 or F8_E4M3) and of wtensor_scale. */
  scaleDtype?: 'U8' | 'F8_E4M3';
  tensorScaleDtype?: 'F32' | 'BF16';
}

function makeLayer(c: Case, seed: number): Fp4Layer {
  const rng = createRng(seed);
  const G = groupOf(c.kind);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));
  const codes = Uint8Array.from({ length: c.N * c.K }, () => int(0, 15));
  // ue4m3 0x28..0x40 = 2^−2..2; ue8m0 122..130 = 2^−5..2^3; one zero scale (a whole group of zeros)
  const scales = Uint8Array.from({ length: (c.N * c.K) / G }, () => (c.kind === 'nvfp4' ? int(0x28, 0x40) : int(122, 130)));
  scales[3] = 0;
  // a bf16-exact per-tensor scale so the F32 and BF16 spellings hold the same value
  const wtensorScale = c.kind === 'nvfp4' ? ue4m3Value(0x1b) /* 0.052734375 */ : 1;
  const x = randomBits16(rng, c.M * c.K, c.dtype, 1);
  const l: Fp4Layer = { kind: c.kind, dtype: c.dtype, M: c.M, N: c.N, K: c.K, rank: c.rank, x, codes, scales, wtensorScale };
  if (c.smooth) l.smooth = Uint16Array.from({ length: c.K }, () => toBits16(0.5 + rng.next(), c.dtype));
  if (c.bias) l.bias = randomBits16(rng, c.N, c.dtype, 0.5);
  if (c.rank > 0) {
    l.down = randomBits16(rng, c.rank * c.K, c.dtype, 1 / Math.sqrt(c.K));
    l.up = randomBits16(rng, c.N * c.rank, c.dtype, 0.2);
    l.loraScales = Float32Array.from({ length: c.rank / 16 }, (_, i) => 1 - 0.25 * i);
  }
  return l;
}

const ST16 = { fp16: 'F16', bf16: 'BF16' } as const;

async function writeLayer(file: string, l: Fp4Layer, c: Case): Promise<void> {
  const d = ST16[l.dtype];
  const t: [string, StTensorInput][] = [
    ['x', { dtype: d, shape: [l.M, l.K], data: l.x }],
    ['qweight', { dtype: 'U8', shape: [l.N, l.K], data: l.codes }],
    ['wscales', { dtype: c.scaleDtype ?? 'U8', shape: [l.N, l.K / groupOf(l.kind)], data: l.scales }],
  ];
  if (l.kind === 'nvfp4') {
    const ts = c.tensorScaleDtype === 'BF16' ? { dtype: 'BF16' as const, shape: [], data: new Uint16Array([new Uint16Array(new Float32Array([l.wtensorScale]).buffer)[1]]) } : { dtype: 'F32' as const, shape: [], data: new Float32Array([l.wtensorScale]) };
    t.push(['wtensor_scale', ts]);
  }
  if (l.smooth) t.push(['smooth', { dtype: d, shape: [l.K], data: l.smooth }]);
  if (l.bias) t.push(['bias', { dtype: d, shape: [l.N], data: l.bias }]);
  if (l.rank > 0) {
    t.push(['lora_down', { dtype: d, shape: [l.rank, l.K], data: l.down! }]);
    t.push(['lora_up', { dtype: d, shape: [l.N, l.rank], data: l.up! }]);
    t.push(['lora_scales', { dtype: 'F32', shape: [l.rank / 16], data: l.loraScales! }]);
  }
  await writeSafetensors(file, t);
}

// Sizes kept modest for the shared emulator: K = 3072 only with small N.
const CASES: Case[] = [
  { kind: 'nvfp4', dtype: 'bf16', M: 77, N: 64, K: 256, rank: 32, bias: true, smooth: true, scaleDtype: 'F8_E4M3' },
  { kind: 'nvfp4', dtype: 'fp16', M: 300, N: 16, K: 3072, rank: 0, bias: false, tensorScaleDtype: 'BF16' },
  { kind: 'mxfp4', dtype: 'bf16', M: 300, N: 48, K: 512, rank: 16, bias: true },
  { kind: 'mxfp4', dtype: 'fp16', M: 77, N: 16, K: 3072, rank: 32, bias: false, smooth: true },
];

describe('run --gpu sm_120a --backend emu on independent FP4 layers', () => {
  it.each(CASES.map((c, i) => [`${c.kind} ${c.dtype} M=${c.M} N=${c.N} K=${c.K} rank ${c.rank}${c.bias ? ' bias' : ''}`, c, i] as const))(
    '%s matches the exact-math recipe',
    async (_name, c, i) => {
      const l = makeLayer(c, 100 + i);
      const input = path.join(dir, `in${i}.safetensors`);
      const output = path.join(dir, `out${i}.safetensors`);
      await writeLayer(input, l, c);
      const r = await runLayerFile({ gpu: 'sm_120a', backend: 'emu', input, output });
      expect(r.gemmUri).toContain(`w4a4_${c.kind}g${groupOf(c.kind)}_${c.dtype}_r${c.rank}_`);
      expect(r.gemmUri).toMatch(/_sm120a_/);
      const f = await SafetensorsFile.open(output);
      const y = Float64Array.from((await f.readTensor('y')).data as Uint16Array, (b) => fromBits16(b, c.dtype));
      await f.close();
      const step = 2 ** -(c.dtype === 'fp16' ? 10 : 7);
      const against = (ref: ReturnType<typeof referenceY>) => {
        let worst = 0;
        let exact = 0;
        for (let j = 0; j < y.length; j++) {
          const bound = ulp16(ref.y[j], c.dtype) + 2 ** -14 * ref.terms[j] + step * ref.lo[j];
          worst = Math.max(worst, Math.abs(y[j] - ref.y[j]) / bound);
          if (y[j] === ref.y[j]) exact++;
        }
        return { worst, exact: exact / y.length };
      };
      const ok = against(referenceY(l));
      expect(ok.worst, `worst |Δ|/bound`).toBeLessThanOrEqual(1);
      // The FP4 products are exact: without a low-rank branch nearly every output is bit-identical.
      expect(ok.exact).toBeGreaterThan(c.rank === 0 ? 0.99 : 0.5);
      // The check has teeth: one scale step off in a single weight group is caught.
      const scales = l.scales.slice();
      scales[5] += 1;
      expect(against(referenceY({ ...l, scales })).worst).toBeGreaterThan(1);
    },
    600_000,
  );
});

describe('run: FP4 formats and targets', () => {
  it('a float weight quantizes to the target format (NVFP4 on sm_120a) and runs', async () => {
    const c = CASES[0];
    const l = makeLayer(c, 200);
    const w = Float32Array.from({ length: c.N * c.K }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
    const q = quantizeWeights(w, c.N, c.K, formatByKind('nvfp4'));
    const input = path.join(dir, 'float.safetensors');
    const output = path.join(dir, 'float-out.safetensors');
    await writeLayer(input, l, c);
    // replace qweight/wscales/wtensor_scale by the float weight
    const f = await SafetensorsFile.open(input);
    const keep: [string, StTensorInput][] = [];
    for (const t of f.tensors) if (!['qweight', 'wscales', 'wtensor_scale'].includes(t.name)) keep.push([t.name, { dtype: t.dtype, shape: t.shape, data: await f.readBytes(t.name) }]);
    await f.close();
    await writeSafetensors(input, [...keep, ['weight', { dtype: 'F32', shape: [c.N, c.K], data: w }]]);
    const r = await runLayerFile({ gpu: 'sm_120a', backend: 'emu', input, output });
    expect(r.gemmUri).toMatch(/^w4a4_nvfp4g16_bf16_r32_/);
    const o = await SafetensorsFile.open(output);
    const y = Float64Array.from((await o.readTensor('y')).data as Uint16Array, (b) => fromBits16(b, c.dtype));
    await o.close();
    const ref = referenceY({ ...l, codes: q.codes as Uint8Array, scales: q.scales as Uint8Array, wtensorScale: q.tensorScale });
    for (let j = 0; j < y.length; j++) {
      const bound = ulp16(ref.y[j], c.dtype) + 2 ** -14 * ref.terms[j] + 2 ** -7 * ref.lo[j];
      expect(Math.abs(y[j] - ref.y[j])).toBeLessThanOrEqual(bound);
    }
  }, 600_000);

  it('an FP4 layer on an INT4-only GPU is refused before building, naming the format and what the GPU allows', async () => {
    const input = path.join(dir, 'nv-on-89.safetensors');
    await writeLayer(input, makeLayer(CASES[0], 300), CASES[0]);
    const err = await runLayerFile({ gpu: 'sm_89', backend: 'emu', input, output: path.join(dir, 'never.safetensors') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/cannot run on --gpu rtx4090 \(sm_89\): its weights \('qweight', 'wscales'\) are nvfp4, and nvfp4 has no MMA on NVIDIA GeForce RTX 4090 \(sm_89\); allowed there: int4/);
  });
});

describe('run: refusals name only what the file asked for', () => {
  it('a bf16 int4 layer on sm_75 is refused for its dtype alone (no staging or tile clause)', async () => {
    const input = path.join(dir, 'bf16-on-75.safetensors');
    const M = 3, N = 16, K = 64;
    await writeSafetensors(input, [
      ['x', { dtype: 'BF16', shape: [M, K], data: new Uint16Array(M * K) }],
      ['qweight', { dtype: 'I8', shape: [N, K], data: new Int8Array(N * K) }],
      ['wscales', { dtype: 'BF16', shape: [N, 1], data: new Uint16Array(N) }],
    ]);
    const err = await runLayerFile({ gpu: 'sm_75', backend: 'emu', input, output: path.join(dir, 'never.safetensors') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/cannot run on --gpu t4 \(sm_75\): its dtype bf16 \(from 'x'\) needs bf16 tensor cores \(sm_80\+\); allowed on NVIDIA T4 \(sm_75\): fp16$/);
  });
});

describe('run --config on an FP4 file', () => {
  it('a config of the other FP4 format is refused naming both formats', async () => {
    const c = CASES[2]; // mxfp4 bf16 rank 16 bias
    const input = path.join(dir, 'cfg-mx.safetensors');
    await writeLayer(input, makeLayer(c, 600), c);
    const config = 'w4a4_nvfp4g16_bf16_r16_m64n64k64_w2x2_s2_smem_f32acc_sm120a_bias-lora';
    const err = await runLayerFile({ gpu: 'sm_120a', backend: 'emu', input, output: path.join(dir, 'never.safetensors'), config }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(`--config ${config} does not fit ${input}: the config has format nvfp4 (group 16, ue4m3 scales) but the weights are mxfp4 (group 32, ue8m0 scales)`);
  });
});

describe('verify --in and the CLI on an FP4 file', () => {
  it('verifyConfigs({ input }) checks the file’s MXFP4 layer against the reference', async () => {
    const c = CASES[2];
    const input = path.join(dir, 'verify-mx.safetensors');
    await writeLayer(input, makeLayer(c, 400), c);
    const rows = await verifyConfigs({ gpu: 'sm_120a', backend: 'emu', input });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ M: c.M, N: c.N, K: c.K, passed: true });
    expect(rows[0].gemmUri).toMatch(/^w4a4_mxfp4g32_bf16_r16_/);
    expect(rows[0].checks.map((k) => k.name)).toEqual(expect.arrayContaining(['act codes', 'act scales', 'y']));
  }, 600_000);

  it('svdq-codegen run: exit 0 with the URIs; an inconsistent file is exit 2 with one line naming the tensor', async () => {
    const c = CASES[0];
    const input = path.join(dir, 'cli-nv.safetensors');
    await writeLayer(input, makeLayer(c, 500), c);
    const bin = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'bin', 'svdq-codegen.js');
    const ok = await execa('node', [bin, 'run', '--gpu', 'sm_120a', '--in', input, '--out', path.join(dir, 'cli-y.safetensors'), '--json'], { reject: false });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).gemmUri).toMatch(/^w4a4_nvfp4g16_bf16_r32_.*_sm120a_bias-lora$/);
    const wrong = await execa('node', [bin, 'run', '--gpu', 'sm_120a', '--in', input, '--out', path.join(dir, 'never.safetensors'), '--format', 'mxfp4'], { reject: false });
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/--format mxfp4: .* holds nvfp4 \(e2m1 codes, group 16, ue4m3 scales\) weights \(qweight U8, wscales F8_E4M3 \[N,K\/16\]\)/);
  }, 600_000);
});
