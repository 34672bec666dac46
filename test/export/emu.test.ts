// The export's emulator build, used the way integrators use it: a C program and a Python (ctypes +
// numpy) program load dist/emu/libsvdq_emu.so, create layers from a checkpoint made by `pack`, run
// them and match the reference; bad calls return errors and launch nothing.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, type BuildResult } from '../../export/build.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { TuneRecord } from '../../tuner/records.js';
import { familyOfGemmUri } from '../../tuner/records.js';
import { planLayer } from '../../codegen/plan/index.js';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { compareY, makeCheckpoint, referenceY, SMALL_TILE, SPEC, withAdapter, writeInput, type Checkpoint } from './helpers.js';

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
