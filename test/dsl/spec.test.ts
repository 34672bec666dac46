import { describe, expect, it } from 'vitest';
import { SpecError } from '../../dsl/errors.js';
import { gelu, qnext } from '../../dsl/epilogue.js';
import { GELU_SHIFT, int4, mxfp4, nvfp4 } from '../../dsl/formats.js';
import { layer, layers, sameKernel, validateSpec } from '../../dsl/spec.js';
import { expectSpecError } from './expect-spec-error.js';

describe('layer() builder', () => {
  it('fills documented defaults', () => {
    expect(layer({})).toEqual({
      format: { kind: 'int4', group: 64, scaleDtype: 'bf16' },
      activation: { unsigned: false, shift: 0 },
      dtype: 'bf16',
      lowRank: { rank: 32 },
      epilogue: [{ op: 'bias' }, { op: 'lowrank' }],
    });
    expect(layer({ lowRank: 0 }).epilogue).toEqual([{ op: 'bias' }]);
    expect(layer({ dtype: 'fp16', format: 'int4' }).format).toEqual(int4({ scaleDtype: 'fp16' }));
    expect(layer({ format: 'nvfp4' }).format).toEqual(nvfp4());
    expect(layer({ activation: 'unsigned' }).activation).toEqual({ unsigned: true, shift: GELU_SHIFT });
    expect(layer({ label: 'fc1' }).label).toBe('fc1');
  });
  it('int4() without a scale dtype follows the layer dtype (also in qnext); an explicit one is kept', () => {
    const s = layer({ dtype: 'fp16', format: int4({ group: 32 }), epilogue: ['bias', 'lowrank', 'gelu', qnext({ format: int4() })] });
    expect(s.format).toEqual({ kind: 'int4', group: 32, scaleDtype: 'fp16' });
    expect(s.epilogue[3]).toMatchObject({ format: { kind: 'int4', group: 64, scaleDtype: 'fp16' } });
    expect(layer({ dtype: 'fp16', format: int4({ scaleDtype: 'bf16' }) }).format.scaleDtype).toBe('bf16');
    expect(int4().scaleDtype).toBe('bf16');
    expect(JSON.stringify(int4())).toBe('{"kind":"int4","group":64,"scaleDtype":"bf16"}');
  });
  it('builds the fc1 → GELU → quantize-for-fc2 chain', () => {
    const s = layer({ format: mxfp4(), epilogue: ['bias', 'lowrank', gelu(), qnext({ format: mxfp4(), lowRankDown: 64, keepOutput: true })] });
    expect(s.epilogue[3]).toEqual({ op: 'qnext', format: mxfp4(), activation: { unsigned: false, shift: 0 }, lowRankDown: { rank: 64 }, keepOutput: true });
  });
  it('names the field, value and what is allowed', () => {
    expectSpecError(() => layer({ lowRank: 40 }), 'lowRank.rank', 40, 'is not a multiple of 16');
    expectSpecError(() => layer({ dtype: 'fp32' as 'fp16' }), 'dtype', 'fp32', 'allowed: fp16, bf16');
    expectSpecError(() => layer({ format: nvfp4(), activation: 'unsigned' }), 'activation.unsigned', true, 'only allowed for int4');
    expectSpecError(() => layer({ epilogue: ['gelu', 'bias'] }), 'epilogue[1].op', 'bias', 'cannot come after gelu');
    expectSpecError(() => layer({ rank: 32 } as never), 'rank', 32, 'allowed fields: label, format, activation, dtype, lowRank, epilogue');
    expectSpecError(() => layer({ format: 'int8' as 'int4' }), 'format', 'int8', 'allowed: int4, nvfp4, mxfp4');
  });
  it('layers() labels by key and prefixes errors with it', () => {
    expect(layers({ qkv: {}, out: { lowRank: 64 } }).map((s) => [s.label, s.lowRank.rank])).toEqual([
      ['qkv', 32],
      ['out', 64],
    ]);
    expectSpecError(() => layers({ qkv: {}, fc2: { lowRank: 8 } }), 'fc2.lowRank.rank', 8, 'not a multiple of 16');
  });
});

describe('validateSpec', () => {
  const good = { format: int4(), activation: { unsigned: false, shift: 0 }, dtype: 'bf16', lowRank: { rank: 16 }, epilogue: [{ op: 'lowrank' }] };
  it('returns a canonical copy of a valid spec', () => {
    const s = validateSpec(JSON.parse(JSON.stringify(good)));
    expect(s).toEqual(good);
    expect(sameKernel(s, { ...s, label: 'other' })).toBe(true);
    expect(sameKernel(s, { ...s, dtype: 'fp16' })).toBe(false);
  });
  it('rejects missing and wrong fields with their path', () => {
    expectSpecError(() => validateSpec(null), 'spec', null, 'must be an object');
    expectSpecError(() => validateSpec({ ...good, format: undefined }), 'format', undefined, 'format object');
    expectSpecError(() => validateSpec({ ...good, activation: undefined }), 'activation', undefined, '{ unsigned: boolean, shift: number }');
    expectSpecError(() => validateSpec({ ...good, lowRank: { rank: 2048 } }), 'lowRank.rank', 2048, '0 ≤ rank ≤ 1024');
    expectSpecError(() => validateSpec({ ...good, label: 5 }), 'label', 5, 'must be a string');
  });
  it('prefixes nested paths', () => {
    expectSpecError(() => validateSpec({ ...good, lowRank: { rank: 20 } }, 'layers[2]'), 'layers[2].lowRank.rank', 20, 'not a multiple of 16');
    const e = expectSpecError(() => validateSpec({ ...good, dtype: 'f16' }, 'x'), 'x.dtype', 'f16', 'allowed: fp16, bf16');
    expect(e).toBeInstanceOf(SpecError);
    expect(e.message).toBe('x.dtype: "f16" is not a 16-bit dtype; allowed: fp16, bf16');
  });
});
