// Never silently wrong: every tensor is consumed, copied, dropped with a reason, or refused by name;
// both namings in one layer are refused; the model map names each layer and its activation coding.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsFile, writeSafetensors, type StTensorInput } from '../../../codegen/safetensors.js';
import { GELU_SHIFT } from '../../../dsl/formats.js';
import { UserError } from '../../../dsl/errors.js';
import { activationFor, catalogLayer, detectModel } from '../../../export/pack/models.js';
import { packCheckpoint } from '../../../export/pack/pack.js';
import { specOf, upstreamCase, type Case } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-strict-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const signed = { unsigned: false, shift: 0 };
const small: Case = { name: 'small', spec: specOf('int4', 'bf16', 16, signed, false), N: 128, K: 128, M: 3, naming: 'cpp', seed: 9 };
const int4 = { kind: 'int4', group: 64, scaleDtype: 'bf16' } as const;
const nvfp4 = { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' } as const;

async function write(name: string, tensors: [string, StTensorInput][]): Promise<string> {
  const file = path.join(dir, name);
  await writeSafetensors(file, tensors);
  return file;
}
const extra = (name: string): [string, StTensorInput] => [name, { dtype: 'BF16', shape: [4], data: new Uint16Array(4) }];

describe('pack --strict (default)', () => {
  it('refuses an unknown tensor of a layer and an orphan quantized tensor, naming them; writes nothing', async () => {
    const { tensors } = upstreamCase(small, 'L');
    for (const [bad, why] of [
      ['L.wzscales', /'L\.wzscales' \('wzscales' is not a nunchaku layer tensor/],
      ['M.smooth_factor', /'M\.smooth_factor' \(looks like part of a quantized layer, but there is no 'M\.qweight'\)/],
      ['M.proj_up', /'M\.proj_up'/],
    ] as const) {
      const input = await write('bad.safetensors', [...tensors, extra(bad)]);
      const output = path.join(dir, 'bad-out.safetensors');
      const err = await packCheckpoint({ from: 'nunchaku', input, output, model: 'none' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message).toMatch(/--no-strict/);
      await expect(fs.stat(output)).rejects.toThrow();
    }
  });

  it('--no-strict copies them and lists them in svdq.unrecognized', async () => {
    const { tensors } = upstreamCase(small, 'L');
    const input = await write('lenient.safetensors', [...tensors, extra('L.wzscales'), extra('norm.weight')]);
    const output = path.join(dir, 'lenient-out.safetensors');
    const r = await packCheckpoint({ from: 'nunchaku', input, output, model: 'none', strict: false });
    expect(r.passthrough).toEqual(['norm.weight', 'L.wzscales']);
    const f = await SafetensorsFile.open(output);
    expect(JSON.parse(f.metadata['svdq.unrecognized'])).toEqual([expect.objectContaining({ tensor: 'L.wzscales' })]);
    await f.close();
  });

  it('refuses a layer mixing the C++ and Python names for one role', async () => {
    const { tensors } = upstreamCase(small, 'L');
    const smooth = tensors.find(([n]) => n === 'L.smooth')![1];
    const input = await write('mixed.safetensors', [...tensors, ['L.smooth_factor', smooth]]);
    await expect(packCheckpoint({ from: 'nunchaku', input, output: path.join(dir, 'mixed-out.safetensors'), model: 'none' })).rejects.toThrow(
      /layer 'L': tensors 'L\.smooth' and 'L\.smooth_factor' both give its smooth/,
    );
  });

  it('copies AWQ W4A16 layers unchanged and names them; 16-bit adapters pass through', async () => {
    const { tensors } = upstreamCase(small, 'L');
    const w4a16: [string, StTensorInput][] = ['qweight', 'wscales', 'wzeros', 'bias'].map((s) => [`norm1.linear.${s}`, { dtype: s === 'qweight' ? 'I32' : 'BF16', shape: [8], data: s === 'qweight' ? new Int32Array(8) : new Uint16Array(8) }]);
    const input = await write('w4a16.safetensors', [...tensors, ...w4a16, extra('adapters.style.lora_down')]);
    const r = await packCheckpoint({ from: 'nunchaku', input, output: path.join(dir, 'w4a16-out.safetensors'), model: 'none' });
    expect(r.layers.map((l) => l.prefix)).toEqual(['L']);
    expect(r.passthrough).toContain('adapters.style.lora_down'); // a 16-bit adapter, not a quantized tensor
    expect(r.copiedQuantized.map((c) => c.tensor)).toEqual(w4a16.map(([n]) => n));
  });
});

describe('--model: catalog layer and activation coding', () => {
  it('maps both namings of FLUX keys; u4 + shift for the fc2 after GELU in INT4, signed in NVFP4 and elsewhere', () => {
    const cases: Array<[string, string, boolean]> = [
      ['transformer_blocks.3.mlp_fc2', 'double.img.mlp_fc2', true],
      ['transformer_blocks.3.ff.net.2', 'double.img.mlp_fc2', true],
      ['transformer_blocks.3.mlp_context_fc2', 'double.txt.mlp_fc2', true],
      ['transformer_blocks.3.ff_context.net.2', 'double.txt.mlp_fc2', true],
      ['single_transformer_blocks.10.mlp_fc2', 'single.mlp_fc2', true],
      ['transformer_blocks.3.qkv_proj_context', 'double.txt.qkv', false],
      ['transformer_blocks.3.attn.to_out.0', 'double.img.attn_out', false],
      ['single_transformer_blocks.0.attn.to_out', 'single.attn_out', false],
      ['transformer_blocks.0.mlp_fc1', 'double.img.mlp_fc1', false],
    ];
    for (const [key, layer, u4] of cases) {
      const c = catalogLayer('flux.1-dev', key);
      expect(c.layer.name, key).toBe(layer);
      expect(activationFor(c, int4), key).toEqual(u4 ? { unsigned: true, shift: GELU_SHIFT } : { unsigned: false, shift: 0 });
      expect(activationFor(c, nvfp4), key).toEqual({ unsigned: false, shift: 0 });
    }
    expect(activationFor(catalogLayer('qwen-image', 'transformer_blocks.59.txt_mlp.net.2'), int4).unsigned).toBe(true);
    // SDXL's GEGLU feed-forward: upstream sets no act_unsigned
    const sd = catalogLayer('sdxl', 'up_blocks.0.attentions.2.transformer_blocks.9.ff.net.2');
    expect(sd.layer.name).toBe('c1280.ff.out');
    expect(activationFor(sd, int4).unsigned).toBe(false);
    expect(catalogLayer('sdxl', 'down_blocks.1.attentions.0.transformer_blocks.1.attn1.to_qkv').layer.name).toBe('c640.attn1.to_qkv');
    expect(() => catalogLayer('flux.1-dev', 'blocks.0.attn.to_q')).toThrow(/layer 'blocks\.0\.attn\.to_q': not a quantized layer of flux\.1-dev/);
    expect(detectModel(['transformer_blocks.0.qkv_proj', 'single_transformer_blocks.0.qkv_proj'])).toBe('flux.1-dev');
    expect(detectModel(['transformer_blocks.0.img_mlp.net.2'])).toBe('qwen-image');
    expect(detectModel(['blocks.0.attn.to_q'])).toBeUndefined();
  });

  it('records catalog layer and coding in svdq.layers; the catalog shape is checked', async () => {
    const c: Case = { ...small, N: 640, K: 640, spec: specOf('int4', 'bf16', 16, signed, false), fast: true };
    const key = 'down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0';
    const { tensors } = upstreamCase(c, key);
    const input = await write('sdxl.safetensors', tensors);
    const output = path.join(dir, 'sdxl-out.safetensors');
    const r = await packCheckpoint({ from: 'nunchaku', input, output });
    expect(r.model).toBe('sdxl'); // detected from the key layout
    const f = await SafetensorsFile.open(output);
    const meta = JSON.parse(f.metadata['svdq.layers'])[key];
    expect(f.metadata['svdq.model']).toBe('sdxl');
    expect(f.metadata['svdq.model_detected']).toBe('true');
    await f.close();
    expect(meta).toMatchObject({ N: 640, K: 640, rank: 16, catalog_layer: 'c640.attn1.to_out', activation: { unsigned: false, shift: 0 }, channel_scale: false });
    await expect(packCheckpoint({ from: 'nunchaku', input, output, model: 'flux.1-dev' })).rejects.toThrow(/not a quantized layer of flux\.1-dev/);
    const ff = 'down_blocks.1.attentions.0.transformer_blocks.0.ff.net.2'; // catalog: 2560 → 640
    const wrong = await write('sdxl-wrong.safetensors', upstreamCase(c, ff).tensors);
    await expect(packCheckpoint({ from: 'nunchaku', input: wrong, output })).rejects.toThrow(/does not pad to the checkpoint's 640x640/);
  });
});

describe('svdq-codegen pack --from nunchaku (CLI)', () => {
  it('an unknown quantized-looking tensor exits 2 naming it; --no-strict packs and reports it; --model is validated', async () => {
    const { execa } = await import('execa');
    const bin = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'bin', 'svdq-codegen.js');
    const { tensors } = upstreamCase(small, 'L');
    const input = await write('cli.safetensors', [...tensors, extra('L.wzscales')]);
    const output = path.join(dir, 'cli-out.safetensors');
    const bad = await execa('node', [bin, 'pack', input, '--from', 'nunchaku', '--out', output], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("'L.wzscales'");
    expect(bad.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    const ok = await execa('node', [bin, 'pack', input, '--from', 'nunchaku', '--out', output, '--no-strict', '--model', 'none'], { reject: false });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('dropped L.smooth_orig: pre-folding smoothing');
    expect(ok.stdout).toContain('copied although unrecognized (--no-strict): L.wzscales');
    const model = await execa('node', [bin, 'pack', input, '--from', 'nunchaku', '--out', output, '--model', 'flux.2'], { reject: false });
    expect(model.exitCode).toBe(2);
    expect(model.stderr).toContain('--model: "flux.2" is not one of flux.1-dev, flux.1-schnell, qwen-image, sdxl, none');
  });
});
