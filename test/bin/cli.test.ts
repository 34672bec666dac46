// The CLI: help and the no-GPU message as users run it (node bin/svdq-codegen.js); argument errors (exit 2,
// one line, no stack trace), run on the emulator against the reference, verify and gen --check through
// the same `main` in-process (a spawned CLI costs seconds of start-up per call).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.js';
import { REPO_ROOT } from '../../codegen/cache.js';
import { readSafetensors, writeSafetensors } from '../../codegen/safetensors.js';
import { parseUri } from '../../codegen/uri.js';
import { fromBits16 } from '../../numerics/float16.js';
import { kernelPrecisionLayer } from '../../runtime/reference/layer.js';
import { randomInputs } from '../../runtime/harness/verify.js';
import type { LayerInputs } from '../../runtime/reference/layer.js';

// The same config as test/runtime/harness/run-layer.test.ts: its emulator build is reused from the cache.
const URI = 'w4a4_int4g64_bf16_r32_m64n64k64_w2x2_s2_smem_f32acc_sm89_bias-lora';
const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-cli-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spawnCli = (...args: string[]) => execa('node', [path.join(REPO_ROOT, 'bin/svdq-codegen.js'), ...args], { reject: false, cwd: dir, env: { NO_COLOR: '1', FORCE_COLOR: '0' } });

/** Runs `main` in-process, capturing what it writes. */
async function cli(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const exitCode = await main(['node', 'svdq-codegen', ...args]);
    return { exitCode, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}
afterEach(() => {
  process.exitCode = undefined;
});

const M = 21, N = 128, K = 256;
let layerFile: string;
let inputs: LayerInputs;
beforeAll(async () => {
  const parsed = parseUri(URI);
  if (parsed.kind !== 'gemm') throw new Error('unreachable');
  inputs = randomInputs(parsed.spec, M, N, K, 11);
  const l = inputs.layer;
  layerFile = path.join(dir, 'layer.safetensors');
  await writeSafetensors(layerFile, {
    x: { dtype: 'bf16', shape: [M, K], data: inputs.x },
    qweight: { dtype: 'int8', shape: [N, K], data: l.qweight as Int8Array },
    wscales: { dtype: 'bf16', shape: [N, K / 64], data: l.wscales as Uint16Array },
    smooth: { dtype: 'bf16', shape: [K], data: l.smooth! },
    lora_down: { dtype: 'bf16', shape: [32, K], data: l.loraDown! },
    lora_up: { dtype: 'bf16', shape: [N, 32], data: l.loraUp! },
    bias: { dtype: 'bf16', shape: [N], data: l.bias! },
  });
});

describe('svdq-codegen CLI', () => {
  it('--help lists run, verify and gen and exits 0', async () => {
    const r = await spawnCli('--help');
    expect(r.exitCode).toBe(0);
    for (const c of ['run', 'verify', 'gen']) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const run = await cli('run', '--help');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('--backend <backend>');
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['a missing required option', ['run', '--gpu', 'sm_89', '--in', 'a.safetensors'], /required option '--out <file>' not specified/],
    ['an unknown backend', ['run', '--gpu', 'sm_89', '--backend', 'tpu', '--in', 'a', '--out', 'b'], /--backend: "tpu" is not valid; expected emu/],
    ['an unknown GPU', ['verify', '--gpu', 'sm_42'], /--gpu: "sm_42" is not a known GPU/],
    ['a missing input file', ['run', '--gpu', 'sm_89', '--in', 'nope.safetensors', '--out', 'y.safetensors'], /--in nope\.safetensors: no such layer file/],
    ['a malformed URI', ['verify', '--gpu', 'sm_89', '--configs', 'w4a4_bogus'], /kernel URI 'w4a4_bogus'/],
    ['an unknown option', ['gen', '--frobnicate'], /unknown option '--frobnicate'/],
    ['verify on a GPU that is not there', ['verify', '--gpu', 'sm_89', '--backend', 'gpu'], /no CUDA GPU found \(.+\); use --backend emu/],
  ];
  it.each(usage)('%s: one clear line on stderr, exit 2, no stack trace', async (_what, args, message) => {
    const r = await cli(...args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('run --backend gpu on this machine says there is no GPU', async () => {
    const r = await spawnCli('run', '--gpu', 'sm_89', '--backend', 'gpu', '--in', layerFile, '--out', 'y.safetensors');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/error: --backend gpu: no CUDA GPU found \(.+\); use --backend emu/);
  });

  it('a --config that does not fit the file is refused before building', async () => {
    const r = await cli('run', '--gpu', 'sm_89', '--in', layerFile, '--out', 'y.safetensors', '--config', URI.replace('_r32_', '_r16_'));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/does not fit .*layer.safetensors: the config has rank 16 but lora_down\/lora_up give 32/);
  });

  it('run --backend emu writes y that matches the reference', async () => {
    const out = path.join(dir, 'y.safetensors');
    const r = await cli('run', '--gpu', 'sm_89', '--backend', 'emu', '--in', layerFile, '--out', out, '--config', URI, '--json');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ gemmUri: URI, M, N, K, rank: 32, backend: 'emu', weights: 'qweight' });
    const y = (await readSafetensors(out)).get('y')!;
    expect(y.dtype).toBe('bf16');
    expect(y.shape).toEqual([M, N]);
    const parsed = parseUri(URI);
    if (parsed.kind !== 'gemm') throw new Error('unreachable');
    const ref = kernelPrecisionLayer(inputs, parsed.spec);
    const got = y.data as Uint16Array;
    let same = 0;
    let worst = 0;
    for (let i = 0; i < M * N; i++) {
      if (got[i] === ref.y[i]) same++;
      const a = fromBits16(got[i], 'bf16');
      const b = fromBits16(ref.y[i], 'bf16');
      worst = Math.max(worst, Math.abs(a - b) / Math.max(Math.abs(b), 0.05));
    }
    expect(same / (M * N)).toBeGreaterThan(0.95);
    expect(worst).toBeLessThan(0.05);
  });

  it('verify --configs runs the config against the reference and prints JSON', async () => {
    const r = await cli('verify', '--gpu', 'sm_89', '--backend', 'emu', '--configs', URI, '--json');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.passed).toBe(true);
    expect(out.rows).toHaveLength(1);
    expect(out.rows[0]).toMatchObject({ gemmUri: URI, passed: true });
    expect(out.rows[0].checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['act codes', 'act scales', 'X·L1 (fp32)', 'y']));
  });

  it('verify exits 1 and names the problem when a config fails', async () => {
    // Warp tiles 32 wide cannot host the qnext epilogue (one 64-channel unit per warp): the planner refuses.
    const bad = 'w4a4_int4g64_bf16_r32_m64n64k64_w2x2_s2_smem_f32acc_sm89_bias-lora-gelu-qnext.int4u4g64.r32';
    const r = await cli('verify', '--gpu', 'sm_89', '--configs', bad, '--json');
    expect(r.exitCode).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.passed).toBe(false);
    expect(out.rows[0]).toMatchObject({ passed: false, error: expect.stringMatching(/warp tile N = blockN\/warpsN = 32 must be a multiple of/) });
  });

  it('verify prints a table', async () => {
    const r = await cli('verify', '--gpu', 'sm_89', '--configs', URI);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(URI.slice(0, 40));
    expect(r.stdout).toMatch(/│ ok /);
    expect(r.stdout).toContain('1/1 configs match the reference');
  });

  it('gen --check exits 1 on a stale directory and 0 after gen', async () => {
    const out = path.join(dir, 'generated');
    const stale = await cli('gen', '--check', '--out', out);
    expect(stale.exitCode).toBe(1);
    expect(stale.stdout).toMatch(/out of date; run `svdq-codegen gen`/);
    expect(stale.stdout).toContain('differs: manifest.json');
    expect((await cli('gen', '--out', out)).exitCode).toBe(0);
    const ok = await cli('gen', '--check', '--out', out);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('up to date (32 kernels)');
  });
});
