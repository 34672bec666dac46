// Integer mma.sync semantics vs an independent scalar definition (mma_int_test.cpp).
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCpp, runChecks, type CheckLines } from './cpp_harness.js';

describe('isa: integer mma.sync (m16n8k64 s4/u4, m16n8k32 s8/u8, m8n8k32 s4/u4)', () => {
  let res: CheckLines;
  beforeAll(async () => {
    res = await runChecks(await buildCpp(['test/runtime/emu/isa/mma_int_test.cpp']));
  });
  it('matches the PTX-formula reference for every signedness mix, with and without .satfinite', () => {
    expect(res.failed).toEqual([]);
    // 3 shapes × 4 mixes × 2 saturation modes
    expect(res.passed.length).toBe(24);
  });
});
