// numeric/half.h under g++: __hmul/__hadd/__hfma (f16, bf16) against an exact 128-bit reference, plus
// NaN/Inf/overflow/packing-order/float-intrinsic cases (half_test.cpp).
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCpp, runChecks, type CheckLines } from './cpp_harness.js';

describe('numeric/half.h emulator twins', () => {
  let res: CheckLines;
  beforeAll(async () => {
    res = await runChecks(await buildCpp(['test/runtime/emu/isa/half_test.cpp']));
  });
  it('every operation rounds once to nearest even, specials as documented', () => {
    expect(res.failed).toEqual([]);
    expect(res.passed.length).toBe(3);
  });
});
