// `pack` streams: peak memory is one layer, whatever the checkpoint's size. This bench writes synthetic
// Nunchaku checkpoints with FLUX.1-dev's layout (C++ names, INT4 bf16 rank 32, every W4A4 layer of the
// first D double and S single blocks at its real shape, plus 16-bit pass-through tensors), packs each in a
// child process (so its peak RSS is pack's alone: process.resourceUsage().maxRSS) and reports bytes,
// seconds and peak RSS per size, the RSS slope between the sizes and the extrapolation to the full
// 19 + 38 blocks. The full checkpoint (~6.5 GB) is written only with --full.
//   npx tsx bench/index.ts pack [--full]   → table on stdout, JSON in .cache/bench/pack.json
import { execa } from 'execa';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StreamingSafetensorsWriter, type PlannedTensor } from '../export/pack/writer.js';
import { createRng } from '../runtime/reference/random.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const R = 32;

/** FLUX.1-dev's W4A4 layers per block under Nunchaku's C++ names: [key, N, K]. */
const DOUBLE: Array<[string, number, number]> = [
  ['qkv_proj', 9216, 3072], ['qkv_proj_context', 9216, 3072], ['out_proj', 3072, 3072], ['out_proj_context', 3072, 3072],
  ['mlp_fc1', 12288, 3072], ['mlp_fc2', 3072, 12288], ['mlp_context_fc1', 12288, 3072], ['mlp_context_fc2', 3072, 12288],
];
const SINGLE: Array<[string, number, number]> = [['qkv_proj', 9216, 3072], ['out_proj', 3072, 3072], ['mlp_fc1', 12288, 3072], ['mlp_fc2', 3072, 12288]];

function plan(doubles: number, singles: number): PlannedTensor[] {
  const out: PlannedTensor[] = [];
  const layer = (p: string, N: number, K: number) => {
    out.push({ name: `${p}.qweight`, dtype: 'I8', shape: [N, K / 2] }, { name: `${p}.wscales`, dtype: 'BF16', shape: [K / 64, N] });
    out.push({ name: `${p}.bias`, dtype: 'BF16', shape: [N] }, { name: `${p}.smooth`, dtype: 'BF16', shape: [K] }, { name: `${p}.smooth_orig`, dtype: 'BF16', shape: [K] });
    out.push({ name: `${p}.lora_down`, dtype: 'BF16', shape: [K, R] }, { name: `${p}.lora_up`, dtype: 'BF16', shape: [N, R] });
  };
  for (let b = 0; b < doubles; b++) {
    for (const [k, N, K] of DOUBLE) layer(`transformer_blocks.${b}.${k}`, N, K);
    out.push({ name: `transformer_blocks.${b}.norm1.linear.weight`, dtype: 'BF16', shape: [18432, 3072] }); // 16-bit pass-through
  }
  for (let b = 0; b < singles; b++) {
    for (const [k, N, K] of SINGLE) layer(`single_transformer_blocks.${b}.${k}`, N, K);
    out.push({ name: `single_transformer_blocks.${b}.norm.linear.weight`, dtype: 'BF16', shape: [9216, 3072] });
  }
  return out;
}

const bytesOf = (t: PlannedTensor) => t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'I8' ? 1 : 2);

/** Writes the checkpoint tensor by tensor in 8 MiB chunks (this process never holds a layer). */
async function writeCheckpoint(file: string, tensors: PlannedTensor[]): Promise<number> {
  const w = await StreamingSafetensorsWriter.create(file, tensors, { format: 'pt' });
  const rng = createRng(1);
  let total = 0;
  for (const t of tensors) {
    const n = bytesOf(t);
    total += n;
    const suffix = t.name.slice(t.name.lastIndexOf('.') + 1);
    async function* chunks() {
      for (let off = 0; off < n; off += 8 << 20) {
        const len = Math.min(8 << 20, n - off);
        if (suffix === 'qweight') {
          const b = new Uint8Array(len);
          for (let i = 0; i < len; i++) b[i] = (rng.next() * 256) | 0; // any nibble is an s4 code
          yield b;
        } else {
          // 16-bit: positive finite bf16 values in [0.5, 1) (scales, smoothing) or ±small (others)
          const h = new Uint16Array(len / 2);
          const sign = suffix === 'wscales' || suffix.startsWith('smooth') ? 0 : 0x8000;
          for (let i = 0; i < h.length; i++) h[i] = (rng.next() < 0.5 ? sign : 0) | (0x3f00 + ((rng.next() * 128) | 0));
          yield new Uint8Array(h.buffer);
        }
      }
    }
    await w.write(t.name, chunks());
  }
  await w.commit();
  return total;
}

export interface PackBenchRow {
  doubles: number;
  singles: number;
  layers: number;
  inputBytes: number;
  seconds: number;
  peakRssBytes: number;
}

const CHILD = `
import { packCheckpoint } from '${pathToFileURL(path.join(REPO, 'export/pack/pack.ts')).href}';
const [input, output] = process.argv.slice(-2);
const t0 = performance.now();
const r = await packCheckpoint({ from: 'nunchaku', input, output, model: 'flux.1-dev' });
process.stdout.write(JSON.stringify({ layers: r.layers.length, seconds: (performance.now() - t0) / 1000, maxRss: process.resourceUsage().maxRSS * 1024 }));
`;

async function measure(dirPath: string, doubles: number, singles: number): Promise<PackBenchRow> {
  const input = path.join(dirPath, `flux-${doubles}d${singles}s.safetensors`);
  const output = path.join(dirPath, `flux-${doubles}d${singles}s-packed.safetensors`);
  const inputBytes = await writeCheckpoint(input, plan(doubles, singles));
  const script = path.join(dirPath, 'pack-child.mts');
  await fs.writeFile(script, CHILD);
  try {
    const { stdout } = await execa('npx', ['tsx', script, input, output], { cwd: REPO });
    const r = JSON.parse(stdout) as { layers: number; seconds: number; maxRss: number };
    return { doubles, singles, layers: r.layers, inputBytes, seconds: r.seconds, peakRssBytes: r.maxRss };
  } finally {
    await fs.rm(input, { force: true });
    await fs.rm(output, { force: true });
  }
}

export async function benchPack(o: { full?: boolean; out?: string } = {}): Promise<{ rows: PackBenchRow[]; rssSlopePerGiB: number; extrapolatedPeakRss: number; fullBytes: number }> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-bench-pack-'));
  try {
    const sizes: Array<[number, number]> = o.full ? [[1, 1], [19, 38]] : [[1, 1], [2, 3]];
    const rows: PackBenchRow[] = [];
    for (const [d, s] of sizes) rows.push(await measure(tmp, d, s));
    const [a, b] = rows;
    const GiB = 2 ** 30;
    const rssSlopePerGiB = (b.peakRssBytes - a.peakRssBytes) / ((b.inputBytes - a.inputBytes) / GiB);
    const fullBytes = plan(19, 38).reduce((x, t) => x + bytesOf(t), 0);
    const extrapolatedPeakRss = b.peakRssBytes + Math.max(0, rssSlopePerGiB) * ((fullBytes - b.inputBytes) / GiB);
    console.log('blocks (double+single)  layers   input MiB   seconds   peak RSS MiB');
    for (const r of rows) {
      console.log(`${`${r.doubles}+${r.singles}`.padEnd(22)} ${String(r.layers).padStart(7)} ${(r.inputBytes / 2 ** 20).toFixed(0).padStart(11)} ${r.seconds.toFixed(1).padStart(9)} ${(r.peakRssBytes / 2 ** 20).toFixed(0).padStart(14)}`);
    }
    console.log(`RSS slope ${(rssSlopePerGiB / 2 ** 20).toFixed(1)} MiB per GiB of input; full FLUX.1-dev layout ${(fullBytes / GiB).toFixed(2)} GiB → peak RSS ${o.full ? 'measured above' : `extrapolated ${(extrapolatedPeakRss / 2 ** 20).toFixed(0)} MiB (linear, from the two measured sizes)`}`);
    const result = { rows, rssSlopePerGiB, extrapolatedPeakRss, fullBytes };
    const out = o.out ?? path.join(REPO, '.cache/bench/pack.json');
    await fs.mkdir(path.dirname(out), { recursive: true });
    await fs.writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
