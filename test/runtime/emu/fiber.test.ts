// The context switch on its own: the hand-written x86-64 switch and the ucontext fallback both keep
// each fiber's state across 1000 round trips.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMU_DIR } from '../../../runtime/emu/build.js';
import { kernel } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-fiber-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const variants: Array<[string, string[]]> = [
  ['hand-written x86-64 switch', []],
  ['ucontext fallback', ['-DSVDQ_EMU_FORCE_UCONTEXT']],
];

describe('fiber context switch', () => {
  it.each(variants)('%s keeps per-fiber state', async (_name, defines) => {
    const exe = path.join(dir, `fs${defines.length}`);
    await execa('g++', ['-std=c++17', '-O2', ...defines, `-I${EMU_DIR}`, kernel('fiber_switch.cpp'), path.join(EMU_DIR, 'fiber.cpp'), '-o', exe]);
    const r = await execa(exe);
    expect(r.stdout).toBe('counters 1000 1000 1000 sums 1000.0 1000.5 1001.0');
  });
});
