// Traffic counters against hand-computed values.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEmuProgram, runEmuProgram } from '../../../runtime/emu/build.js';
import { kernel, onlyLaunch } from './helpers.js';

let bin: string;
beforeAll(async () => {
  bin = await buildEmuProgram({ sources: [kernel('counters_cases.cu')], includeDirs: [kernel('')] });
});

const run = async (scenario: string) => {
  const r = await runEmuProgram(bin, [scenario], { env: { SVDQ_EMU_THREADS: '2' } });
  expect(r.stdout).toContain('status cudaSuccess');
  for (const l of r.reports) expect(l.reports).toEqual([]);
  return r.reports;
};

describe('global memory counters', () => {
  it('a coalesced float copy: exact bytes, 4 sectors per warp request', async () => {
    const c = onlyLaunch(await run('coalesced')).counters;
    // 4096 threads, 4 bytes each, 128 warps, each warp request covers 128 aligned bytes = 4 sectors.
    const expected = { accesses: 4096, bytes: 16384, requests: 128, sectors: 512, sectorsPerRequest: 4 };
    expect(c.global.load).toEqual(expected);
    expect(c.global.store).toEqual(expected);
    expect(c).toMatchObject({ blocks: 32, threads: 4096 });
  });

  it('strided, offset and 16-byte vector loads', async () => {
    const [s2, s8, off1, vec] = await run('strided');
    expect(s2.counters.global.load).toMatchObject({ requests: 1, bytes: 128, sectors: 8 }); // 256-byte span
    expect(s8.counters.global.load).toMatchObject({ requests: 1, bytes: 128, sectors: 32 }); // one per lane
    expect(off1.counters.global.load).toMatchObject({ requests: 1, sectors: 5 }); // bytes 4..131
    expect(vec.counters.global.load).toMatchObject({ requests: 1, bytes: 512, sectors: 16, sectorsPerRequest: 16 });
    expect(vec.counters.global.store).toMatchObject({ requests: 1, bytes: 512, sectors: 16 });
  });
});

describe('shared memory bank conflicts', () => {
  it('counts wavefronts and conflicts per warp request', async () => {
    const launches = await run('banks');
    const loads = launches.map((l) => l.counters.shared.load);
    const stores = launches.map((l) => l.counters.shared.store);
    const conflicts = [0, 31, 1, 0, 0];
    for (let p = 0; p < 5; p++) {
      expect(stores[p]).toEqual({ accesses: 32, bytes: 128, requests: 1, wavefronts: 1 + conflicts[p], bankConflicts: conflicts[p] });
      expect(loads[p]).toMatchObject({ requests: 1, wavefronts: 1 + conflicts[p], bankConflicts: conflicts[p] });
    }
    // 16-byte accesses are served a quarter-warp at a time: 4 phases.
    expect(stores[5]).toMatchObject({ bytes: 1024, requests: 2, wavefronts: 8, bankConflicts: 0 });
    expect(loads[5]).toMatchObject({ bytes: 512, requests: 1, wavefronts: 8, bankConflicts: 4 });
  });
});

describe('instruction and synchronisation counters', () => {
  it('sums count() calls, barriers and collectives', async () => {
    const c = onlyLaunch(await run('ops')).counters;
    expect(c.instructions).toEqual({ 'test.op': 3 * 64 * 2 });
    expect(c.barriers).toBe(3 * 2);
    expect(c.warpCollectives).toBe(3 * 2);
    expect(c.global.store.requests).toBe(3 * 2);
  });
});
