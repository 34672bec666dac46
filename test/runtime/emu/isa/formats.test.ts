// Conversions: every fp4/fp8 code point, RNE ties, saturation, NaN; f16/bf16 from float on 2^24 samples
// plus every tie (formats_test.cpp), checked against an independent binary-search reference.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCpp, runChecks, type CheckLines } from './cpp_harness.js';

describe('isa: number formats and cvt', () => {
  let res: CheckLines;
  beforeAll(async () => {
    res = await runChecks(await buildCpp(['test/runtime/emu/isa/formats_test.cpp'], ['-O2']));
  });
  it('f16, bf16, e2m1, e4m3/ue4m3 and ue8m0 agree with the reference', () => {
    expect(res.failed).toEqual([]);
    expect(res.passed.length).toBe(7);
  });
});
