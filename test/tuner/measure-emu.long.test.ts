// Measure mode end to end on the emulator (npm run test:long): real nvcc compiles, the real harness built
// with g++ against the emulator, correctness gate, then the harness's timing mode — everything a GPU
// run does except the clock, which is labelled emulator-wall.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tune } from '../../tuner/tune.js';

describe('tune --mode measure on the emulator backend', () => {
  it('gates and times the compiled candidates with the real harness', { timeout: 3600_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svdq-measure-emu-'));
    const r = await tune({ gpu: 'sm_89', mode: 'measure', backend: 'emu', shapes: ['40x128x128'], topK: 2, actTopK: 1, db: join(dir, 'tune.json') });
    expect(r.failures).toEqual([]);
    const rec = r.records[0];
    expect(rec.mode).toBe('measure');
    expect(rec.timing).toMatchObject({ label: 'measured', clock: 'emulator-wall' });
    expect(rec.timing.repetitions).toBe(3);
    expect(rec.correctness).toMatchObject({ backend: 'emu', passed: true });
    expect(rec.candidates.filter((c) => c.label === 'measured').length).toBeGreaterThanOrEqual(1);
  });
});
