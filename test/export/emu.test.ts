// The export's emulator build, used the way integrators use it: a C program and a Python (ctypes +
// numpy) program load dist/emu/libsvdq_emu.so, create layers from a checkpoint made by `pack`, run
// them and match the reference; bad calls return errors and launch nothing.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runs } from '../fuzz/runs.js';
import { buildPackage, type BuildResult } from '../../export/build.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { TuneRecord } from '../../tuner/records.js';
import { familyOfGemmUri } from '../../tuner/records.js';
import { planLayer } from '../../codegen/plan/index.js';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { compareY, makeCheckpoint, referenceY, SMALL_TILE, SPEC, withAdapter, writeInput, type Checkpoint } from './helpers.js';
import { makeLayer, writeLogicalCheckpoint } from './fixtures.js';
import { packCheckpoint } from '../../export/pack/pack.js';
import { kernelPrecisionLayer } from '../../runtime/reference/layer.js';
import type { KernelSpec } from '../../dsl/types.js';
import type { LogicalLayer } from '../../numerics/logical.js';

const HERE = path.dirname(new URL(import.meta.url).pathname);
let dir: string;
let dist: BuildResult;
let ckpt: Checkpoint;
let consumer: string;
let python: string;

/** The first interpreter with numpy (PATH's python3, then Debian's); the test needs one (python3-numpy). */
async function pythonWithNumpy(): Promise<string> {
  for (const p of [process.env.SVDQ_PYTHON, 'python3', '/usr/bin/python3'].filter((x): x is string => Boolean(x))) {
    const r = await execa(p, ['-c', 'import numpy'], { reject: false });
    if (r.exitCode === 0) return p;
  }
  throw new Error('no python3 with numpy: apt-get install -y python3-numpy');
}

/** A tuning record choosing the small tile for to_q's shape (N 64, K 128), M ≤ 32. */
function record(): TuneRecord {
  const target = resolveGpu('sm_89');
  const plan = planLayer(SPEC, { gemm: SMALL_TILE, act: defaultTiles(SPEC, target).act }, target);
  return {
    family: familyOfGemmUri(plan.gemm.uri),
    shape: { m: 32, n: 64, k: 128 },
    bucket: { lo: 0, hi: 32 },
    target: { id: target.id, arch: target.arch, name: target.name },
    gemmUri: plan.gemm.uri,
    actUri: plan.act.uri,
    timing: { label: 'predicted', timeUs: 3.5 },
  } as unknown as TuneRecord;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-export-emu-'));
  ckpt = await makeCheckpoint(dir);
  dist = await buildPackage({ gpus: ['sm_89'], out: path.join(dir, 'dist'), specs: [SPEC], records: [record()], cuda: false });
  consumer = path.join(dir, 'consumer');
  python = await pythonWithNumpy();
  const emu = path.join(dist.out, 'emu');
  await execa('gcc', ['-std=c11', '-Wall', '-Werror', `-I${path.join(dist.out, 'include')}`, path.join(HERE, 'consumer.c'), `-L${emu}`, '-lsvdq_emu', `-Wl,-rpath,${emu}`, '-o', consumer]);
}, 600_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function runConsumer(args: string[]) {
  const report = path.join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  const r = await execa(consumer, args, { reject: false, env: { SVDQ_EMU_REPORT: report, SVDQ_EMU_QUIET: '1' } });
  const text = await fs.readFile(report, 'utf8').catch(() => undefined);
  const launches: { kernel: string; findings?: unknown[] }[] = text ? (JSON.parse(text).launches ?? []) : [];
  return { ...r, launches };
}

describe('dist/ from svdq-codegen build (emulator flavour)', () => {
  it('has the documented tree, a header that compiles as C, and a manifest with kernels and provenance', async () => {
    for (const f of ['include/svdq.h', 'include/svdq/layer_args.h', 'emu/libsvdq_emu.so', 'cmake/svdqConfig.cmake', 'torch/svdq/__init__.py', 'torch/svdq/svdq_torch.cpp', 'manifest.json']) {
      expect(dist.files).toContain(f);
    }
    const m = JSON.parse(await fs.readFile(path.join(dist.out, 'manifest.json'), 'utf8'));
    expect(m.layoutVersion).toBe(1);
    expect(m.targets.map((t: { arch: string }) => t.arch)).toEqual(['sm_89']);
    expect(m.kernels).toHaveLength(2);
    expect(m.kernels.filter((k: { default: boolean }) => k.default)).toHaveLength(1);
    expect(m.tuning.provenance).toBe('predicted');
    expect(m.tuning.dispatch[0]).toMatchObject({ n: 64, k: 128, mLo: 0, provenance: 'predicted 3.50 us' });
    expect(m.toolchain.gxx).toMatch(/g\+\+/);
  });

  it('C consumer: a packed layer runs and matches the reference; the tuned kernel serves its bucket', async () => {
    const M = 20;
    const x = await writeInput(path.join(dir, 'x.bin'), M, 128, 21);
    const r = await runConsumer(['run', ckpt.file, 'blocks.0.attn.to_q', path.join(dir, 'x.bin'), String(M), path.join(dir, 'y.bin')]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const y = new Uint16Array((await fs.readFile(path.join(dir, 'y.bin'))).buffer.slice(0));
    const c = compareY(y, referenceY(ckpt.q, M, x));
    expect(c.maxErr).toBe(0);
    expect(c.bitExact).toBeGreaterThan(0.9);
    expect(r.launches.map((l) => l.kernel)).toHaveLength(2);
    expect(r.launches.every((l) => (l.findings ?? []).length === 0)).toBe(true);
    expect(r.launches[1].kernel).toContain('m64n64k64'); // the dispatch row's kernel
  });

  it('C consumer: an untuned shape takes the safe default; an appended, rescaled adapter matches the reference', async () => {
    const M = 40;
    const x = await writeInput(path.join(dir, 'xk.bin'), M, 128, 22);
    const r = await runConsumer(['append', ckpt.file, 'blocks.0.attn.to_k', 'adapters.style', path.join(dir, 'xk.bin'), String(M), path.join(dir, 'yk.bin'), '0.5']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('rank 32 after append');
    const y = new Uint16Array((await fs.readFile(path.join(dir, 'yk.bin'))).buffer.slice(0));
    const want = referenceY(withAdapter(ckpt.k, ckpt.adapter, 0.5), M, x);
    expect(compareY(y, want).maxErr).toBe(0);
    // without the adapter the output differs: the append really took effect
    expect(compareY(y, referenceY(ckpt.k, M, x)).maxErr).toBeGreaterThan(0);
    expect(r.launches[1].kernel).toContain('m128n128k128');
  });

  it('bad calls return errors with a message, write nothing and launch nothing', async () => {
    const r = await runConsumer(['misuse', ckpt.file, 'blocks.0.attn.to_q']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/misuse: 2\d checks passed/);
    expect(r.stdout).toContain('N = 72 must be a positive multiple of 16');
    expect(r.stdout).toContain('rank = 2048 exceeds the largest compiled rank 32');
    expect(r.stdout).toContain('workspace_bytes');
    expect(r.launches).toEqual([]);
  });

  it('every size argument at 0, -1, INT_MAX, INT_MIN, SIZE_MAX is refused with a message: no crash, hang or launch', async () => {
    const r = await runConsumer(['sizes', ckpt.file, 'blocks.0.attn.to_q']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/sizes: \d+ checks passed/);
    expect(r.stdout).toContain('act_unsigned = 7 must be 0 or 1');
    expect(r.stdout).toMatch(/M = 8388481 needs \d+ row blocks of \d+; this kernel's grid allows at most 65535/);
    expect(r.stdout).toContain('M = 2147483647 gives more than 2^31 elements');
    expect(r.stdout).toMatch(/groups \[1, 2147483648\) are outside the layer's 2 16-rank groups/);
    expect(r.stdout).toMatch(/append_lora rank 2147483632 -> \d+: .*32 \+ 2147483632 = 2147483664 exceeds the largest compiled rank 32/);
    expect(r.launches).toEqual([]);
  }, 60_000);

  it('C ABI size arguments, fuzzed (seeded): every call answers, none crashes or hangs; only in-range calls succeed or launch', async () => {
    const edge = fc.constantFrom(0, -1, 1, 15, 16, 32, 2 ** 31 - 1, -(2 ** 31), 2 ** 31 - 16, 4096, 4097, 65535 * 64 + 1, 2 ** 63 - 1);
    const num = fc.oneof(edge, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -64, max: 5000 }));
    const op = fc.constantFrom('create', 'ws', 'run', 'append', 'scales', 'alloc', 'copy');
    // The emulator really allocates (and fills) what it is asked for: sizes between 1 MiB and 2^48 are
    // legal requests that only cost time, so the fuzz keeps allocations small or absurd (refused at once).
    const calls = fc
      .sample(fc.tuple(op, num, num), { numRuns: runs(), seed: fc.readConfigureGlobal().seed as number })
      .map(([o, a, b]): [string, number, number] => [o, o === 'alloc' && a >= 2 ** 20 && a < 2 ** 48 ? a % 2 ** 20 : a, b]);
    const r = await execa(consumer, ['fuzz', ckpt.file, 'blocks.0.attn.to_q'], {
      reject: false, timeout: 60_000, input: calls.map(([o, a, b]) => `${o} ${BigInt(a)} ${BigInt(b)}`).join('\n') + '\n',
      env: { SVDQ_EMU_REPORT: path.join(dir, 'fuzz-report.json'), SVDQ_EMU_QUIET: '1' },
    });
    expect(r.signal, r.stderr).toBeUndefined();
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(calls.length);
    const launches: unknown[] = JSON.parse(await fs.readFile(path.join(dir, 'fuzz-report.json'), 'utf8').catch(() => '{}')).launches ?? [];
    let ran = 0;
    const i32 = (v: number) => Number(BigInt.asIntN(32, BigInt(v)));
    calls.forEach(([o, a, b], i) => {
      const status = Number(lines[i].split(' ')[0]);
      if (o === 'scales') expect(status === 0, lines[i]).toBe(i32(a) >= 0 && i32(b) >= 1 && i32(a) + i32(b) <= 2);
      if (o === 'append') expect(status, lines[i]).not.toBe(0); // the layer is at the largest compiled rank
      // A 4096-byte workspace holds M ≤ 16 at most: any larger M must be refused before a launch. An
      // accepted run may still fail in the kernel (x, y and workspace alias one buffer here: the
      // emulator's checker stops it), but only after validation let it through.
      const launched = o === 'run' && (status === 0 || lines[i].includes(' kernel '));
      if (launched) expect(i32(a) >= 1 && i32(a) <= 16, lines[i]).toBe(true);
      if (launched) ran++;
      if (status !== 0) expect(lines[i].length, `call ${o} ${a} ${b}: a failed call must say why`).toBeGreaterThan(3);
    });
    expect(launches.length).toBeLessThanOrEqual(2 * ran); // only accepted runs launch (activation kernel + GEMM)
  }, 120_000);

  it('Python consumer (ctypes + numpy) runs the packed layer and matches the reference', async () => {
    const M = 33;
    const x = await writeInput(path.join(dir, 'xp.bin'), M, 128, 23);
    const want = referenceY(ckpt.q, M, x);
    await fs.writeFile(path.join(dir, 'want.bin'), want);
    const tol = compareY(want, want).tol;
    const r = await execa(python, [path.join(HERE, 'consumer.py'), path.join(dist.out, 'emu', 'libsvdq_emu.so'), ckpt.file, 'blocks.0.attn.to_q', path.join(dir, 'xp.bin'), String(M), path.join(dir, 'want.bin'), path.join(dir, 'yp.bin'), String(tol)], { reject: false, env: { SVDQ_EMU_QUIET: '1' } });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const y = new Uint16Array((await fs.readFile(path.join(dir, 'yp.bin'))).buffer.slice(0));
    expect(compareY(y, want).maxErr).toBe(0);
  });
});

// `build --gpu sm_120a`: the same consumers drive an NVFP4 layer (U8 e2m1 codes, ue4m3 scales, an fp32
// per-tensor scale) through the emulator library built for the FP4 target.
describe('dist/ for sm_120a (NVFP4) on the emulator library', () => {
  const NV: KernelSpec = { ...SPEC, format: { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' } };
  let nvDir: string;
  let nvDist: BuildResult;
  let nvFile: string;
  let nvLayer: LogicalLayer;
  let nvConsumer: string;
  beforeAll(async () => {
    nvDir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-export-nvfp4-'));
    nvLayer = makeLayer({ N: 64, K: 128, rank: 32, format: NV.format, dtype: 'bf16', seed: 31 });
    expect(nvLayer.wtensorScale).not.toBe(1); // the per-tensor scale really travels
    const logical = path.join(nvDir, 'logical.safetensors');
    await writeLogicalCheckpoint(logical, { 'blocks.0.attn.to_q': nvLayer });
    nvFile = path.join(nvDir, 'packed.safetensors');
    await packCheckpoint({ from: 'logical', input: logical, output: nvFile });
    nvDist = await buildPackage({ gpus: ['sm_120a'], out: path.join(nvDir, 'dist'), specs: [NV], cuda: false });
    nvConsumer = path.join(nvDir, 'consumer');
    const emu = path.join(nvDist.out, 'emu');
    await execa('gcc', ['-std=c11', '-Wall', '-Werror', `-I${path.join(nvDist.out, 'include')}`, path.join(HERE, 'consumer.c'), `-L${emu}`, '-lsvdq_emu', `-Wl,-rpath,${emu}`, '-o', nvConsumer]);
  }, 600_000);
  afterAll(async () => {
    await fs.rm(nvDir, { recursive: true, force: true });
  });
  const nvReference = (M: number, x: Uint16Array) => kernelPrecisionLayer({ layer: nvLayer, M, x }, NV).y;

  it('the manifest holds the sm_120a NVFP4 kernel', async () => {
    const m = JSON.parse(await fs.readFile(path.join(nvDist.out, 'manifest.json'), 'utf8'));
    expect(m.targets.map((t: { arch: string }) => t.arch)).toEqual(['sm_120a']);
    expect(JSON.stringify(m.kernels)).toContain('w4a4_nvfp4g16_bf16_r32_');
  });

  it('C consumer: the packed NVFP4 layer runs and matches the reference', async () => {
    const M = 45;
    const x = await writeInput(path.join(nvDir, 'x.bin'), M, 128, 41);
    const report = path.join(nvDir, 'report.json');
    const r = await execa(nvConsumer, ['run', nvFile, 'blocks.0.attn.to_q', path.join(nvDir, 'x.bin'), String(M), path.join(nvDir, 'y.bin')], { reject: false, env: { SVDQ_EMU_REPORT: report, SVDQ_EMU_QUIET: '1' } });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const launches: { kernel: string; findings?: unknown[] }[] = JSON.parse(await fs.readFile(report, 'utf8')).launches ?? [];
    expect(launches.map((l) => l.kernel).join(' ')).toContain('nvfp4');
    expect(launches.every((l) => (l.findings ?? []).length === 0)).toBe(true);
    const y = new Uint16Array((await fs.readFile(path.join(nvDir, 'y.bin'))).buffer.slice(0));
    const want = nvReference(M, x);
    expect(compareY(y, want).maxErr).toBe(0);
    // and wtensor_scale is applied: the output of a layer with scale 1 would be far off
    expect(compareY(y, kernelPrecisionLayer({ layer: { ...nvLayer, wtensorScale: 1 }, M, x }, NV).y).maxErr).toBeGreaterThan(0);
  });

  it('Python consumer (ctypes + numpy) runs the packed NVFP4 layer and matches the reference', async () => {
    const M = 30;
    const x = await writeInput(path.join(nvDir, 'xp.bin'), M, 128, 42);
    const want = nvReference(M, x);
    await fs.writeFile(path.join(nvDir, 'want.bin'), want);
    const tol = compareY(want, want).tol;
    const r = await execa(python, [path.join(HERE, 'consumer.py'), path.join(nvDist.out, 'emu', 'libsvdq_emu.so'), nvFile, 'blocks.0.attn.to_q', path.join(nvDir, 'xp.bin'), String(M), path.join(nvDir, 'want.bin'), path.join(nvDir, 'yp.bin'), String(tol)], { reject: false, env: { SVDQ_EMU_QUIET: '1' } });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const y = new Uint16Array((await fs.readFile(path.join(nvDir, 'yp.bin'))).buffer.slice(0));
    expect(compareY(y, want).maxErr).toBe(0);
  });
});
