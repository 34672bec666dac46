import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYOUT_VERSION, packLayer, unpackLayer, type PackedLayer } from '../../../codegen/layouts.js';
import { toNunchaku } from '../../../export/pack/nunchaku.js';
import { packCheckpoint, parseShapeOption, sha256File } from '../../../export/pack/pack.js';
import { readSafetensors, writeSafetensors, type StTensorInput } from '../../../codegen/safetensors.js';
import { UserError } from '../../../dsl/errors.js';
import type { Dtype16 } from '../../../dsl/types.js';
import type { LogicalLayer } from '../../../numerics/logical.js';
import type { Tensor } from '../../../numerics/tensors.js';
import { logicalTensors, makeLayer, writeLogicalCheckpoint } from '../fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-pack-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const INT4 = { kind: 'int4', group: 64, scaleDtype: 'bf16' } as const;
const NVFP4 = { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' } as const;

const bytesOf = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The packed layer's tensors must equal packLayer of the logical layer, byte for byte. */
function expectPacked(out: Map<string, Tensor>, prefix: string, want: PackedLayer): void {
  expect(bytesOf(out.get(`${prefix}.wq`)!).equals(bytes(want.wq))).toBe(true);
  expect(bytesOf(out.get(`${prefix}.wscales`)!).equals(bytes(want.wscales))).toBe(true);
  if (want.rank > 0) {
    expect(bytesOf(out.get(`${prefix}.lora_down`)!).equals(bytes(want.loraDown!))).toBe(true);
    expect(bytesOf(out.get(`${prefix}.lora_up`)!).equals(bytes(want.loraUp!))).toBe(true);
    expect([...(out.get(`${prefix}.lora_scales`)!.data as Float32Array)]).toEqual([...want.loraScales!]);
  }
  if (want.bias) expect(bytesOf(out.get(`${prefix}.bias`)!).equals(bytes(want.bias))).toBe(true);
  if (want.smooth) expect(bytesOf(out.get(`${prefix}.smooth`)!).equals(bytes(want.smooth))).toBe(true);
}

function nunchakuTensors(prefix: string, l: LogicalLayer): [string, StTensorInput][] {
  const nk = toNunchaku(l);
  const d16 = (l.dtype === 'fp16' ? 'F16' : 'BF16') as 'F16' | 'BF16';
  const out: [string, StTensorInput][] = [
    [`${prefix}.qweight`, { dtype: 'I8', shape: [nk.Np, nk.Kp / 2], data: nk.qweight }],
    [`${prefix}.wscales`, nk.kind === 'int4' ? { dtype: d16, shape: [nk.Kp / 64, nk.Np], data: nk.wscales } : { dtype: 'F8_E4M3', shape: [nk.Kp / 16, nk.Np], data: nk.wscales }],
    [`${prefix}.proj_down`, { dtype: d16, shape: [nk.Kp, nk.rank], data: nk.loraDown! }],
    [`${prefix}.proj_up`, { dtype: d16, shape: [nk.Np, nk.rank], data: nk.loraUp! }],
    [`${prefix}.bias`, { dtype: d16, shape: [nk.Np], data: nk.bias! }],
    [`${prefix}.smooth_factor`, { dtype: d16, shape: [nk.Kp], data: nk.smooth! }],
    [`${prefix}.smooth_factor_orig`, { dtype: d16, shape: [nk.Kp], data: nk.smooth! }],
  ];
  if (nk.kind === 'nvfp4') {
    out.push([`${prefix}.wtscale`, { dtype: 'F32', shape: [], data: new Float32Array([nk.wtscale]) }]);
    out.push([`${prefix}.wcscales`, { dtype: d16, shape: [nk.Np], data: nk.wcscales! }]);
  }
  return out;
}

describe('pack --from logical', () => {
  it('packs every layer into the canonical layout, copies other tensors, and records provenance', async () => {
    const a = makeLayer({ N: 64, K: 128, rank: 32, format: INT4, dtype: 'bf16', seed: 1 });
    const b = makeLayer({ N: 32, K: 64, rank: 0, format: { kind: 'int4', group: 32, scaleDtype: 'fp16' }, dtype: 'fp16', seed: 2, smooth: false });
    const c = makeLayer({ N: 48, K: 128, rank: 16, format: NVFP4, dtype: 'fp16', seed: 3 });
    const norm = { dtype: 'F32' as const, shape: [5], data: new Float32Array([1, 2, 3, 4, 5]) };
    const input = path.join(dir, 'logical.safetensors');
    await writeLogicalCheckpoint(input, { 'blocks.0.attn.to_q': a, 'blocks.0.ff.fc2': b, 'blocks.1.attn.to_k': c }, [['blocks.0.norm.weight', norm]]);
    const output = path.join(dir, 'packed.safetensors');
    const seen: string[] = [];
    const r = await packCheckpoint({ from: 'logical', input, output, onLayer: (_d, _t, p) => seen.push(p) });
    expect(seen).toEqual(['blocks.0.attn.to_q', 'blocks.0.ff.fc2', 'blocks.1.attn.to_k']);
    expect(r.passthrough).toEqual(['blocks.0.norm.weight']);

    const out = await readSafetensors(output);
    expectPacked(out, 'blocks.0.attn.to_q', packLayer(a));
    expectPacked(out, 'blocks.0.ff.fc2', packLayer(b));
    expectPacked(out, 'blocks.1.attn.to_k', packLayer(c));
    expect(out.has('blocks.0.ff.fc2.smooth')).toBe(false);
    expect((out.get('blocks.1.attn.to_k.wtensor_scale')!.data as Float32Array)[0]).toBe(Math.fround(c.wtensorScale));
    expect([...(out.get('blocks.0.norm.weight')!.data as Float32Array)]).toEqual([1, 2, 3, 4, 5]);
    // the packed tensors decode back to the logical ones (lossless)
    const back = unpackLayer({ ...packLayer(a), wq: new Uint8Array(bytesOf(out.get('blocks.0.attn.to_q.wq')!)) });
    expect([...back.qweight]).toEqual([...a.qweight]);

    const { SafetensorsFile } = await import('../../../codegen/safetensors.js');
    const f = await SafetensorsFile.open(output);
    const md = f.metadata;
    await f.close();
    expect(md['svdq.layout_version']).toBe(String(LAYOUT_VERSION));
    expect(md['svdq.source']).toBe('logical');
    expect(md['svdq.source_sha256']).toBe(await sha256File(input));
    expect(md['svdq.tool_version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(md['source.format']).toBe('pt');
    const layers = JSON.parse(md['svdq.layers']);
    expect(layers['blocks.0.ff.fc2']).toEqual({
      N: 32, K: 64, rank: 0, format: { kind: 'int4', group: 32, scaleDtype: 'fp16' }, dtype: 'fp16', activation: { unsigned: false, shift: 0 }, channel_scale: false,
    });
    expect(md['svdq.model']).toBe('none');
    expect(layers['blocks.1.attn.to_k'].format.kind).toBe('nvfp4');
    // no temp file left beside the output
    expect((await fs.readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('copies a pass-through tensor larger than one copy chunk intact, and packs MXFP4 layers', async () => {
    const big = new Float32Array((9 << 20) / 4 + 3).map((_, i) => i * 0.5);
    const l = makeLayer({ N: 32, K: 128, rank: 0, format: { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' }, dtype: 'fp16', seed: 10 });
    const input = path.join(dir, 'big.safetensors');
    await writeLogicalCheckpoint(input, { mx: l }, [['embed', { dtype: 'F32', shape: [big.length], data: big }]]);
    const output = path.join(dir, 'big-packed.safetensors');
    const r = await packCheckpoint({ from: 'logical', input, output, format: 'mxfp4' });
    expect(r.layers[0].format.kind).toBe('mxfp4');
    const out = await readSafetensors(output);
    expect(bytesOf(out.get('embed')!).equals(bytes(big))).toBe(true);
    expectPacked(out, 'mx', packLayer(l));
  });

  it('rejects out-of-range codes and scales, naming tensor, element, value and rule; writes nothing', async () => {
    const good = makeLayer({ N: 32, K: 64, rank: 16, format: INT4, dtype: 'bf16', seed: 4 });
    const output = path.join(dir, 'bad-out.safetensors');
    const cases: [string, (l: LogicalLayer) => void, RegExp][] = [
      ['code', (l) => (l.qweight[65] = 9), /tensor 'L\.qweight' element \[1,1\] = 9: s4 codes are -8\.\.7/],
      ['scale', (l) => ((l.wscales as Uint16Array)[3] = 0xbf80), /tensor 'L\.wscales' element \[3,0\] = -1: quantization scales must be >= 0/],
      ['smooth', (l) => (l.smooth![5] = 0), /tensor 'L\.smooth' element \[5\] = 0: smoothing factors .* non-zero/],
      ['lora', (l) => (l.loraUp![2] = 0x7fc0), /tensor 'L\.lora_up' element \[0,2\] = NaN: must be finite/],
    ];
    for (const [name, mutate, message] of cases) {
      const l: LogicalLayer = { ...good, qweight: good.qweight.slice(), wscales: good.wscales.slice(), smooth: good.smooth!.slice(), loraUp: good.loraUp!.slice() };
      mutate(l);
      const input = path.join(dir, `bad-${name}.safetensors`);
      await writeLogicalCheckpoint(input, { L: l });
      await expect(packCheckpoint({ from: 'logical', input, output })).rejects.toThrow(message);
      await expect(fs.access(output)).rejects.toThrow();
    }
    expect((await fs.readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a rank above 1024 before writing anything (issue 15: rank 1040 was packed)', async () => {
    const l = makeLayer({ N: 16, K: 64, rank: 1040, format: INT4, dtype: 'bf16', seed: 5 });
    const input = path.join(dir, 'rank1040.safetensors');
    const output = path.join(dir, 'rank1040-out.safetensors');
    await writeLogicalCheckpoint(input, { L: l });
    await expect(packCheckpoint({ from: 'logical', input, output })).rejects.toThrow(/layer 'L': rank 1040 exceeds the maximum 1024/);
    await expect(fs.access(output)).rejects.toThrow();
  });

  it('leaves an existing output untouched when packing fails', async () => {
    const output = path.join(dir, 'existing.safetensors');
    await fs.writeFile(output, 'old');
    const l = makeLayer({ N: 32, K: 64, rank: 0, format: INT4, dtype: 'bf16', seed: 5 });
    l.qweight[0] = -9;
    const input = path.join(dir, 'bad-existing.safetensors');
    await writeLogicalCheckpoint(input, { L: l });
    await expect(packCheckpoint({ from: 'logical', input, output })).rejects.toThrow(UserError);
    expect(await fs.readFile(output, 'utf8')).toBe('old');
  });

  it('checks shapes and the --format assertion from the header', async () => {
    const l = makeLayer({ N: 32, K: 64, rank: 16, format: INT4, dtype: 'bf16', seed: 6 });
    const input = path.join(dir, 'shape.safetensors');
    const tensors = logicalTensors('L', l).map(([n, t]): [string, StTensorInput] => (n === 'L.bias' ? [n, { ...t, shape: [16], data: (t.data as Uint16Array).slice(0, 16) }] : [n, t]));
    await writeSafetensors(input, tensors);
    await expect(packCheckpoint({ from: 'logical', input, output: path.join(dir, 'o.safetensors') })).rejects.toThrow("tensor 'L.bias': shape [16], expected [32]");
    const ok = path.join(dir, 'fmt.safetensors');
    await writeLogicalCheckpoint(ok, { L: l });
    await expect(packCheckpoint({ from: 'logical', input: ok, output: path.join(dir, 'o.safetensors'), format: 'nvfp4' })).rejects.toThrow("layer 'L': --format nvfp4, but its tensors are int4");
    await expect(packCheckpoint({ from: 'logical', input: ok, output: path.join(dir, 'o.safetensors'), format: 'mxfp4' })).rejects.toThrow("layer 'L': --format mxfp4, but its tensors are int4");
    await expect(packCheckpoint({ from: 'nunchaku', input: ok, output: path.join(dir, 'o.safetensors'), format: 'mxfp4' })).rejects.toThrow(/mxfp4 does not exist in Nunchaku checkpoints/);
    const missing = path.join(dir, 'missing.safetensors');
    await writeSafetensors(missing, logicalTensors('L', l).filter(([n]) => n !== 'L.wscales'));
    await expect(packCheckpoint({ from: 'logical', input: missing, output: path.join(dir, 'o.safetensors') })).rejects.toThrow("tensor 'L.wscales' is missing");
  });
});

describe('pack --from nunchaku', () => {
  for (const [name, format, dtype] of [
    ['int4', INT4, 'bf16'],
    ['nvfp4', NVFP4, 'fp16'],
  ] as const) {
    it(`${name}: drops Nunchaku's padding and block order; equals packLayer of the logical layer`, async () => {
      const l = makeLayer({ N: 96, K: 192, rank: 32, format, dtype: dtype as Dtype16, seed: 7 });
      l.loraScales!.fill(1); // Nunchaku checkpoints hold no low-rank scales
      const input = path.join(dir, `nunchaku-${name}.safetensors`);
      await writeSafetensors(input, [...nunchakuTensors('transformer_blocks.0.attn.to_q', l), ['pos_embed', { dtype: 'F16', shape: [2], data: new Uint16Array([1, 2]) }]]);
      const output = path.join(dir, `nunchaku-${name}-packed.safetensors`);
      const r = await packCheckpoint({ from: 'nunchaku', input, output, format: name, shapes: parseShapeOption(['transformer_blocks.0.attn.to_q=96x192']) });
      expect(r.dropped.map((d) => d.tensor)).toEqual(['transformer_blocks.0.attn.to_q.smooth_factor_orig']);
      const out = await readSafetensors(output);
      expectPacked(out, 'transformer_blocks.0.attn.to_q', packLayer(l));
      expect(out.has('pos_embed')).toBe(true);
      expect(out.get('transformer_blocks.0.attn.to_q.wq')!.shape).toEqual([96, 96]);
    });
  }

  it('defaults to the padded shape and refuses a shape that does not pad to it', async () => {
    const l = makeLayer({ N: 128, K: 128, rank: 16, format: INT4, dtype: 'bf16', seed: 8 });
    l.loraScales!.fill(1);
    const input = path.join(dir, 'nk-default.safetensors');
    await writeSafetensors(input, nunchakuTensors('L', l));
    const output = path.join(dir, 'nk-default-packed.safetensors');
    await packCheckpoint({ from: 'nunchaku', input, output });
    expectPacked(await readSafetensors(output), 'L', packLayer(l));
    await expect(packCheckpoint({ from: 'nunchaku', input, output, shapes: { L: { n: 128, k: 256 } } })).rejects.toThrow("layer 'L': shape 128x256 does not pad to the checkpoint's 128x128");
    expect(() => parseShapeOption(['L=12by3'])).toThrow('--shape');
  });
});

describe('svdq-codegen pack (CLI)', () => {
  it('packs a checkpoint and reports; a bad source is a usage error (exit 2)', async () => {
    const { execa } = await import('execa');
    const bin = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'bin', 'svdq-codegen.js');
    const input = path.join(dir, 'cli-in.safetensors');
    await writeLogicalCheckpoint(input, { L: makeLayer({ N: 32, K: 64, rank: 16, format: INT4, dtype: 'bf16', seed: 9 }) });
    const output = path.join(dir, 'cli-out.safetensors');
    const ok = await execa('node', [bin, 'pack', input, '--from', 'logical', '--out', output, '--format', 'int4'], { reject: false });
    expect(ok.stderr).toBe('pack: 1/1 layers (0/0 MiB) L'); // not a terminal: line-based progress
    expect(ok.stdout).toContain('1 layer(s) packed (layout v1; model none; 0 with u4 activations)');
    expect((await readSafetensors(output)).has('L.wq')).toBe(true);
    const bad = await execa('node', [bin, 'pack', input, '--from', 'diffusers', '--out', output], { reject: false });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('--from');
  });
});
