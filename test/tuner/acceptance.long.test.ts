// Acceptance (npm run test:long): for every FLUX.1-dev and Qwen-Image shape on sm_89 (INT4) and
// sm_120a (NVFP4), tune in model
// mode with real nvcc compiles and check each chosen config on the emulator against the reference
// (--verify): 0 spill bytes, at least one resident block, correctness passed.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tune } from '../../tuner/tune.js';

describe.each([
  ['flux.1-dev', 'sm_89'],
  ['qwen-image', 'sm_89'],
  ['flux.1-dev', 'sm_120a'],
  ['qwen-image', 'sm_120a'],
])('%s on %s', (model, gpu) => {
  it('every chosen config compiles with 0 spills and passes the emulator check', { timeout: 3 * 3600_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), `svdq-accept-${model}-${gpu}-`));
    const r = await tune({ gpu, model, mode: 'model', verify: true, db: join(dir, 'tune.json') });
    expect(r.failures).toEqual([]);
    expect(r.records.length).toBe(r.jobs);
    for (const rec of r.records) {
      expect(rec.resources.gemm.spillBytes, rec.gemmUri).toBe(0);
      expect(rec.resources.gemm.blocksPerSm).toBeGreaterThanOrEqual(1);
      if (rec.resources.act) expect(rec.resources.act.spillBytes, rec.actUri ?? '').toBe(0);
      expect(rec.correctness?.backend).toBe('emu');
      expect(rec.correctness?.passed, `${rec.gemmUri}: ${rec.correctness?.detail}`).toBe(true);
      expect(rec.timing.label).toBe('predicted');
    }
  });
});
