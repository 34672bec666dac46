import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { detectGpu, requireGpu } from '../../../runtime/harness/gpu.js';
import { UserError } from '../../../dsl/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-gpu-test-'));
const savedPath = process.env.PATH;
const savedCvd = process.env.CUDA_VISIBLE_DEVICES;
afterEach(() => {
  process.env.PATH = savedPath;
  if (savedCvd === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
  else process.env.CUDA_VISIBLE_DEVICES = savedCvd;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in nvidia-smi on PATH that prints `out` and exits with `code`. */
function fakeSmi(out: string, code = 0): void {
  const bin = mkdtempSync(path.join(dir, 'bin-'));
  const file = path.join(bin, 'nvidia-smi');
  writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "${out}"\nexit ${code}\n`);
  chmodSync(file, 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
}

describe('detectGpu', () => {
  it('reports why there is no GPU instead of throwing (no driver)', async () => {
    process.env.PATH = dir; // nothing named nvidia-smi here
    const gpu = await detectGpu({ fresh: true });
    expect(gpu.present).toBe(false);
    if (!gpu.present) expect(gpu.reason).toMatch(/nvidia-smi not found/);
  });

  it('parses the first GPU and maps its compute capability to an arch', async () => {
    fakeSmi('NVIDIA GeForce RTX 4090, 8.9');
    expect(await detectGpu({ fresh: true })).toEqual({ present: true, name: 'NVIDIA GeForce RTX 4090', computeCapability: '8.9', arch: 'sm_89' });
  });

  it('a failing nvidia-smi (driver without a device) is a reason, not a crash', async () => {
    fakeSmi('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.', 9);
    const gpu = await detectGpu({ fresh: true });
    expect(gpu).toEqual({ present: false, reason: 'nvidia-smi failed: NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.' });
  });

  it('CUDA_VISIBLE_DEVICES="" hides every device', async () => {
    fakeSmi('NVIDIA GeForce RTX 4090, 8.9');
    process.env.CUDA_VISIBLE_DEVICES = '';
    expect(await detectGpu({ fresh: true })).toMatchObject({ present: false, reason: expect.stringContaining('CUDA_VISIBLE_DEVICES') });
  });
});

describe('requireGpu', () => {
  it('names the way out when there is no GPU', async () => {
    process.env.PATH = dir;
    await detectGpu({ fresh: true });
    const err = await requireGpu('sm_89').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^--backend gpu: no CUDA GPU found \(nvidia-smi not found.*\); use --backend emu$/);
  });

  it('refuses a GPU of another arch than --gpu', async () => {
    fakeSmi('NVIDIA A100-SXM4-80GB, 8.0');
    await detectGpu({ fresh: true });
    await expect(requireGpu('sm_89')).rejects.toThrow(/this machine's GPU is NVIDIA A100-SXM4-80GB \(sm_80\); pass --gpu sm_80/);
    await expect(requireGpu('sm_80')).resolves.toMatchObject({ arch: 'sm_80' });
  });
});
