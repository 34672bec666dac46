// The fetch path (network: Debian's mirror): nvidia-cuda-toolkit 11.8 from bookworm non-free through a
// private sources list, only cuobjdump and nvdisasm kept, and the fetched cuobjdump reads an nvcc 13
// cubin. `npm run test:long`; CI exercises the same path through .ci/install-disassembler.sh.
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { compileCuda } from '../../../codegen/nvcc.js';
import { disassemble, installDisassembler, parseSass } from '../../../codegen/inspect/index.js';

it('installs cuobjdump + nvdisasm into a private folder and disassembles an sm_89 cubin', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-install-'));
  try {
    const cuobjdump = await installDisassembler(dir);
    expect((await fs.readdir(path.join(dir, 'bin'))).sort()).toEqual(['cuobjdump', 'nvdisasm']);
    expect((await fs.readdir(dir)).sort()).toEqual(['bin']); // nothing else left behind
    const cu = readFileSync(path.join(import.meta.dirname, 'fixtures', 'known-loop.cu'), 'utf8');
    const cubin = await compileCuda({ source: cu, arch: 'sm_89', kind: 'cubin' });
    const fns = parseSass(await disassemble(cubin.path, 'sm_89', { cuobjdump, from: 'cache' }));
    expect(fns.map((f) => f.name).sort()).toEqual(['known_loop', 'known_loop_div']);
    // a second call finds the tools and does nothing
    expect(await installDisassembler(dir)).toBe(cuobjdump);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
