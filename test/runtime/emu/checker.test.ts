// Planted bugs are caught and reported with kernel, block, thread and address; the process survives
// and the launch returns a CUDA error.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEmuProgram, runEmuProgram } from '../../../runtime/emu/build.js';
import { hex, kernel, ofKind, onlyLaunch, printedAddress } from './helpers.js';

let bin: string;
beforeAll(async () => {
  bin = await buildEmuProgram({ sources: [kernel('checker_cases.cu')], includeDirs: [kernel('')] });
});

const run = (scenario: string, env: Record<string, string> = {}) =>
  runEmuProgram(bin, [scenario], { env: { SVDQ_EMU_THREADS: '2', ...env } });

describe('global memory checker', () => {
  it('catches a planted out-of-bounds write (kernel, block, thread, address)', async () => {
    const r = await run('oob');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('launch cudaErrorIllegalAddress');
    const launch = onlyLaunch(r.reports);
    expect(launch.status).toBe('failed');
    expect(launch.error).toBe('cudaErrorIllegalAddress');
    const [oob] = ofKind(launch, 'out-of-bounds');
    expect(oob).toMatchObject({ kernel: 'planted_oob_write', block: [1, 0, 0], thread: [63, 0, 0], bytes: 4, what: 'test.st' });
    expect(oob.address).toBe(hex(printedAddress(r.stdout, 'y') + 127n * 4n));
    expect(oob.message).toContain('0 bytes past the end of the 508-byte allocation');
    expect(r.stderr).toMatch(/out-of-bounds in kernel planted_oob_write block \(1,0,0\) thread \(63,0,0\)/);
  });

  it('catches overruns of up to 4 KiB that would land in a neighbouring live allocation (red zones)', async () => {
    const r = await run('neighbour', { SVDQ_EMU_QUIET: '1' });
    expect(r.stdout).toMatch(/neighbour 256 of 256 overruns caught/);
  });

  it('catches reads of never-written memory and caps the stored reports', async () => {
    const r = await run('uninit');
    const launch = onlyLaunch(r.reports);
    const found = ofKind(launch, 'uninitialized-read');
    expect(found).toHaveLength(16); // threads 40..63 read unwritten bytes; 16 kept, the rest counted
    expect(launch.droppedReports).toBe(8);
    expect(found[0]).toMatchObject({ kernel: 'planted_uninit_read', block: [0, 0, 0], thread: [40, 0, 0] });
    expect(found[0].address).toBe(hex(printedAddress(r.stdout, 'x') + 40n * 4n));
    expect(launch.error).toBe('cudaErrorLaunchFailure');
    expect(r.stdout).toContain('launch cudaErrorLaunchFailure');
  });

  it('catches a misaligned access', async () => {
    const r = await run('misaligned');
    const launch = onlyLaunch(r.reports);
    const [m] = ofKind(launch, 'misaligned');
    expect(m).toMatchObject({ kernel: 'planted_misaligned', thread: [0, 0, 0], bytes: 4 });
    expect(m.address).toBe(hex(printedAddress(r.stdout, 'x') + 2n));
    expect(launch.error).toBe('cudaErrorMisalignedAddress');
  });

  it('device-to-device copies carry the shadow; the host API rejects bad pointers and launches', async () => {
    const r = await run('host-api', { SVDQ_EMU_QUIET: '1' });
    expect(r.stderr).not.toContain('svdq-emu: uninitialized-read'); // quiet
    expect(r.stdout).toContain('d2d cudaSuccess');
    const [first] = ofKind(r.reports[0], 'uninitialized-read');
    expect(first).toMatchObject({ thread: [40, 0, 0] });
    expect(first.address).toBe(hex(printedAddress(r.stdout, 'copy') + 160n));
    expect(r.stdout).toContain('h2d-to-host cudaErrorInvalidValue');
    expect(r.stdout).toContain('d2h-overrun cudaErrorInvalidValue');
    expect(r.stdout).toContain('free-bogus cudaErrorInvalidDevicePointer');
    expect(r.stdout).toContain('too-many-threads cudaErrorInvalidConfiguration');
    const [invalid] = ofKind(r.reports[1], 'invalid-launch');
    expect(invalid.message).toContain('must have 1..1024 threads');
  });

  it('a failed launch does not poison the next one', async () => {
    const r = await run('after-error');
    expect(r.stdout).toContain('first cudaErrorIllegalAddress');
    expect(r.stdout).toContain('second cudaSuccess'); // one block of 64 stays in bounds
    expect(r.reports.map((l) => l.status)).toEqual(['failed', 'ok']);
  });
});

describe('shared memory checker', () => {
  it('catches a race between warps with no barrier between', async () => {
    const r = await run('race');
    const launch = onlyLaunch(r.reports);
    const races = ofKind(launch, 'shared-race');
    expect(races.length).toBeGreaterThan(0);
    const s = printedAddress(r.stdout, 's');
    // Warp 0 runs first: writes s[0..31], reads s[32..63]. Thread 32 (warp 1) then overwrites s[32]
    // (read/write race) and reads s[0] (write/read race).
    for (const race of races) expect(race).toMatchObject({ kernel: 'shared_exchange<false>', block: [0, 0, 0] });
    const overwrite = races.find((x) => x.address === hex(s + 32n * 4n));
    expect(overwrite).toMatchObject({ thread: [32, 0, 0], what: 'test.sts' });
    expect(overwrite?.message).toContain('overwrites a byte read by thread (0,0,0) of warp 0');
    const read = races.find((x) => x.address === hex(s));
    expect(read).toMatchObject({ thread: [32, 0, 0], what: 'test.lds' });
    expect(read?.message).toContain('reads a byte written by thread (0,0,0) of warp 0');
    expect(ofKind(launch, 'shared-uninitialized-read')).toHaveLength(0);
  });

  it('reports nothing when a barrier separates the accesses', async () => {
    const r = await run('no-race');
    const launch = onlyLaunch(r.reports);
    expect(launch.reports).toEqual([]);
    expect(launch.status).toBe('ok');
    expect(r.stdout).toContain('out32 0 out0 32');
  });

  it('catches lanes of one warp passing data through shared memory without __syncwarp()', async () => {
    const r = await run('warp-race');
    const launch = onlyLaunch(r.reports);
    const races = ofKind(launch, 'shared-race');
    const s = printedAddress(r.stdout, 's');
    // Emulated lanes run in order: lane k-1 reads s[k] before lane k overwrites it (31 reports), and
    // lane 31 reads lane 0's new s[0] (1 report). Nothing about `flag` (same-instruction stores).
    expect(races).toHaveLength(16);
    expect(launch.droppedReports).toBe(32 - 16);
    const overwrite = races.find((x) => x.address === hex(s + 4n));
    expect(overwrite).toMatchObject({ kernel: 'warp_neighbours<false>', thread: [1, 0, 0], what: 'test.sts' });
    expect(overwrite?.message).toContain('overwrites a byte read by thread (0,0,0) of warp 0 of the same warp with no __syncwarp()');
    expect(races.every((x) => BigInt(x.address) < s + 128n)).toBe(true);
  });

  it('reports nothing when __syncwarp() orders the lanes, and the values are right', async () => {
    const r = await run('warp-sync');
    expect(onlyLaunch(r.reports).reports).toEqual([]);
    expect(r.stdout).toContain('out0 8 out31 7'); // s[1] + 7, s[0] + 7
  });

  it('catches an overrun of dynamic shared memory', async () => {
    const r = await run('smem-overrun');
    const [o] = ofKind(onlyLaunch(r.reports), 'shared-out-of-bounds');
    expect(o).toMatchObject({ kernel: 'dynamic_overrun', thread: [32, 0, 0], bytes: 4 });
    expect(o.message).toContain('past the 128-byte dynamic shared memory');
  });
});

describe('deadlocks are reported instead of hanging', () => {
  it('a barrier that some threads never reach', async () => {
    const r = await run('barrier');
    expect(r.code).toBe(0);
    const launch = onlyLaunch(r.reports);
    const [d] = ofKind(launch, 'barrier-deadlock');
    expect(d).toMatchObject({ kernel: 'planted_barrier_deadlock', block: [0, 0, 0], thread: [40, 0, 0] });
    expect(d.message).toContain('40 of 64 threads wait at __syncthreads()');
    expect(d.message).toContain('exited (40,0,0)..(63,0,0)');
    expect(launch.error).toBe('cudaErrorLaunchFailure');
  });

  it('a warp collective with lanes that never arrive', async () => {
    const r = await run('collective');
    const launch = onlyLaunch(r.reports);
    const [d] = ofKind(launch, 'warp-collective-deadlock');
    expect(d).toMatchObject({ kernel: 'planted_collective_deadlock', thread: [16, 0, 0], what: 'test.bcast' });
    expect(d.message).toContain('lanes (16,0,0)..(31,0,0) never arrive (first one is waiting at __syncthreads())');
    expect(d.message).toContain('waiting: (0,0,0)..(15,0,0)');
    expect(ofKind(launch, 'barrier-deadlock')).toHaveLength(1);
  });

  it('lanes meeting in different collectives are reported', async () => {
    const r = await run('mismatch');
    const [m] = ofKind(onlyLaunch(r.reports), 'warp-collective-misuse');
    expect(m).toMatchObject({ kernel: 'mismatched_collectives', thread: [16, 0, 0], what: 'test.other' });
    expect(m.message).toContain("calls 'test.other' (4 bytes) while other lanes of its warp wait in 'test.bcast'");
  });

  it('an exception escaping the kernel is a report, not a crash', async () => {
    const r = await run('exception');
    const [e] = ofKind(onlyLaunch(r.reports), 'kernel-exception');
    expect(e).toMatchObject({ thread: [5, 0, 0] });
    expect(e.message).toContain('boom');
  });
});
