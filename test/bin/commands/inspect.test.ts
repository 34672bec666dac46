// `svdq-codegen inspect`: URIs, --spec, --model, --json, --keep, the house-style table with NO_COLOR,
// and errors that name the value and what is allowed (exit 2). Compiles and disassembles for real
// (needs nvcc and a disassembler; the build cache makes repeats cheap).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../bin/cli.js';

const URI = 'w4a4_int4g64_bf16_r32_m128n128k64_w2x4_s2_smem_f32acc_sm89_bias-lora';
const SPEC = path.join(import.meta.dirname, '..', '..', 'dsl', 'fixtures', 'good-specs.ts');

let out: string;
let err: string;
beforeEach(() => {
  out = '';
  err = '';
  process.exitCode = undefined;
  vi.stubEnv('NO_COLOR', '1');
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  process.exitCode = undefined;
});

const run = (...args: string[]) => main(['node', 'svdq-codegen', 'inspect', ...args]);

describe('svdq-codegen inspect', () => {
  it('prints the table for a URI, without colour under NO_COLOR', async () => {
    expect(await run(URI)).toBe(0);
    expect(out).toContain('instr/step');
    expect(out).toMatch(/MMA ×16/);
    expect(out).toMatch(/predicted/);
    expect(out).not.toMatch(/\x1b\[/);
  });

  it('--json gives one KernelInspection per kernel', async () => {
    expect(await run('--gpu', 'sm_89', URI, 'act_int4g64_bf16_r32_m64k256_w4_sm89', '--json')).toBe(0);
    const j = JSON.parse(out);
    expect(j.kernels.map((k: { uri: string; kind: string }) => [k.uri, k.kind])).toEqual([[URI, 'gemm'], ['act_int4g64_bf16_r32_m64k256_w4_sm89', 'act']]);
    expect(j.kernels[0].mainLoop.mmas).toBe(16);
    expect(j.kernels[0].predicted.label).toBe('predicted');
  });

  it('--spec with --tile, and --keep with one folder per kernel', async () => {
    const keep = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-inspect-cli-'));
    try {
      expect(await run('--spec', SPEC, '--gpu', 'sm_89', '--tile', 'm128n128k64_w4x2_s2_smem_f32acc', '--keep', keep, '--json')).toBe(0);
      const uris: string[] = JSON.parse(out).kernels.map((k: { uri: string }) => k.uri);
      expect(uris.some((u) => u.includes('m128n128k64_w4x2_s2_smem_f32acc_sm89'))).toBe(true);
      expect((await fs.readdir(keep)).sort()).toEqual([...uris].sort());
      expect((await fs.readdir(path.join(keep, uris[0]))).sort()).toEqual(['kernel.cu', 'kernel.cubin', 'kernel.sass']);
    } finally {
      await fs.rm(keep, { recursive: true, force: true });
    }
  });

  it('--gpu with a card id uses that card’s limits and rates', async () => {
    expect(await run('--gpu', 'l40s', URI, '--json')).toBe(0);
    expect(JSON.parse(out).kernels[0].target).toBe('l40s');
  });

  it('--keep naming a file is refused before any work', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-inspect-cli-'));
    try {
      const file = path.join(dir, 'f');
      await fs.writeFile(file, 'mine');
      expect(await run(URI, '--keep', file)).toBe(2);
      expect(err).toMatch(/--keep: '.*f' exists and is not a folder/);
      expect(await fs.readFile(file, 'utf8')).toBe('mine');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('--model lists every kernel of the catalog on the GPU', async () => {
    expect(await run('--model', 'flux.1-dev', '--gpu', 'sm_89', '--json')).toBe(0);
    const uris: string[] = JSON.parse(out).kernels.map((k: { uri: string }) => k.uri);
    expect(uris).toContain(URI.replace('k64_', 'k128_')); // the default tile: k-blocks of two steps
    expect(uris.some((u) => u.startsWith('act_'))).toBe(true);
  });

  it.each([
    [['w4a4_int4g64_bf16_r32_m128n128k64_w2x4_s2_smem_f32acc_sm77_bias-lora'], /architecture 'sm77' is not valid; expected sm75, sm80/],
    [['--gpu', 'sm_86', URI], /is for sm_89, but --gpu sm_86 is sm_86/],
    [['--model', 'flux.1-dev'], /--model: also give --gpu/],
    [['--model', 'nope', '--gpu', 'sm_89'], /--model: "nope" is not a known model; allowed: flux\.1-dev/],
    [['--spec', SPEC, '--gpu', 'sm_89', '--tile', 'm128'], /--tile: "m128" is not valid; expected m<BM>n<BN>k<BK>_w<WM>x<WN>/],
    [[URI, '--model', 'flux.1-dev'], /URIs and --model are exclusive/],
    [['--gpu', 'sm_42', URI], /--gpu: "sm_42" is not a known GPU; allowed:/],
    [[], /give kernel URIs, --spec FILE or --model ID/],
  ])('exits 2 for %j', async (args, message) => {
    expect(await run(...args)).toBe(2);
    expect(err).toMatch(message);
  });
});
