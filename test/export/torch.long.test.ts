// dist/torch/svdq: PyTorch (Debian's python3-torch, CPU) compiles the extension, loads it and runs
// torch.ops.svdq.linear on a layer packed by `pack`, through the emulator build, against the reference.
// Long suite (`npm run test:long`): needs `apt-get install -y python3-torch libtorch-dev ninja-build`.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, type BuildResult } from '../../export/build.js';
import { compareY, makeCheckpoint, referenceY, SPEC, writeInput, type Checkpoint } from './helpers.js';

let dir: string;
let dist: BuildResult;
let ckpt: Checkpoint;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-export-torch-'));
  ckpt = await makeCheckpoint(dir);
  dist = await buildPackage({ gpus: ['sm_89'], out: path.join(dir, 'dist'), specs: [SPEC], cuda: false });
}, 600_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const SCRIPT = `
import sys
import numpy as np
import torch
sys.path.insert(0, sys.argv[1])
import svdq
ckpt, prefix, x_path, M, y_path = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
layer = svdq.load_layer(ckpt, prefix)
x = torch.from_numpy(np.fromfile(x_path, dtype=np.int16)).view(torch.bfloat16).reshape(M, -1)
y = svdq.linear(x, layer)
assert y.dtype == torch.bfloat16 and tuple(y.shape) == (M, layer["wq"].shape[0]), (y.dtype, y.shape)
y.view(torch.int16).numpy().tofile(y_path)
# the op is registered with the dispatcher and reports ABI errors as Python exceptions
try:
    torch.ops.svdq.linear(x[:, :64].contiguous(), layer["wq"], layer["wscales"], layer["bias"], layer["smooth"], layer["lora_down"], layer["lora_up"], layer["lora_scales"], 64, 3)
    raise SystemExit("a K mismatch was accepted")
except RuntimeError as e:
    print("rejected:", str(e).splitlines()[0])
print("ok")
`;

describe('dist/torch (PyTorch CPU through the emulator build)', () => {
  it('builds, loads and runs torch.ops.svdq.linear; matches the reference', async () => {
    const M = 24;
    const x = await writeInput(path.join(dir, 'x.bin'), M, 128, 31);
    await fs.writeFile(path.join(dir, 'run.py'), SCRIPT);
    // Debian's interpreter (python3-torch is installed for it, not for a pyenv or venv python first on PATH)
    const python = process.env.SVDQ_TORCH_PYTHON ?? '/usr/bin/python3';
    const r = await execa(python, [path.join(dir, 'run.py'), path.join(dist.out, 'torch'), ckpt.file, 'blocks.0.attn.to_q', path.join(dir, 'x.bin'), String(M), path.join(dir, 'y.bin')], {
      reject: false,
      all: true,
      env: { SVDQ_EMU_QUIET: '1', TORCH_EXTENSIONS_DIR: path.join(dir, 'torch-ext') },
    });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain('rejected: svdq: x has 64 channels, wq expects K = 128');
    const y = new Uint16Array((await fs.readFile(path.join(dir, 'y.bin'))).buffer.slice(0));
    expect(compareY(y, referenceY(ckpt.q, M, x)).maxErr).toBe(0);
  }, 900_000);
});
