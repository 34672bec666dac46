// Disassembler discovery (order: $SVDQ_CUOBJDUMP, $CUDA_HOME/bin, next to nvcc, PATH, the tools cache)
// and the ELF header rewrite that lets the CUDA 11.8 tools read nvcc 13 cubins.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findDisassembler, requireDisassembler, rewriteCubinHeader, toolsDir } from '../../../codegen/inspect/index.js';

const saved = { ...process.env };
let dir: string;

async function fakeTool(folder: string): Promise<string> {
  await fs.mkdir(folder, { recursive: true });
  const p = path.join(folder, 'cuobjdump');
  await fs.writeFile(p, '#!/bin/sh\n', { mode: 0o755 });
  return p;
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-tools-'));
  for (const k of ['SVDQ_CUOBJDUMP', 'CUDA_HOME', 'SVDQ_NVCC']) delete process.env[k];
  process.env.PATH = path.join(dir, 'empty-path');
  process.env.SVDQ_TOOLS_DIR = path.join(dir, 'cache');
});
afterEach(async () => {
  process.env = { ...saved };
  await fs.rm(dir, { recursive: true, force: true });
});

describe('findDisassembler', () => {
  it('looks in $SVDQ_CUOBJDUMP, $CUDA_HOME/bin, next to nvcc, PATH, then the tools cache', async () => {
    expect(findDisassembler()).toBeUndefined();
    expect(() => requireDisassembler()).toThrow(/no SASS disassembler.*install-disassembler\.sh/);
    const cached = await fakeTool(path.join(dir, 'cache', 'bin'));
    expect(toolsDir()).toBe(path.join(dir, 'cache'));
    expect(findDisassembler()).toEqual({ cuobjdump: cached, from: 'cache' });
    const onPath = await fakeTool(path.join(dir, 'path'));
    process.env.PATH = path.join(dir, 'path');
    expect(findDisassembler()).toEqual({ cuobjdump: onPath, from: 'PATH' });
    const byNvcc = await fakeTool(path.join(dir, 'toolkit', 'bin'));
    process.env.SVDQ_NVCC = path.join(dir, 'toolkit', 'bin', 'nvcc');
    expect(findDisassembler()).toEqual({ cuobjdump: byNvcc, from: 'nvcc' });
    const home = await fakeTool(path.join(dir, 'cuda', 'bin'));
    process.env.CUDA_HOME = path.join(dir, 'cuda');
    expect(findDisassembler()).toEqual({ cuobjdump: home, from: 'CUDA_HOME' });
    process.env.SVDQ_CUOBJDUMP = cached;
    expect(findDisassembler()).toEqual({ cuobjdump: cached, from: 'SVDQ_CUOBJDUMP' });
  });

  it('a $SVDQ_CUOBJDUMP that does not exist is named in the error', () => {
    process.env.SVDQ_CUOBJDUMP = path.join(dir, 'missing');
    expect(() => findDisassembler()).toThrow(/\$SVDQ_CUOBJDUMP: '.*missing' does not exist/);
  });
});

describe('rewriteCubinHeader', () => {
  it('sets EI_OSABI 0x33, EI_ABIVERSION 7 and e_flags (sm << 16) | 0x500 | sm in a copy', () => {
    const elf = Buffer.alloc(64);
    elf.writeUInt32BE(0x7f454c46, 0);
    elf[4] = 2;
    elf[7] = 0x41;
    elf[8] = 8;
    elf.writeUInt32LE(0x06005904, 0x30); // what nvcc 13 writes for sm_89
    const out = rewriteCubinHeader(elf, 89);
    expect([out[7], out[8], out.readUInt32LE(0x30)]).toEqual([0x33, 7, 0x590559]);
    expect(elf[7]).toBe(0x41); // the input is untouched
    expect(() => rewriteCubinHeader(Buffer.from('not an elf at all, not an elf at all, not an elf at all, !!'), 89)).toThrow(/not an ELF/);
  });
});
