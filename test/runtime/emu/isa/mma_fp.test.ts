// f16/bf16 and block-scaled FP4 mma.sync semantics vs exact scalar references (mma_fp_test.cpp).
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCpp, runChecks, type CheckLines } from './cpp_harness.js';

describe('isa: floating-point mma.sync (m16n8k16 f16/bf16, m16n8k64 FP4 block-scaled)', () => {
  let res: CheckLines;
  beforeAll(async () => {
    res = await runChecks(await buildCpp(['test/runtime/emu/isa/mma_fp_test.cpp']));
  });
  it('every lane and register matches the PTX-formula reference (exact sum, one rounding)', () => {
    expect(res.failed).toEqual([]);
    expect(res.passed.map((l) => l.split(' (')[0])).toEqual([
      'PASS exact sum rounding',
      'PASS mma.m16n8k16.f32.f16.f16.f32',
      'PASS mma.m16n8k16.f32.bf16.bf16.f32',
      'PASS mma.m16n8k64.kind::mxf4nvf4.scale_vec::4X.ue4m3',
      'PASS mma.m16n8k64.kind::mxf4.scale_vec::2X.ue8m0',
    ]);
  });
});
