// Fibers, barriers and warp collectives behave like CUDA's; scheduling blocks over several OS threads
// changes nothing observable.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEmuProgram, runEmuProgram } from '../../../runtime/emu/build.js';
import { kernel, onlyLaunch } from './helpers.js';

let bin: string;
beforeAll(async () => {
  bin = await buildEmuProgram({ sources: [kernel('semantics_cases.cu')], includeDirs: [kernel('')] });
});

const run = async (scenario: string, threads = '2') => {
  const r = await runEmuProgram(bin, [scenario], { env: { SVDQ_EMU_THREADS: threads } });
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('status cudaSuccess');
  return r;
};
const numbers = (stdout: string, name: string): number[] => {
  const line = stdout.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no '${name}' line in:\n${stdout}`);
  return line.split(' ').slice(1).map(Number);
};
const input = (i: number) => (i % 1000) - 300;

describe('barriers', () => {
  it('a shared-memory tree reduction over 8 warps is exact', async () => {
    const r = await run('block-sum');
    const want = [0, 1, 2, 3].map((b) => Array.from({ length: 256 }, (_, t) => input(b * 256 + t)).reduce((a, v) => a + v, 0));
    expect(numbers(r.stdout, 'sums')).toEqual(want);
    expect(onlyLaunch(r.reports).counters.barriers).toBe(4 * 9);
  });

  it('__syncthreads_count/_and/_or', async () => {
    const r = await run('reductions');
    expect(numbers(r.stdout, 'reductions')).toEqual([67, 1, 1, 0]); // ceil(200/3) multiples of 3
  });

  it('many barriers and collectives in a loop', async () => {
    const r = await run('ping-pong');
    // Simulate: s starts at t; each round reads s[(t+r)%128], adds lane (r%32)'s value of its warp.
    const rounds = 500;
    let s = Array.from({ length: 128 }, (_, t) => t);
    const acc = new Array(128).fill(0);
    for (let r = 0; r < rounds; r++) {
      const v = s.map((_, t) => s[(t + r) % 128]);
      for (let t = 0; t < 128; t++) acc[t] += v[(t & ~31) + (r % 32)];
      s = v.map((x) => x + 1);
    }
    expect(numbers(r.stdout, 'acc')).toEqual(acc);
  });
});

describe('index variables and shared memory', () => {
  it('threadIdx/blockIdx/blockDim/gridDim in 3-D', async () => {
    const r = await run('index');
    const got = numbers(r.stdout, 'index');
    expect(got).toEqual(Array.from({ length: 12 * 24 }, (_, i) => Math.floor(i / 24) * 1000 + (i % 24)));
  });

  it('dynamic shared memory of 1024-thread blocks', async () => {
    const r = await run('dynamic');
    const got = numbers(r.stdout, 'reversed');
    expect(got).toEqual(Array.from({ length: 3 * 1024 }, (_, i) => input(Math.floor(i / 1024) * 1024 + 1023 - (i % 1024))));
  });
});

describe('warp collectives', () => {
  it('exited lanes are excused and read as zero', async () => {
    const r = await run('exits');
    const sum = Array.from({ length: 20 }, (_, l) => l * 10 + 1).reduce((a, v) => a + v, 0);
    const want = Array.from({ length: 64 }, (_, t) => (t % 32 < 20 ? sum : 0));
    expect(numbers(r.stdout, 'exits')).toEqual(want);
  });
});

describe('multi-block scheduling', () => {
  it('one and two OS threads give identical outputs and counters', async () => {
    const one = await run('many-blocks', '1');
    const two = await run('many-blocks', '2');
    expect(onlyLaunch(one.reports).osThreads).toBe(1);
    expect(onlyLaunch(two.reports).osThreads).toBe(2);
    expect(numbers(two.stdout, 'hash')).toEqual(numbers(one.stdout, 'hash'));
    expect(onlyLaunch(two.reports).counters).toEqual(onlyLaunch(one.reports).counters);
    expect(onlyLaunch(one.reports).counters).toMatchObject({ blocks: 256, threads: 256 * 64, warpCollectives: 256 * 2 * 8 });
  });
});
