// quant/int4.h's division-free code reciprocal and scale quotient are bit-identical to the IEEE operations
// they replace (quant_division_free_test.cpp, on the emulator's float intrinsics).
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCpp, runChecks, type CheckLines } from '../../runtime/emu/isa/cpp_harness.js';

describe('activation quantizer without divisions', () => {
  let res: CheckLines;
  beforeAll(async () => {
    res = await runChecks(await buildCpp(['test/kernels/act/quant_division_free_test.cpp']));
  }, 120_000);
  it('code_rcp16 and div_rn_qmax give the correctly rounded reciprocal and quotient', () => {
    expect(res.failed).toEqual([]);
    expect(res.passed.length).toBe(3);
  });
});
