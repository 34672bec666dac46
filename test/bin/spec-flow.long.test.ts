// A user's own DSL file all the way (issue 17 part 3): two custom layers go through `tune --spec`
// (the CLI, cost-model mode, real nvcc compiles), `build --spec --db` (the emulator library) and a C
// program that runs each layer from a checkpoint made by `pack`, matched against the reference — and the
// GEMM each run launched is the one the tuning record chose.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dtype16, KernelSpec } from '../../dsl/types.js';
import { packCheckpoint } from '../../export/pack/pack.js';
import { fromBits16 } from '../../numerics/float16.js';
import { kernelPrecisionLayer } from '../../runtime/reference/layer.js';
import { createRng, randomBits16 } from '../../runtime/reference/random.js';
import { makeLayer, writeLogicalCheckpoint } from '../export/fixtures.js';
import { loadUserSpecFile } from '../../dsl/load.js';

const ROOT = path.resolve('.');
const CLI = path.join(ROOT, 'bin', 'svdq-codegen.js');
const CONSUMER_C = path.join(ROOT, 'test', 'export', 'consumer.c');
const SPEC_FILE = `// Two layers of my own model: an fp16 projection with INT4 groups of 128 and a rank-16 branch, and a
// bf16 gate with a rank-64 branch.
import { int4, layer } from 'svdq-codegen';

export const proj = layer({ label: 'proj', format: int4({ group: 128 }), dtype: 'fp16', lowRank: 16 });
export const gate = layer({ label: 'gate', format: int4({ group: 64 }), dtype: 'bf16', lowRank: 64 });
`;
const LAYERS = { proj: { N: 128, K: 256, M: 64 }, gate: { N: 64, K: 128, M: 64 } } as const;

let dir: string;
let specs: KernelSpec[];
let records: { layers: string[]; gemmUri: string; timing: { label: string } }[];
let consumer: string;
let ckpt: string;
const env = { ...process.env, NO_COLOR: '1' };

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-spec-flow-'));
  const file = path.join(dir, 'my-layers.mts');
  await fs.writeFile(file, SPEC_FILE);
  specs = await loadUserSpecFile(file);
  const shapes = Object.entries(LAYERS).map(([l, s]) => `${l}=${s.M}x${s.N}x${s.K}`).join(',');
  const db = path.join(dir, 'tune.json');
  const tune = await execa('node', [CLI, 'tune', '--gpu', 'sm_89', '--spec', file, '--shapes', shapes, '--mode', 'model', '--top-k', '1', '--db', db, '--no-report', '--jobs', '2', '--json'], { cwd: dir, env, reject: false });
  expect(tune.stderr).not.toMatch(/\n\s+at /);
  expect(tune.exitCode, tune.stderr).toBe(0);
  records = JSON.parse(tune.stdout).records;
  const build = await execa('node', [CLI, 'build', '--gpu', 'sm_89', '--spec', file, '--db', db, '--out', path.join(dir, 'dist'), '--no-cuda'], { cwd: dir, env, reject: false });
  expect(build.exitCode, build.stderr).toBe(0);
  const emu = path.join(dir, 'dist', 'emu');
  consumer = path.join(dir, 'consumer');
  await execa('gcc', ['-std=c11', '-Wall', '-Werror', `-I${path.join(dir, 'dist', 'include')}`, CONSUMER_C, `-L${emu}`, '-lsvdq_emu', `-Wl,-rpath,${emu}`, '-o', consumer]);
  // A checkpoint with one layer per spec (its format, dtype and rank), packed by `pack`.
  const logical = path.join(dir, 'logical.safetensors');
  const layers = Object.fromEntries(
    specs.map((s, i) => [`blocks.0.${s.label}`, makeLayer({ ...LAYERS[s.label as keyof typeof LAYERS], rank: s.lowRank.rank, format: s.format, dtype: s.dtype, seed: 40 + i })]),
  );
  await writeLogicalCheckpoint(logical, layers, []);
  ckpt = path.join(dir, 'packed.safetensors');
  await packCheckpoint({ from: 'logical', input: logical, output: ckpt });
}, 900_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function maxRelErr(got: Uint16Array, want: Uint16Array, dtype: Dtype16): number {
  const g = Array.from(got, (b) => fromBits16(b, dtype));
  const w = Array.from(want, (b) => fromBits16(b, dtype));
  const scale = Math.max(...w.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < w.length; i++) {
    const e = Math.abs(g[i] - w[i]);
    // docs/numerics.md: a 16-bit rounding step plus fp32 summation-order differences
    const bound = 2 * 2 ** (dtype === 'bf16' ? -7 : -10) * Math.abs(w[i]) + 2 ** -12 * scale;
    worst = Math.max(worst, Number.isNaN(e) ? Infinity : e / bound);
  }
  return worst;
}

describe('a DSL file with two custom layers: tune --spec → build --spec → C', () => {
  it('tuned one record per layer, each for its own spec’s kernel family', () => {
    expect(records.map((r) => r.layers).flat().sort()).toEqual(['gate@64x64x128', 'proj@64x128x256']);
    expect(records.every((r) => r.timing.label === 'predicted')).toBe(true);
    expect(records.find((r) => r.layers[0].startsWith('proj'))!.gemmUri).toMatch(/^w4a4_int4g128_fp16_r16_.*_sm89_bias-lora$/);
    expect(records.find((r) => r.layers[0].startsWith('gate'))!.gemmUri).toMatch(/^w4a4_int4g64_bf16_r64_.*_sm89_bias-lora$/);
  });

  it('packaged exactly the spec file’s kernels with the records as dispatch rows', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'dist', 'manifest.json'), 'utf8'));
    const gemms: string[] = manifest.kernels.map((k: { gemm: string }) => k.gemm);
    for (const r of records) expect(gemms).toContain(r.gemmUri);
    expect(gemms.every((g) => /^w4a4_int4g(128_fp16_r16|64_bf16_r64)_/.test(g))).toBe(true);
    expect(manifest.tuning.dispatch.map((d: { gemm: string }) => d.gemm).sort()).toEqual(records.map((r) => r.gemmUri).sort());
  });

  for (const name of Object.keys(LAYERS) as (keyof typeof LAYERS)[]) {
    it(`runs ${name} from C on the emulator library, matching the reference, with the tuned GEMM`, async () => {
      const spec = specs.find((s) => s.label === name)!;
      const { M, K } = LAYERS[name];
      const x = randomBits16(createRng(7), M * K, spec.dtype, 1);
      const xFile = path.join(dir, `${name}.x.bin`);
      const yFile = path.join(dir, `${name}.y.bin`);
      const report = path.join(dir, `${name}.report.json`);
      await fs.writeFile(xFile, x);
      const r = await execa(consumer, ['run', ckpt, `blocks.0.${name}`, xFile, String(M), yFile], { reject: false, env: { SVDQ_EMU_REPORT: report, SVDQ_EMU_QUIET: '1' } });
      expect(r.exitCode, r.stderr).toBe(0);
      const got = new Uint16Array((await fs.readFile(yFile)).buffer.slice(0));
      const layer = makeLayer({ ...LAYERS[name], rank: spec.lowRank.rank, format: spec.format, dtype: spec.dtype, seed: 40 + specs.indexOf(spec) });
      const want = kernelPrecisionLayer({ layer, M, x }, spec).y;
      expect(got.length).toBe(want.length);
      expect(maxRelErr(got, want, spec.dtype)).toBeLessThanOrEqual(1);
      const launches: { kernel: string }[] = JSON.parse(await fs.readFile(report, 'utf8')).launches;
      const tuned = records.find((rec) => rec.layers[0].startsWith(name))!.gemmUri.replace(/[^A-Za-z0-9_]/g, '_');
      expect(launches.map((l) => l.kernel).join(' ')).toContain(tuned);
    }, 300_000);
  }
});
