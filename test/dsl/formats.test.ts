import { describe, expect, it } from 'vitest';
import {
  GELU_SHIFT,
  bytesPerElement,
  codeMax,
  exactIn,
  formatByKind,
  formatName,
  int4,
  mxfp4,
  nvfp4,
  validateActivation,
  validateFormat,
} from '../../dsl/formats.js';
import { expectSpecError } from './expect-spec-error.js';

describe('format builders', () => {
  it('int4 defaults to group 64 with bf16 scales and accepts 32/128 and fp16', () => {
    expect(int4()).toEqual({ kind: 'int4', group: 64, scaleDtype: 'bf16' });
    expect(int4({ group: 32, scaleDtype: 'fp16' })).toEqual({ kind: 'int4', group: 32, scaleDtype: 'fp16' });
    expect(int4({ group: 128 }).group).toBe(128);
  });
  it('nvfp4 and mxfp4 are fixed', () => {
    expect(nvfp4()).toEqual({ kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' });
    expect(mxfp4()).toEqual({ kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' });
  });
  it('rejects int4 groups other than 32, 64, 128', () => {
    expectSpecError(() => int4({ group: 48 }), 'format.group', 48, 'allowed: 32, 64, 128');
    expectSpecError(() => int4({ group: 16 }), 'format.group', 16, 'allowed: 32, 64, 128');
  });
  it('formatByKind uses the layer dtype for int4 scales', () => {
    expect(formatByKind('int4', 'fp16')).toEqual(int4({ scaleDtype: 'fp16' }));
    expect(formatByKind('nvfp4')).toEqual(nvfp4());
    expectSpecError(() => formatByKind('int8' as 'int4'), 'format', 'int8', 'allowed: int4, nvfp4, mxfp4');
  });
  it('names, code ranges and bytes', () => {
    expect(formatName(int4())).toBe('int4g64');
    expect(formatName(nvfp4())).toBe('nvfp4g16');
    expect(codeMax(int4(), false)).toBe(7);
    expect(codeMax(int4(), true)).toBe(15);
    expect(codeMax(mxfp4(), false)).toBe(6);
    expect(bytesPerElement(int4())).toBeCloseTo(0.5 + 2 / 64);
    expect(bytesPerElement(nvfp4())).toBeCloseTo(0.5 + 1 / 16);
  });
  it('GELU_SHIFT is Nunchaku’s 0.171875 and exact in both 16-bit dtypes', () => {
    expect(GELU_SHIFT).toBe(0.171875);
    expect(exactIn('fp16', GELU_SHIFT)).toBe(true);
    expect(exactIn('bf16', GELU_SHIFT)).toBe(true);
  });
});

describe('validateFormat', () => {
  it('names every wrong field', () => {
    expectSpecError(() => validateFormat('int4', 'format'), 'format', 'int4', 'int4(), nvfp4() or mxfp4()');
    expectSpecError(() => validateFormat(null, 'format'), 'format', null, 'format object');
    expectSpecError(() => validateFormat({ kind: 'fp8' }, 'format'), 'format.kind', 'fp8', 'allowed: int4, nvfp4, mxfp4');
    expectSpecError(() => validateFormat({ kind: 'int4', group: 64, scaleDtype: 'fp32' }, 'format'), 'format.scaleDtype', 'fp32', 'allowed: fp16, bf16');
    expectSpecError(() => validateFormat({ kind: 'nvfp4', group: 32, scaleDtype: 'ue4m3' }, 'f'), 'f.group', 32, 'allowed: 16');
    expectSpecError(() => validateFormat({ kind: 'nvfp4', group: 16, scaleDtype: 'ue8m0' }, 'f'), 'f.scaleDtype', 'ue8m0', 'allowed: ue4m3');
    expectSpecError(() => validateFormat({ kind: 'mxfp4', group: 16, scaleDtype: 'ue8m0' }, 'f'), 'f.group', 16, 'allowed: 32');
    expectSpecError(() => validateFormat({ kind: 'mxfp4', group: 32, scaleDtype: 'ue4m3' }, 'f'), 'f.scaleDtype', 'ue4m3', 'allowed: ue8m0');
    expectSpecError(() => validateFormat({ kind: 'int4', group: 64, scaleDtype: 'bf16', bits: 4 }, 'f'), 'f.bits', 4, 'allowed fields: kind, group, scaleDtype');
  });
});

describe('validateActivation', () => {
  it('accepts signed codes and u4 with a representable shift (int4 only)', () => {
    expect(validateActivation({ unsigned: false, shift: 0 }, 'a', int4(), 'bf16')).toEqual({ unsigned: false, shift: 0 });
    expect(validateActivation({ unsigned: true, shift: GELU_SHIFT }, 'a', int4(), 'bf16')).toEqual({ unsigned: true, shift: GELU_SHIFT });
  });
  it('rejects u4 for e2m1 formats, shifts on signed codes, bad and unrepresentable shifts', () => {
    expectSpecError(() => validateActivation({ unsigned: true, shift: 0.25 }, 'a', nvfp4(), 'bf16'), 'a.unsigned', true, 'only allowed for int4');
    expectSpecError(() => validateActivation({ unsigned: false, shift: 0.25 }, 'a', int4(), 'bf16'), 'a.shift', 0.25, 'must be 0 for signed codes');
    expectSpecError(() => validateActivation({ unsigned: true, shift: -0.5 }, 'a', int4(), 'bf16'), 'a.shift', -0.5, '0 ≤ shift ≤ 1');
    expectSpecError(() => validateActivation({ unsigned: true, shift: 0.1 }, 'a', int4(), 'bf16'), 'a.shift', 0.1, 'not exactly representable in bf16');
    expectSpecError(() => validateActivation({ unsigned: 'yes', shift: 0 }, 'a', int4(), 'bf16'), 'a.unsigned', 'yes', 'true or false');
    expectSpecError(() => validateActivation({ unsigned: true, shift: NaN }, 'a', int4(), 'bf16'), 'a.shift', NaN, 'finite number');
  });
  it('exactIn distinguishes fp16 (11-bit significand) from bf16 (8-bit)', () => {
    expect(exactIn('fp16', 1 + 2 ** -10)).toBe(true);
    expect(exactIn('bf16', 1 + 2 ** -10)).toBe(false);
    expect(exactIn('bf16', 1 + 2 ** -7)).toBe(true);
    expect(exactIn('fp16', 65504)).toBe(true);
    expect(exactIn('fp16', 65520)).toBe(false);
    expect(exactIn('fp16', 2 ** -24)).toBe(true); // smallest subnormal
    expect(exactIn('fp16', 2 ** -25)).toBe(false);
  });
});
